"""Shared fixtures: environment for litellm/Ray (and a cache directory of the session's own),
and one local Ray per test session."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

# Never the host's cache: the sim attestation key (generators.attest_key) and anything else
# kept under XDG_CACHE_HOME go to a directory of this test session (Ray workers inherit it).
_CACHE_HOME = tempfile.mkdtemp(prefix="persona-evolve-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
atexit.register(shutil.rmtree, _CACHE_HOME, True)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def ray_session():
    """A local Ray (2 CPUs, no dashboard, 200 MB object store), started once per session."""
    from evolve.execution.ray_runtime import init_ray

    resources = init_ray(num_cpus=2, object_store_mb=200)
    yield resources
    import ray

    ray.shutdown()


@pytest.fixture(scope="session")
def concordia_py() -> str:
    """The Concordia interpreter (Python >= 3.12 with gdm-concordia); skipped where there is
    none, a failure under CI (``scripts/test`` makes ``.venv-concordia``)."""
    from generators.concordia import environment

    environment.reset()
    if not environment.available():
        message = "no Concordia interpreter (run scripts/concordia_env; scripts/test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return environment.concordia_python()

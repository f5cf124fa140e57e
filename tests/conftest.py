"""Shared fixtures: environment for litellm/Ray, and one local Ray per test session."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def ray_session():
    """A local Ray (2 CPUs, no dashboard, 200 MB object store), started once per session."""
    from evolve.ray_runtime import init_ray

    resources = init_ray(num_cpus=2, object_store_mb=200)
    yield resources
    import ray

    ray.shutdown()

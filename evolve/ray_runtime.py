"""Starting or joining Ray.

Local by default (``num_cpus`` CPUs, no dashboard, a small object store); with an
address, joins an existing cluster. API keys reach workers only through
``pass_env``: the named environment variables are copied from the driver into the
workers' ``runtime_env``. Nothing else of the driver's environment is forwarded to a
remote node.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

RAY_ENV_DEFAULTS = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
}
# Despite its name, Ray reads this as "allow multi-node clusters" on every platform:
# it is set to 0 only for a local Ray, never when joining a cluster.
LOCAL_ONLY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def worker_env(pass_env: Sequence[str]) -> dict[str, str]:
    """Variables forwarded to workers: the fixed Ray/litellm settings plus each named
    variable that is set in the driver (a named but unset variable is skipped)."""
    env = dict(RAY_ENV_DEFAULTS)
    for name in pass_env:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def init_ray(
    *,
    address: str | None = None,
    num_cpus: int = 2,
    object_store_mb: int = 200,
    pass_env: Sequence[str] = (),
) -> dict[str, float]:
    """Start (or reuse) Ray and return the cluster's resources (e.g. ``{"CPU": 2.0}``).

    Reuses an already initialised Ray in this process (tests start one per session).
    """
    defaults = RAY_ENV_DEFAULTS if address else {**RAY_ENV_DEFAULTS, **LOCAL_ONLY_ENV}
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    import ray

    if not ray.is_initialized():
        runtime_env = {"env_vars": worker_env(pass_env)}
        if address:
            ray.init(address=address, runtime_env=runtime_env, logging_level=logging.WARNING,
                     log_to_driver=False)
        else:
            ray.init(
                num_cpus=num_cpus,
                include_dashboard=False,
                object_store_memory=object_store_mb * 1024 * 1024,
                runtime_env=runtime_env,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
    return dict(ray.cluster_resources())

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
import socket
from typing import Sequence


class RayUnreachable(RuntimeError):
    """The Ray address cannot be reached; the message is one line."""


def split_address(address: str) -> tuple[str, int] | None:
    """(host, port) of ``host:port`` or ``ray://host:port``; None for ``auto`` or a form
    without a port (left to Ray)."""
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def check_address(address: str, *, timeout_s: float = 5.0) -> None:
    """Raise :class:`RayUnreachable` (one line) when nothing accepts TCP connections at
    ``address`` within ``timeout_s`` seconds."""
    target = split_address(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout_s):
            pass
    except OSError as exc:
        cause = (
            "timed out"
            if isinstance(exc, socket.timeout)
            else (exc.strerror or str(exc) or type(exc).__name__)
        )
        raise RayUnreachable(f"ray: cannot reach the cluster at {address}: {cause}") from None


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
            check_address(address)
            _join(ray, address, runtime_env)
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


def _join(ray: object, address: str, runtime_env: dict) -> None:
    """``ray.init(address=...)`` in this (main) thread; an error is one line. The address
    was checked by :func:`check_address` first, so an unreachable cluster fails in seconds
    (Ray itself would retry for minutes). Ray must start in the main thread (signal
    handlers), so a port that accepts connections but is not Ray is left to Ray's timeout."""
    try:
        ray.init(  # type: ignore[attr-defined]
            address=address,
            runtime_env=runtime_env,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
    except Exception as exc:  # noqa: BLE001 - reported in one line
        text = str(exc).strip().splitlines()
        raise RayUnreachable(
            f"ray: cannot join the cluster at {address}: {text[0] if text else type(exc).__name__}"
        ) from None

"""Resource limits, the network namespace and the clean environment of the sandbox.

Stdlib only: :func:`apply_rlimits` and :func:`enter_network_namespace` run inside the
sandbox child at start-up (before numpy is imported and before any program code runs);
:func:`build_env` runs in the parent.
"""

from __future__ import annotations

import os
import resource
import signal
from dataclasses import asdict, dataclass
from typing import Any, Mapping

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000

ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "PYTHONHASHSEED")
"""Parent variables copied into the child env (when set); nothing else is inherited."""

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True, kw_only=True)
class SandboxLimits:
    """Limits for one sandbox run (one child process running all jobs of a call).

    ``wall_timeout_s``: seconds for the whole call (start-up + all jobs); then the
    process group is killed and unfinished jobs get a timeout error.
    ``cpu_time_s``: CPU seconds of the child (RLIMIT_CPU). ``memory_mb``: address space
    of the child in MiB (RLIMIT_AS). ``max_processes``: RLIMIT_NPROC headroom (tasks,
    i.e. processes and threads, beyond those the user already runs; it does not bind
    root, so the in-child guard also refuses process creation).
    ``max_output_bytes``: tail of the child's combined stdout/stderr that is kept.
    ``max_file_bytes``: largest file the child may write (RLIMIT_FSIZE).
    ``max_message_bytes``: largest protocol message the parent accepts from the child.
    """

    wall_timeout_s: float = 120.0
    cpu_time_s: int = 120
    memory_mb: int = 2048
    max_processes: int = 64
    max_output_bytes: int = 64_000
    max_file_bytes: int = 16_000_000
    max_message_bytes: int = 8_000_000

    def __post_init__(self) -> None:
        if not self.wall_timeout_s > 0:
            raise ValueError(f"SandboxLimits.wall_timeout_s must be > 0, got {self.wall_timeout_s}")
        for name in ("cpu_time_s", "memory_mb", "max_processes", "max_output_bytes",
                     "max_file_bytes", "max_message_bytes"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"SandboxLimits.{name} must be >= 1, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SandboxLimits":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def build_env(*, workdir: str, project_root: str, parent_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's environment, built from an allow-list (never from a deny-list).

    Only ``PATH``, ``LANG``, ``LC_ALL`` and ``PYTHONHASHSEED`` are copied from
    ``parent_env`` (default ``os.environ``); ``HOME`` and ``TMPDIR`` are ``workdir``;
    BLAS/OpenMP thread counts are 1; ``PYTHONPATH`` is ``project_root``. No API key,
    token or provider variable can enter.
    """
    source = os.environ if parent_env is None else parent_env
    env = {name: source[name] for name in ENV_ALLOW if name in source}
    env.setdefault("PATH", "/usr/bin:/bin")
    env.update({name: "1" for name in THREAD_VARS})
    env.update(HOME=workdir, TMPDIR=workdir, PYTHONPATH=project_root, PYTHONDONTWRITEBYTECODE="1")
    return env


def _count_user_tasks(uid: int) -> int:
    """Tasks (processes + threads) owned by ``uid``, read from /proc (0 if unreadable)."""
    total = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            total += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return total


def apply_rlimits(limits: SandboxLimits) -> str:
    """Set RLIMIT_AS, CPU, NPROC, FSIZE and CORE=0 on the calling process; make a write
    past RLIMIT_FSIZE fail with EFBIG instead of killing the process. Returns a summary.
    """
    memory = int(limits.memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(limits.cpu_time_s)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(limits.max_file_bytes),) * 2)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    uid = os.geteuid()
    if uid == 0:
        nproc = int(limits.max_processes)
        nproc_note = "not binding for root"
    else:
        nproc = int(limits.max_processes) + _count_user_tasks(os.getuid())
        nproc_note = f"user tasks + {limits.max_processes}"
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    return (f"AS={limits.memory_mb}MB CPU={cpu}s NPROC={nproc} ({nproc_note}) "
            f"FSIZE={limits.max_file_bytes}B CORE=0")


def enter_network_namespace() -> str:
    """Move the calling (single-threaded) process into a fresh, empty network namespace.

    Tries ``unshare(CLONE_NEWNET)`` (needs CAP_SYS_ADMIN), then
    ``unshare(CLONE_NEWUSER | CLONE_NEWNET)`` (unprivileged user namespaces). Returns
    the layer that worked, or ``"unavailable: <reason>"``; never raises.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNET) == 0:
            return "netns (CLONE_NEWNET)"
        first = os.strerror(ctypes.get_errno())
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
            return "netns (CLONE_NEWUSER|CLONE_NEWNET)"
        second = os.strerror(ctypes.get_errno())
        return f"unavailable: CLONE_NEWNET: {first}; CLONE_NEWUSER|CLONE_NEWNET: {second}"
    except Exception as exc:  # noqa: BLE001 - report, never fail start-up
        return f"unavailable: {type(exc).__name__}: {exc}"

"""Kernel isolation of the sandbox child, applied before any program code runs.

Stdlib + ctypes (+ ``pyseccomp``, imported here before the filter is loaded). The order,
in :func:`enter_namespaces` then :func:`confine`:

1. **namespaces**: ``unshare`` a new PID, network, IPC and UTS namespace (plus a user
   namespace when not root), then ``fork``: the child is PID 1 of its namespace, so every
   thread or process it could start dies with it; the original process stays outside as
   a *relay* that only waits and mirrors the child's exit status to the parent;
2. **rlimits**: address space, CPU, tasks, file size, no core dumps;
3. **an unprivileged uid/gid** (when root): a uid of its own per sandbox
   (``UID_BASE + relay pid``), no supplementary groups; the working directory is given
   to it first;
4. **Landlock**: read-write beneath the working directory, read-only beneath the
   standard library and the allowed packages, ``/dev/null``; nothing else (not the
   project, the archive, ``/proc``, ``$HOME``); TCP bind/connect denied (ABI >= 4);
   signals and abstract unix sockets scoped to the sandbox (ABI >= 6);
5. **seccomp**: an allowlist (:mod:`sandbox_seccomp`): what Python, numpy and threads need;
   no process creation but threads, no exec, no sockets, no ptrace or cross-process memory,
   no signals to other processes, no session/group changes, no namespace, mount, bpf,
   perf, keyring, io_uring, module or metadata calls; anything it does not name (newer
   calls included) fails with ENOSYS.

Every step reports a one-line layer description; :func:`missing_layers` names what a
strict sandbox lacks.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
from typing import Any, Iterable

import sandbox_landlock as ll  # imported now: nothing of the project is reachable once confined
import sandbox_seccomp

CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER = 0x04000000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET, CLONE_THREAD = 0x20000000, 0x40000000, 0x00010000
PR_SET_PDEATHSIG = 1
UID_BASE = 3_000_000_000
"""Sandbox uids are ``UID_BASE + relay pid``: unused by real accounts and distinct per
live sandbox, so the task limit and any same-uid rule never couple two evaluations."""

REQUIRED_LAYERS = ("pid namespace", "network namespace", "landlock", "seccomp")
ROOT_ONLY_LAYERS = ("uid", "root")
"""Required besides :data:`REQUIRED_LAYERS` when the sandbox starts as root: the
unprivileged uid and the child's own root (:mod:`sandbox_root`)."""

_libc = ctypes.CDLL(None, use_errno=True)


def _errno_text() -> str:
    return os.strerror(ctypes.get_errno())


def enter_namespaces(close_in_relay: Iterable[int], cpu_limit_s: float) -> dict[str, str]:
    """Unshare PID/net/IPC/UTS namespaces and fork. Returns (in the child only) the layer
    descriptions. The original process becomes the relay: it closes ``close_in_relay``
    (the protocol fds), waits for the child and exits with its status (re-raising the
    signal that killed it, so the parent can tell a memory or CPU kill). The init of a
    PID namespace ignores the kernel's SIGXCPU, so the CPU limit ends it with SIGKILL at
    the hard limit; the relay, which sees the child's CPU time, reports that as SIGXCPU
    when the time reached ``cpu_limit_s``. Never raises."""
    layers: dict[str, str] = {}
    flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if os.geteuid() != 0:
        flags |= CLONE_NEWUSER
    if _libc.unshare(flags) != 0:
        reason = _errno_text()
        if _libc.unshare(CLONE_NEWNET) == 0 or _libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
            layers["network namespace"] = "new, empty"
        layers["pid namespace"] = f"unavailable: unshare: {reason}"
        return layers
    relay_pid = os.getpid()
    pid = os.fork()
    if pid == 0:
        layers["pid namespace"] = f"pid {os.getpid()} (init of its own namespace)"
        layers["network namespace"] = "new, empty (no interfaces up)"
        layers["relay"] = str(relay_pid)
        return layers
    _relay(pid, close_in_relay, cpu_limit_s)
    raise AssertionError("unreachable")


def _relay(pid: int, close_fds: Iterable[int], cpu_limit_s: float) -> None:
    for fd in close_fds:
        try:
            os.close(fd)
        except OSError:
            pass
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for ignored in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(ignored, signal.SIG_IGN)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig: int = os.WTERMSIG(status)
        if sig == signal.SIGKILL and usage.ru_utime + usage.ru_stime >= cpu_limit_s - 0.05:
            sig = signal.SIGXCPU
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def die_with_parent() -> None:
    """SIGKILL this process when the relay dies (cleared by uid changes: call again)."""
    _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def apply_rlimits(limits: dict[str, Any]) -> str:
    """RLIMIT_AS, CPU, NPROC, FSIZE and CORE=0 from the parent's limits dict; a write past
    RLIMIT_FSIZE fails with EFBIG instead of killing the process. Returns a summary."""
    memory = int(limits["memory_mb"]) * 1024 * 1024
    cpu = int(limits["cpu_time_s"])
    nproc = int(limits["max_processes"])
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(limits["max_file_bytes"]),) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return f"AS={limits['memory_mb']}MB CPU={cpu}s NPROC={nproc} FSIZE={limits['max_file_bytes']}B CORE=0"


def drop_privileges(workdir: str, relay_pid: int) -> str:
    """When root: give ``workdir`` to a fresh uid/gid and become it (no groups). Returns
    the layer description; as a non-root user there is nothing to drop."""
    if os.geteuid() != 0:
        return f"uid {os.geteuid()} (not root: unchanged)"
    uid = UID_BASE + int(relay_pid)
    os.chown(workdir, uid, uid)
    os.chmod(workdir, 0o700)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getegid() != uid:
        raise OSError(errno.EPERM, "setresuid did not take effect")
    return f"uid/gid {uid} (unprivileged, no groups)"


def apply_landlock(*, workdir: str, read_only: Iterable[str]) -> str:
    """Enforce the filesystem rules described in the module docstring."""
    ruleset = ll.Ruleset.create()
    ruleset.allow(workdir, ll.FS_BY_ABI.get(ruleset.abi, ll.FS_BY_ABI[5]))
    ruleset.allow("/dev/null", ll.READ_FILE | ll.WRITE_FILE)
    for path in sorted(set(read_only)):
        ruleset.allow(path, ll.READ_ONLY_DIR)
    return ruleset.restrict_self()


def import_pyseccomp() -> None:
    """Import pyseccomp, sparing it the ``ldconfig``/``gcc`` subprocesses that
    ``ctypes.util.find_library`` runs (tens of ms per evaluation): the usual sonames are
    tried first, the real lookup only if they do not load."""
    import ctypes.util

    real = ctypes.util.find_library
    known = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}

    def find_library(name: str) -> str | None:
        soname = known.get(name)
        if soname:
            try:
                ctypes.CDLL(soname)
                return soname
            except OSError:
                pass
        return real(name)

    ctypes.util.find_library = find_library
    try:
        import pyseccomp  # noqa: F401
    finally:
        ctypes.util.find_library = real


def apply_seccomp() -> str:
    """Load the allowlist seccomp filter (:mod:`sandbox_seccomp`). Returns the layer line."""
    return sandbox_seccomp.apply_seccomp()


def single_threaded() -> bool:
    """True if the calling process has exactly one thread (Landlock restricts only the
    calling thread and its future children, so it must be applied before any thread)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def missing_layers(layers: dict[str, str], *, root: bool) -> list[str]:
    """The required layers that are absent or unavailable (:data:`ROOT_ONLY_LAYERS` too
    when root)."""
    need = list(REQUIRED_LAYERS) + (list(ROOT_ONLY_LAYERS) if root else [])
    return [name for name in need if not layers.get(name) or layers[name].startswith("unavailable")]

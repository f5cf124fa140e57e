"""The sandbox child's own root: a mount namespace that shows exactly what it may read.

Stdlib + ctypes. :func:`enter_own_root` (as root, or as the owner of a new user namespace)
unshares a mount namespace, makes every mount in it private (nothing propagates back to
the host), and builds a new root on a small tmpfs:

* a **read-only bind mount of each allowed tree at its own host path** (the interpreter's
  standard library, the top-level directories of the allowed packages, ``/dev/null``):
  the skeleton directories leading to them are the tmpfs's own (mode 0755), so a tree that
  lives under a private directory (a clone in a 0700 directory, a venv or a pyenv
  interpreter under ``/root``) is reachable by the sandbox's unprivileged uid without
  loosening the permissions of the user's directories;
* the **working directory, a size-capped tmpfs** at its host path (``disk_mb``): what the
  program writes stays in memory inside the namespace and vanishes with it; the host's
  directory of that name stays empty;
* nothing else: no ``/proc``, no ``/sys``, no ``/tmp``, no home, nothing of the project.

It then ``pivot_root``s into it, detaches the old root and makes ``/`` read-only. Paths keep
their host names, so ``sys.path`` and every module's ``__file__`` stay valid. Everything
the child needs from the project must be imported before this step.
"""

from __future__ import annotations

import ctypes
import os
import platform
import stat
import time
from typing import Iterable, Sequence

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME = 16384, 1 << 18, 1 << 21
MNT_DETACH = 2
ST_RELATIME = 4096
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41}
SKELETON_TMPFS = "size=1m,nr_inodes=4096,mode=0755"
"""The new root holds only directories (the skeleton) and mount points: 1 MiB is plenty."""

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class RootError(OSError):
    """The own root could not be built; the message is one line naming the step and path."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise RootError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    ctypes.set_errno(0)
    result = _libc.mount(
        None if source is None else source.encode(),
        target.encode(),
        None if fstype is None else fstype.encode(),
        ctypes.c_ulong(flags),
        None if data is None else data.encode(),
    )
    _check(result, f"mount {source or fstype or ''} on {target}")


def _kept_flags(path: str) -> int:
    """The per-mount flags of ``path``'s mount a bind remount must keep (in a user
    namespace the kernel refuses to clear locked ones)."""
    f_flag = os.statvfs(path).f_flag
    kept = 0
    for st_bit, ms_bit in (
        (os.ST_NOSUID, MS_NOSUID),
        (os.ST_NODEV, MS_NODEV),
        (os.ST_NOEXEC, MS_NOEXEC),
        (os.ST_NOATIME, MS_NOATIME),
        (os.ST_NODIRATIME, MS_NODIRATIME),
        (ST_RELATIME, MS_RELATIME),
    ):
        if f_flag & st_bit:
            kept |= ms_bit
    return kept


def _bind_read_only(source: str, target: str, *, device: bool = False) -> None:
    """Bind ``source`` on ``target`` (recursively) and make the bind read-only, nosuid and,
    unless it is a device node, nodev and noexec."""
    _mount(source, target, None, MS_BIND | MS_REC)
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | _kept_flags(target)
    if not device:
        flags |= MS_NODEV
    _mount(None, target, None, flags)


def outermost(paths: Iterable[str]) -> list[str]:
    """The absolute, normalised ``paths`` with every path beneath another one dropped
    (a recursive bind of the outer tree already shows it), sorted."""
    out: list[str] = []
    for path in sorted({os.path.normpath(p) for p in paths if p and os.path.isabs(p)}):
        if not any(path == kept or path.startswith(kept.rstrip("/") + "/") for kept in out):
            out.append(path)
    return out


def _skeleton(stage: str, host_path: str, *, is_dir: bool) -> str:
    """Create ``host_path`` under ``stage`` (directories 0755; an empty file for a
    non-directory) and return it."""
    target = stage + host_path
    if is_dir:
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        with open(target, "a"):
            pass
    return target


def _pivot_root(new_root: str) -> None:
    number = _SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise RootError(0, f"pivot_root: no syscall number known for {platform.machine()}")
    os.chdir(new_root)
    ctypes.set_errno(0)
    _check(int(_libc.syscall(ctypes.c_long(number), b".", b".")), f"pivot_root into {new_root}")
    # the old root is now stacked on top of the new one at "/": detach it
    ctypes.set_errno(0)
    _check(_libc.umount2(b".", MNT_DETACH), "detaching the old root")
    os.chdir("/")


def enter_own_root(
    *, read_only: Sequence[str], devices: Sequence[str] = ("/dev/null",), workdir: str, disk_mb: int
) -> str:
    """Move this process into a mount namespace whose root shows only ``read_only`` trees
    (read-only, at their host paths), the ``devices`` (bound read-write: ``/dev/null``)
    and ``workdir``, a fresh tmpfs of at most ``disk_mb`` MiB (mode 0700; the caller gives
    it to the sandbox uid). ``workdir`` must be an empty host directory; it is used as the
    staging mount point (its host content is never touched). The process must be single-
    threaded. On return the cwd is ``workdir``. Returns the layer description; raises
    :class:`RootError` (one line naming the failed step) and then leaves the namespace's
    mounts as they were before the stage was built."""
    started = time.perf_counter()
    workdir = os.path.normpath(workdir)
    ctypes.set_errno(0)
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    old_umask = os.umask(0o022)
    stage = workdir
    _mount("persona-sandbox-root", stage, "tmpfs", MS_NOSUID | MS_NODEV, SKELETON_TMPFS)
    try:
        trees = [p for p in outermost(read_only) if os.path.exists(p)]
        for tree in trees:  # a tree is a directory or a single-file module (pyseccomp.py)
            is_dir = os.path.isdir(tree)
            _bind_read_only(tree, _skeleton(stage, tree, is_dir=is_dir))
        for device in devices:
            if os.path.exists(device):
                _bind_read_only(device, _skeleton(stage, device, is_dir=False), device=True)
        inner = _skeleton(stage, workdir, is_dir=True)
        _mount(
            "persona-sandbox-work",
            inner,
            "tmpfs",
            MS_NOSUID | MS_NODEV | MS_NOEXEC,
            f"size={int(disk_mb)}m,nr_inodes={max(1024, 64 * int(disk_mb))},mode=0700",
        )
        _pivot_root(stage)
        _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.chdir(workdir)
    except OSError as exc:
        ctypes.set_errno(0)
        _libc.umount2(stage.encode(), MNT_DETACH)
        if isinstance(exc, RootError):
            raise
        raise RootError(exc.errno or 0, f"building the sandbox root: {type(exc).__name__}: {exc}") from None
    finally:
        os.umask(old_umask)
    return (
        f"own mount namespace and root: {len(trees)} read-only trees or files, {len(devices)} device(s), "
        f"working directory a {int(disk_mb)} MB tmpfs; no /proc, /sys, /tmp or home; "
        f"built in {1000 * (time.perf_counter() - started):.1f} ms"
    )


def unreadable(paths: Iterable[str]) -> tuple[str, str] | None:
    """The first of ``paths`` this process (after the uid change) cannot read or enter,
    with why (``"mode 0700, owner uid 0"``); None if every one is readable. Checks each
    tree's top and its immediate entries (a package installed with a private umask has
    private files one level down)."""
    for path in outermost(paths):
        candidates = [path]
        try:
            with os.scandir(path) as entries:
                candidates += [entry.path for _, entry in zip(range(64), entries)]
        except OSError:
            pass
        for candidate in candidates:
            try:
                info = os.stat(candidate)
            except OSError as exc:
                return candidate, f"stat failed: {exc.strerror}"
            need = os.R_OK | (os.X_OK if stat.S_ISDIR(info.st_mode) else 0)
            if not os.access(candidate, need):
                return candidate, f"mode {stat.S_IMODE(info.st_mode):04o}, owner uid {info.st_uid}"
    return None

"""A small Landlock binding (Linux >= 5.13): filesystem rules, TCP rules, IPC scoping.

Why not the PyPI ``landlock`` package: its latest release (1.0.0.dev5) is a pre-release
that knows only ABI 1-3 filesystem rights; it cannot express TCP rules (ABI 4) or the
scoping of signals and abstract unix sockets (ABI 6) that the sandbox relies on. The
three system calls are simple enough to call directly; this module is stdlib-only.

Usage (in the process to restrict, while it has a single thread)::

    ruleset = Ruleset.create()              # handles every right the kernel knows
    ruleset.allow(path, READ_ONLY_DIR)      # rules for paths that stay reachable
    ruleset.restrict_self()                 # irreversible; needs no_new_privs
"""

from __future__ import annotations

import ctypes
import os
import platform

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

# filesystem rights (ABI version that introduced them)
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ_ONLY_DIR = READ_FILE | READ_DIR
# network rights (ABI 4)
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
# scopes (ABI 6)
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1


class LandlockUnavailable(OSError):
    """The kernel does not offer Landlock (too old, disabled, or not Linux/x86-64/arm64)."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(number: int, *args: object) -> int:
    ctypes.set_errno(0)
    result = _libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(result)


def abi_version() -> int:
    """The Landlock ABI of the running kernel (>= 1); raises :class:`LandlockUnavailable`."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "aarch64"):
        raise LandlockUnavailable(
            f"Landlock needs Linux on x86_64/aarch64, this is {platform.system()} {platform.machine()}"
        )
    try:
        return _syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    except OSError as exc:
        raise LandlockUnavailable(
            f"Landlock unavailable: {exc.strerror} (kernel < 5.13, or not enabled in CONFIG_LSM)"
        ) from None


class Ruleset:
    """One Landlock ruleset: every handled right is denied except where a rule allows it."""

    def __init__(self, fd: int, abi: int, handled_fs: int) -> None:
        self.fd, self.abi, self.handled_fs = fd, abi, handled_fs

    @classmethod
    def create(cls) -> "Ruleset":
        """Handle every filesystem right of the kernel's ABI, every TCP right (ABI >= 4)
        and scope signals and abstract unix sockets (ABI >= 6)."""
        abi = abi_version()
        attr = _RulesetAttr(FS_BY_ABI.get(abi, FS_BY_ABI[5]), 0, 0)
        size = 8
        if abi >= 4:
            attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
            size = 16
        if abi >= 6:
            attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
            size = 24
        fd = _syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
        return cls(fd, abi, attr.handled_access_fs)

    def allow(self, path: str, access: int) -> None:
        """Allow ``access`` beneath ``path`` (a file gets only its file rights). A path
        that does not exist is skipped silently (it cannot be reached either)."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not os.path.isdir(path):
                access &= FILE_RIGHTS
            rule = _PathBeneathAttr(access & self.handled_fs, fd)
            _syscall(
                SYS_ADD_RULE,
                ctypes.c_int(self.fd),
                ctypes.c_int(RULE_PATH_BENEATH),
                ctypes.byref(rule),
                ctypes.c_uint32(0),
            )
        finally:
            os.close(fd)

    def restrict_self(self) -> str:
        """Set no_new_privs and enforce the ruleset on the calling thread (and every
        thread or process it starts later). Returns a one-line description."""
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(err)}")
        _syscall(SYS_RESTRICT_SELF, ctypes.c_int(self.fd), ctypes.c_uint32(0))
        os.close(self.fd)
        parts = ["filesystem"]
        if self.abi >= 4:
            parts.append("TCP bind/connect")
        if self.abi >= 6:
            parts.append("signals and abstract unix sockets scoped")
        return f"landlock ABI {self.abi}: " + ", ".join(parts)

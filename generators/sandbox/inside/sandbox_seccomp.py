"""The sandbox child's seccomp filter: an allowlist (default deny).

Stdlib + ``pyseccomp`` (over the system libseccomp; imported before confinement). Every
system call not named here returns ``ENOSYS`` -- including every call newer than this list
(``setxattrat``, ``listmount``, ...) and numbers no kernel has assigned yet -- so glibc falls
back where it can (``clone3`` -> ``clone``, ``statx`` -> ``newfstatat``). The calls a
program has no business making (process creation, exec, sockets, ptrace, namespaces,
mounts, keyrings, BPF, metadata changes, ...) are refused with ``EPERM``, so their refusal
reads as a permission error.

What a generator program needs (Python, numpy/scipy, threads) is allowed:

* memory, threads and their synchronisation, time, sleeping, randomness, rlimits (reading,
  or lowering: raising needs a capability the sandbox lacks);
* file I/O: Landlock and the child's own root decide *which* files; these decide *how*;
* signals only to the process itself (``kill``/``tgkill``/``rt_sigqueueinfo`` whose pid is
  its own: in its PID namespace there is nothing else to reach);
* ``clone`` only with ``CLONE_THREAD`` (a thread, never a process);
* ``ioctl`` only for a few terminal and fd-flag requests, compared on the low 32 bits the
  kernel reads (``1 << 32 | TIOCSTI`` is TIOCSTI); ``prctl`` only to name a thread.
"""

from __future__ import annotations

import errno
import os

CLONE_THREAD = 0x00010000
LOW32 = 0xFFFFFFFF

ALLOWED = (
    # memory
    "brk",
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "madvise",
    "msync",
    "mbind",
    "get_mempolicy",
    "set_mempolicy",
    "membarrier",
    # threads, synchronisation, scheduling of its own threads
    "futex",
    "futex_waitv",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "set_tid_address",
    "gettid",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_getscheduler",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "exit",
    "exit_group",
    "restart_syscall",
    # time
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "getitimer",
    "setitimer",
    "alarm",
    # signals (to itself: kill/tgkill below), identity, limits, system information
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigsuspend",
    "pause",
    "getpid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "getpgrp",
    "getpgid",
    "getsid",
    "getrusage",
    "getrlimit",
    "prlimit64",
    "times",
    "sysinfo",
    "uname",
    "getcpu",
    "getrandom",
    # files and descriptors (which files: Landlock and the own root)
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "lseek",
    "close",
    "close_range",
    "open",
    "openat",
    "openat2",
    "creat",
    "stat",
    "fstat",
    "lstat",
    "newfstatat",
    "statx",
    "statfs",
    "fstatfs",
    "access",
    "faccessat",
    "faccessat2",
    "getdents",
    "getdents64",
    "getcwd",
    "chdir",
    "fchdir",
    "mkdir",
    "mkdirat",
    "rmdir",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "readlink",
    "readlinkat",
    "truncate",
    "ftruncate",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "fallocate",
    "fadvise64",
    "flock",
    "fcntl",
    "dup",
    "dup2",
    "dup3",
    "pipe",
    "pipe2",
    "umask",
    "copy_file_range",
    "sendfile",
    "splice",
    "tee",
    # waiting on its own descriptors
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "eventfd",
    "eventfd2",
)
"""System calls allowed unconditionally (names libseccomp does not know on this
architecture are skipped)."""

REFUSED = (
    "fork",
    "vfork",
    "execve",
    "execveat",
    "socket",
    "socketpair",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "pidfd_open",
    "pidfd_send_signal",
    "pidfd_getfd",
    "tkill",
    "setsid",
    "setpgid",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setgroups",
    "setfsuid",
    "setfsgid",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "mount_setattr",
    "listmount",
    "statmount",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "userfaultfd",
    "open_by_handle_at",
    "name_to_handle_at",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "fanotify_init",
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "mknod",
    "mknodat",
    "personality",
    "memfd_create",
    "memfd_secret",
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "setxattrat",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "removexattrat",
)
"""System calls refused with EPERM (the rest of what is not allowed gets ENOSYS)."""

IOCTL_REQUESTS = {
    "TCGETS": 0x5401,
    "TIOCGWINSZ": 0x5413,
    "FIONREAD": 0x541B,
    "FIONBIO": 0x5421,
    "FIONCLEX": 0x5450,
    "FIOCLEX": 0x5451,
}
"""The ``ioctl`` requests allowed (isatty, terminal size, bytes readable, fd flags)."""

PR_SET_NAME, PR_GET_NAME = 15, 16


def apply_seccomp() -> str:
    """Load the allowlist filter into this process (irreversible; needs no_new_privs,
    which pyseccomp sets). Returns the layer description line."""
    import pyseccomp as sc

    me = os.getpid()
    eperm = sc.ERRNO(errno.EPERM)
    filt = sc.SyscallFilter(sc.ERRNO(errno.ENOSYS))
    allowed = refused = 0
    unknown: list[str] = []

    def rule(action: object, name: str, *args: object) -> bool:
        try:
            filt.add_rule(action, name, *args)
            return True
        except (OSError, ValueError, RuntimeError):
            unknown.append(name)
            return False

    for name in ALLOWED:
        allowed += rule(sc.ALLOW, name)
    for name in REFUSED:
        refused += rule(eperm, name)
    # threads only: clone with CLONE_THREAD; clone3 -> ENOSYS (the default) so glibc uses clone
    rule(sc.ALLOW, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, CLONE_THREAD))
    rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        rule(sc.ALLOW, name, sc.Arg(0, sc.EQ, me))
        rule(eperm, name, sc.Arg(0, sc.NE, me))
    for request in IOCTL_REQUESTS.values():
        rule(sc.ALLOW, "ioctl", sc.Arg(1, sc.MASKED_EQ, LOW32, request))
    for option in (PR_SET_NAME, PR_GET_NAME):
        rule(sc.ALLOW, "prctl", sc.Arg(0, sc.EQ, option))
    filt.load()
    # names this libseccomp does not know fall to the default (ENOSYS): refused all the same
    note = f"; {len(set(unknown))} names unknown to libseccomp here (ENOSYS)" if unknown else ""
    return (
        f"allowlist: {allowed} calls allowed (threads only, signals to itself, {len(IOCTL_REQUESTS)} ioctl "
        f"requests), {refused} refused with EPERM, everything else ENOSYS{note}"
    )

"""In-child audit hook that turns refused actions into friendly one-line errors.

It is **not** what keeps a program in: the kernel does that (PID/network namespaces,
Landlock, seccomp, an unprivileged uid; see :mod:`sandbox_confine`). A program can switch
this hook off (PEP 578 hooks live in the same process); the hostile test suite runs a
second time without it and must still hold. What it adds is a readable message
("sandbox: writing outside the working directory is not allowed") where the kernel would
only say ``EPERM``/``EACCES``.

:func:`install_guard` is called in the sandbox child after numpy is imported and before
the program text is compiled. It adds a ``sys.addaudithook`` hook (which cannot be
removed) that raises ``PermissionError("sandbox: ...")`` on:

* network: every ``socket.*`` event and the stdlib network clients;
* processes: ``subprocess.Popen``, ``os.system``, ``os.exec*``, ``os.fork``,
  ``os.forkpty``, ``os.posix_spawn*``, ``os.spawn*``, ``os.kill``, ``os.killpg``,
  ``pty.spawn``, ``signal.pthread_kill``;
* native code: every ``ctypes.*`` event; imports of ``ctypes``, ``_ctypes``,
  ``_posixsubprocess``, sub-interpreter and ``_test*`` modules;
* files: ``open`` (and os.open) for writing/creating outside the working directory
  (``/dev/null`` excepted); opening a directory outside it with ``os.open`` (which would
  give a ``dir_fd`` escape); ``os.remove/rename/rmdir/mkdir/chmod/chown/truncate/utime``
  outside it; ``os.symlink``, ``os.link``, ``os.chdir``; reading or listing secret places
  (``/proc/<pid>/...`` except harmless self entries, the real home directories, /root,
  /home, ``.ssh``, ``.aws``, ``.env`` files, ``/etc/shadow`` ...) unless the path lies in
  the interpreter / project paths the child imports from;
* tampering: ``resource.setrlimit``/``prlimit``, ``code.__new__`` (hand-made bytecode),
  ``gc.get_objects``/``get_referrers``/``get_referents``.

Audit hooks are not a security boundary on their own (Python code runs in the same
process); the OS layers (rlimits, process group, clean env, network namespace) are
applied first. Everything the hook uses is bound into its closure at install time, so
monkeypatching ``os``, ``posixpath`` or ``builtins`` afterwards does not change it.
"""

from __future__ import annotations

import os
import stat as _stat
import sys
from typing import Sequence

NETWORK_EVENTS = frozenset(
    {
        "urllib.Request",
        "http.client.connect",
        "http.client.send",
        "ftplib.connect",
        "ftplib.sendcmd",
        "smtplib.connect",
        "smtplib.send",
        "imaplib.open",
        "imaplib.send",
        "poplib.connect",
        "poplib.putline",
        "nntplib.connect",
        "nntplib.putline",
        "telnetlib.Telnet.open",
        "telnetlib.Telnet.write",
        "webbrowser.open",
    }
)
PROCESS_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.fork",
        "os.forkpty",
        "os.posix_spawn",
        "os.spawn",
        "os.kill",
        "os.killpg",
        "pty.spawn",
        "signal.pthread_kill",
        "os.startfile",
    }
)
TAMPER_EVENTS = frozenset(
    {
        "resource.setrlimit",
        "resource.prlimit",
        "code.__new__",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "os.symlink",
        "os.link",
        "os.chdir",
        "sys.remote_exec",
    }
)
FORBIDDEN_IMPORTS = frozenset(
    {
        "ctypes",
        "_ctypes",
        "_posixsubprocess",
        "_xxsubinterpreters",
        "_xxinterpchannels",
        "_interpreters",
        "_interpchannels",
        "_interpqueues",
        "_testcapi",
        "_testinternalcapi",
        "_testmultiphase",
        "_testsinglephase",
        "_testbuffer",
        "_testimportmultiple",
    }
)
# events whose first argument is a path the program modifies
WRITE_PATH_EVENTS = frozenset(
    {
        "os.remove",
        "os.rmdir",
        "os.mkdir",
        "os.chmod",
        "os.chown",
        "os.chflags",
        "os.lchflags",
        "os.truncate",
        "os.utime",
        "os.mkfifo",
        "os.mknod",
        "os.setxattr",
        "os.removexattr",
    }
)
LIST_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob", "os.listxattr", "os.getxattr"})
SECRET_NAMES = frozenset(
    {
        ".ssh",
        ".aws",
        ".gnupg",
        ".docker",
        ".kube",
        ".azure",
        ".netrc",
        ".git-credentials",
        ".pgpass",
        ".pypirc",
        ".npmrc",
        ".git",
        ".huggingface",
        "gcloud",
        ".bash_history",
        ".python_history",
    }
)
SECRET_FILES = frozenset(
    {
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/shadow-",
        "/etc/gshadow-",
        "/etc/sudoers",
        "/etc/master.passwd",
    }
)
SECRET_DIRS = ("/run/secrets", "/var/run/secrets", "/etc/sudoers.d", "/etc/ssl/private")
PROC_SELF_OK = frozenset(
    {"stat", "status", "statm", "maps", "limits", "cpuset", "cgroup", "task", "fd", "smaps", "smaps_rollup"}
)

_installed = False


def install_guard(*, workdir: str, deny_read: Sequence[str], allow_read: Sequence[str]) -> None:
    """Install the hook. ``workdir`` is the only writable directory (absolute, no
    symlinks); reads under ``deny_read`` prefixes are refused unless under an
    ``allow_read`` prefix (interpreter and project paths). Idempotent per process.
    """
    global _installed
    if _installed:
        return
    hook = _make_hook(workdir=workdir, deny_read=tuple(deny_read), allow_read=tuple(allow_read))
    sys.addaudithook(hook)
    _installed = True


def _make_hook(*, workdir: str, deny_read: tuple[str, ...], allow_read: tuple[str, ...]):  # noqa: C901
    # Everything the hook needs is a local of this frame (closure cells).
    _str, _bytes, _int, _type, _tuple = str, bytes, int, type, tuple
    _isinstance, _bool, _len = isinstance, bool, len
    _encode, _decode = str.encode, bytes.decode
    _perm = PermissionError
    _stat_fn, _isdir = os.stat, _stat.S_ISDIR
    _pid = _str(os.getpid())
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    network_events, process_events, tamper_events = NETWORK_EVENTS, PROCESS_EVENTS, TAMPER_EVENTS
    forbidden_imports, write_events, list_events = FORBIDDEN_IMPORTS, WRITE_PATH_EVENTS, LIST_EVENTS
    secret_names, secret_files, secret_dirs, proc_self_ok = (
        SECRET_NAMES,
        SECRET_FILES,
        SECRET_DIRS,
        PROC_SELF_OK,
    )
    import pathlib

    path_types = (pathlib.PosixPath, pathlib.PurePosixPath)
    fspath_original = pathlib.PurePath.__fspath__
    ws = workdir.rstrip("/")
    deny = _tuple(p.rstrip("/") for p in deny_read if p and p != "/")
    allow = _tuple(p.rstrip("/") for p in allow_read if p and p != "/")

    def as_text(path):
        """str for str/bytes (also subclasses, read through the base type), the int for
        an fd, None if unsupported (a PathLike could answer differently each time)."""
        t = _type(path)
        if t is _int:
            return path
        if _isinstance(path, _str):
            return _decode(_encode(path, "utf-8", "surrogateescape"), "utf-8", "surrogateescape")
        if _isinstance(path, _bytes):
            return _decode(path, "utf-8", "surrogateescape")
        if t in path_types and t.__fspath__ is fspath_original:
            return as_text(fspath_original(path))
        return None

    def normalize(p):
        if not p.startswith("/"):
            p = ws + "/" + p
        parts = []
        for seg in p.split("/"):
            if seg == "" or seg == ".":
                continue
            if seg == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(seg)
        return "/" + "/".join(parts)

    def under(p, prefix):
        return p == prefix or p.startswith(prefix + "/")

    def inside_workdir(p):
        return under(p, ws)

    def resolve(event, raw):
        text = as_text(raw)
        if text is None:
            raise _perm(
                f"sandbox: path argument of type {_type(raw).__name__} is not allowed ({event}); pass a str"
            )
        return text

    def refuse_write(event, raw):
        text = resolve(event, raw)
        if _type(text) is _int:
            raise _perm(f"sandbox: {event} on a file descriptor is not allowed")
        p = normalize(text)
        if not inside_workdir(p):
            raise _perm(f"sandbox: writing outside the working directory is not allowed ({event} {p!r})")

    def is_secret(p):
        if p in secret_files:
            return True
        for d in secret_dirs:
            if under(p, d):
                return True
        segments = p.split("/")
        for seg in segments:
            if seg in secret_names or seg.startswith(".env"):
                return True
        if _len(segments) > 2 and segments[1] == "proc":
            who = segments[2]
            if who in ("self", "thread-self", _pid):
                return _len(segments) > 3 and segments[3] not in proc_self_ok
            if who.isdigit():
                return True
        for a in allow:
            if under(p, a):
                return False
        for d in deny:
            if under(p, d):
                return True
        return False

    def refuse_read(event, raw):
        text = resolve(event, raw)
        if _type(text) is _int:
            return
        p = normalize(text)
        if not inside_workdir(p) and is_secret(p):
            raise _perm(f"sandbox: reading {p!r} is not allowed ({event})")

    def hook(event, args):
        if event == "open":
            path, mode, flags = args[0], args[1], args[2]
            if path is None:
                return
            writing = False
            if _type(flags) is _int:
                writing = _bool(flags & write_flags)
            if mode is not None and _type(mode) is _str:
                for ch in "wax+":
                    if ch in mode:
                        writing = True
            text = resolve(event, path)
            if _type(text) is _int:
                return
            p = normalize(text)
            if writing:
                if p != "/dev/null" and not inside_workdir(p):
                    raise _perm(f"sandbox: writing outside the working directory is not allowed (open {p!r})")
                return
            refuse_read(event, text)
            if mode is None and not inside_workdir(p):  # os.open: no directory fds outside
                try:
                    is_dir = _isdir(_stat_fn(p).st_mode)
                except OSError:
                    is_dir = False
                if is_dir:
                    raise _perm(f"sandbox: opening the directory {p!r} with os.open is not allowed")
            return
        if event.startswith("socket.") or event in network_events:
            raise _perm(f"sandbox: network access is not allowed ({event})")
        if event in process_events:
            raise _perm(f"sandbox: creating or signalling processes is not allowed ({event})")
        if event.startswith("ctypes."):
            raise _perm(f"sandbox: ctypes is not allowed ({event})")
        if event == "import":
            name = args[0]
            if _type(name) is _str and name.split(".")[0] in forbidden_imports:
                raise _perm(f"sandbox: importing {name} is not allowed (no native calls, no subprocesses)")
            return
        if event in tamper_events:
            raise _perm(f"sandbox: {event} is not allowed")
        if event in write_events:
            refuse_write(event, args[0])
            return
        if event == "os.rename":
            refuse_write(event, args[0])
            refuse_write(event, args[1])
            return
        if event == "sqlite3.connect":
            db = args[0]
            if db not in (":memory:", "", b":memory:", b""):
                refuse_write(event, db)
            return
        if event in list_events:
            if args and args[0] is not None:
                refuse_read(event, args[0])
            return

    return hook

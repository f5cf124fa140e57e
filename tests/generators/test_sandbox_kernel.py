"""Hostile programs, one per route: each must be refused **by the kernel**.

Every test runs twice: with the friendly audit guard and with it switched off (the
test-only ``guard=False``); both must hold. A probe program tries one thing and returns
what it got (``ESCAPED: ...``) or how it was refused; the test then checks the program
got nothing *and* the host shows no trace (files, processes, servers, the archive).
Targets live in pytest's ``tmp_path`` or are created by the test; nothing depends on
the host's own files.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import sqlite3
import textwrap
import time
from pathlib import Path

import pytest

from generators.sandbox import GenerationJob, JobResult, SandboxLimits
from generators.sandbox.parent import _run_sandbox

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CTX = {
    "id": "ctx",
    "description": "a test setting",
    "axes": [{"name": "risk", "description": "appetite for risk", "low": "cautious", "high": "bold"}],
}
LIMITS = SandboxLimits(wall_timeout_s=8.0, cpu_time_s=8, memory_mb=1024)

PROBE = """
import os, sys

def attempt(context, llm):
{body}

def generate(context, n, llm, rng):
    try:
        got = attempt(context, llm)
        verdict = "ESCAPED: " + repr(got)[:300]
    except BaseException as exc:
        verdict = "refused: " + type(exc).__name__ + ": " + str(exc)[:200]
    return [{{"name": "probe", "description": verdict}}] * n
"""


async def _no_llm(prompts, **_):
    return ["reply"] * len(prompts)


def run_probe(body: str, *, guard: bool, limits: SandboxLimits = LIMITS, llm=_no_llm) -> JobResult:
    code = PROBE.format(body=textwrap.indent(textwrap.dedent(body).strip("\n"), "    "))
    results, _ = asyncio.run(
        _run_sandbox(
            code, [GenerationJob(context=CTX, n=1, seed=0)], llm=llm, limits=limits, parallel=1, guard=guard
        )
    )
    return results[0]


def assert_contained(result: JobResult) -> str:
    """The program got nothing: it reports a refusal, or the job ended in an error."""
    if result.personas is None:
        assert result.error and "\n" not in result.error
        return result.error
    verdict = result.personas[0]["description"]
    assert verdict.startswith("refused: "), verdict
    return verdict


DROP_POLICY = "sys.meta_path[:] = [f for f in sys.meta_path if 'ImportPolicy' not in repr(f)]\n"


@pytest.fixture(params=[True, False], ids=["guard", "no-guard"])
def guard(request) -> bool:
    return request.param


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_text("keep")
    return path


# -- writes outside the working directory, by every route ---------------------------------

WRITE_ROUTES = {
    "open": "open({t!r}, 'w').write('pwned')",
    "os.open": "fd = os.open({t!r}, os.O_WRONLY | os.O_CREAT); os.write(fd, b'pwned'); return fd",
    "append-victim": "open({v!r}, 'a').write('pwned')",
    "truncate-victim": "os.truncate({v!r}, 0)",
    "symlink-then-write": "os.symlink({v!r}, 'link'); open('link', 'w').write('pwned')",
    "hardlink-then-write": "os.link({v!r}, 'hard'); open('hard', 'w').write('pwned')",
    "rename-out": "os.rename({v!r}, 'mine.txt'); return os.listdir('.')",
    "rename-in": "open('x', 'w').write('pwned'); os.rename('x', {t!r})",
    "remove": "os.remove({v!r})",
    "mkdir": "os.mkdir({t!r})",
    "chmod": "os.chmod({v!r}, 0o777)",
    "utime": "os.utime({v!r}, (0, 0))",
    "dir-fd-escape": (
        "fd = os.open({d!r}, os.O_RDONLY); "
        "open('pwn', 'w', opener=lambda p, f: os.open(p, f, dir_fd=fd)).write('x')"
    ),
    "sqlite-file": DROP_POLICY
    + "import sqlite3; c = sqlite3.connect({t!r}); c.execute('create table x(a)'); c.commit()",
    "sqlite-uri": DROP_POLICY
    + (
        "import sqlite3; c = sqlite3.connect('file:' + {t!r} + '?mode=rwc', uri=True); "
        "c.execute('create table x(a)'); c.commit()"
    ),
    "sqlite-attach": DROP_POLICY
    + (
        "import sqlite3; c = sqlite3.connect(':memory:'); c.execute('attach database ? as o', ({t!r},)); "
        "c.execute('create table o.x(a)'); c.commit()"
    ),
    "sqlite-vacuum-into": DROP_POLICY
    + (
        "import sqlite3; c = sqlite3.connect(':memory:'); c.execute('create table x(a)'); "
        "c.execute('vacuum into ?', ({t!r},))"
    ),
}


@pytest.mark.parametrize("route", sorted(WRITE_ROUTES))
def test_writes_outside_the_working_directory_are_refused(route, guard, tmp_path, victim):
    target = tmp_path / "created.txt"
    body = (
        "return " + WRITE_ROUTES[route]
        if ";" not in WRITE_ROUTES[route] and "\n" not in WRITE_ROUTES[route]
        else WRITE_ROUTES[route]
    )
    body = body.format(t=str(target), v=str(victim), d=str(tmp_path)).replace("; ", "\n")
    assert_contained(run_probe(body, guard=guard))
    assert victim.read_text() == "keep" and oct(victim.stat().st_mode & 0o777) != "0o777"
    assert victim.stat().st_mtime > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.txt"]


# -- reads of the project, the contexts, the archive, other processes, $HOME ---------------

READ_ROUTES = {
    "project-file": "return open({p!r}).read()[:50]".replace(
        "{p!r}", repr(str(PROJECT_ROOT / "pyproject.toml"))
    ),
    "project-listing": "return os.listdir({p!r})".replace("{p!r}", repr(str(PROJECT_ROOT))),
    "hidden-items": "return os.listdir({p!r})".replace(
        "{p!r}", repr(str(PROJECT_ROOT / "generators" / "contexts"))
    ),
    "project-import": "sys.path.insert(0, {p!r})\n".replace("{p!r}", repr(str(PROJECT_ROOT)))
    + DROP_POLICY
    + "import generators.sim.text as t\nreturn t.__file__",
    "proc-listing": "return [p for p in os.listdir('/proc') if p.isdigit()]",
    "proc-parent-environ": "return open('/proc/{pid}/environ', 'rb').read()[:80]".replace(
        "{pid}", str(os.getpid())
    ),
    "proc-parent-cmdline": "return open('/proc/{pid}/cmdline', 'rb').read()[:80]".replace(
        "{pid}", str(os.getpid())
    ),
    "proc-parent-mem": "return open('/proc/{pid}/mem', 'rb').read(8)".replace("{pid}", str(os.getpid())),
    "proc-self-task-root": (
        "t = os.listdir('/proc/self/task')[0]\nreturn os.listdir(f'/proc/self/task/{t}/root/proc')"
    ),
    "proc-self-environ": "return open('/proc/self/environ', 'rb').read()",
    "home-listing": "return os.listdir({h!r})".replace("{h!r}", repr(os.path.expanduser("~"))),
    "root-listing": "return os.listdir('/')",
    "etc-passwd": "return open('/etc/passwd').read()[:40]",
    "dev-mem-like": "return os.listdir('/sys')",
}


@pytest.mark.parametrize("route", sorted(READ_ROUTES))
def test_reads_outside_the_sandbox_are_refused(route, guard):
    assert_contained(run_probe(READ_ROUTES[route], guard=guard))


def test_reading_the_archive_is_refused(guard, tmp_path):
    db = tmp_path / "archive.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("create table programs(code text)")
        conn.execute("insert into programs values ('secret code')")
    verdict = assert_contained(run_probe(f"return open({str(db)!r}, 'rb').read()", guard=guard))
    assert "secret code" not in verdict


# -- processes: fork / exec by every route ----------------------------------------------------

PROCESS_ROUTES = {
    "os.fork": "pid = os.fork()\nif pid == 0:\n    os._exit(0)\nreturn pid",
    "fork-bomb": "for _ in range(100):\n    os.fork()",
    "posix_spawn": "return os.posix_spawn('/bin/true', ['true'], {})",
    "execv": "os.execv('/bin/sh', ['sh', '-c', 'id'])",
    "subprocess": DROP_POLICY
    + "import subprocess\nreturn subprocess.run(['/bin/echo', 'hi'], capture_output=True).stdout",
    "_posixsubprocess": (
        "fe = sys.modules['_posixsubprocess'].fork_exec if '_posixsubprocess' in sys.modules else None\n"
        "import subprocess\nreturn subprocess.Popen(['/bin/true']).pid"
    ).replace("import subprocess", DROP_POLICY + "import subprocess"),
    "multiprocessing": DROP_POLICY
    + "import multiprocessing\np = multiprocessing.Process(target=print)\np.start()\nreturn p.pid",
    "ctypes-fork": (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nr = libc.syscall(57)\nif r == 0:\n"
        "    os._exit(0)\nif r < 0:\n    raise OSError(ctypes.get_errno(), 'fork')\nreturn r"
    ),
    "ctypes-clone3": (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nargs = (ctypes.c_uint64 * 11)()\n"
        "r = libc.syscall(435, ctypes.byref(args), 88)\nif r == 0:\n    os._exit(0)\nif r < 0:\n"
        "    raise OSError(ctypes.get_errno(), 'clone3')\nreturn r"
    ),
    "setsid": "return os.setsid()",
    "unshare-user": (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nif libc.unshare(0x10000000) != 0:\n"
        "    raise OSError(ctypes.get_errno(), 'unshare')\nreturn 'new user namespace'"
    ),
    "ptrace-parent": (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nif libc.ptrace(16, {pid}, 0, 0) != 0:\n"
        "    raise OSError(ctypes.get_errno(), 'ptrace')\nreturn 'attached'"
    ).replace("{pid}", str(os.getpid())),
    "io_uring": (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nparams = (ctypes.c_uint8 * 120)()\n"
        "r = libc.syscall(425, 8, ctypes.byref(params))\nif r < 0:\n"
        "    raise OSError(ctypes.get_errno(), 'io_uring_setup')\nreturn r"
    ),
}


@pytest.mark.parametrize("route", sorted(PROCESS_ROUTES))
def test_process_creation_is_refused(route, guard):
    assert_contained(run_probe(PROCESS_ROUTES[route], guard=guard))


# -- sockets of every family --------------------------------------------------------------------


@pytest.mark.parametrize(
    "family",
    ["AF_INET", "AF_INET6", "AF_UNIX-path", "AF_UNIX-abstract", "AF_NETLINK", "AF_PACKET", "socketpair"],
)
def test_sockets_of_every_family_are_refused(family, guard, tmp_path):
    server = socket.socket(socket.AF_UNIX if family.startswith("AF_UNIX") else socket.AF_INET)
    if family == "AF_UNIX-path":
        address = str(tmp_path / "s.sock")
    elif family == "AF_UNIX-abstract":
        address = "\0persona-evolve-test-" + os.urandom(4).hex()
    else:
        address = ("127.0.0.1", 0)
    server.bind(address)
    server.listen(1)
    server.settimeout(0.3)
    target = server.getsockname()
    body = {
        "AF_INET": (
            f"import socket\ns = socket.create_connection({target!r}, timeout=1)\nreturn s.getpeername()"
        ),
        "AF_INET6": (
            "import socket\ns = socket.socket(socket.AF_INET6)\ns.connect(('::1', 9))\nreturn 'connected'"
        ),
        "AF_UNIX-path": (
            f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({address!r})\nreturn 'connected'"
        ),
        "AF_UNIX-abstract": (
            f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({address!r})\nreturn 'connected'"
        ),
        "AF_NETLINK": "import socket\nreturn socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).fileno()",
        "AF_PACKET": "import socket\nreturn socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).fileno()",
        "socketpair": "import socket\nreturn [s.fileno() for s in socket.socketpair()]",
    }[family]
    try:
        assert_contained(run_probe(body, guard=guard))
        with pytest.raises(OSError):
            server.accept()  # nobody connected
    finally:
        server.close()


# -- signals and pidfds aimed at the parent or anyone else -------------------------------------

SIGNAL_ROUTES = {
    "kill-parent-pid": "os.kill({pid}, signal.SIGTERM)\nreturn 'sent'",
    "kill-getppid": "os.kill(os.getppid(), signal.SIGKILL)\nreturn os.getppid()",
    "kill-everyone": "os.kill(-1, signal.SIGKILL)\nreturn 'sent'",
    "killpg-own-group": "os.killpg(0, signal.SIGKILL)\nreturn 'sent'",
    "pidfd-parent": "fd = os.pidfd_open({pid})\nsignal.pidfd_send_signal(fd, signal.SIGKILL)\nreturn fd",
    "probe-parent": "os.kill({pid}, 0)\nreturn 'parent is visible'",
}


@pytest.mark.parametrize("route", sorted(SIGNAL_ROUTES))
def test_signals_and_pidfds_cannot_reach_other_processes(route, guard):
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda *_: received.append(1))
    try:
        body = "import signal\n" + SIGNAL_ROUTES[route].replace("{pid}", str(os.getpid()))
        result = run_probe(body, guard=guard)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not received
    if route in ("kill-everyone", "killpg-own-group") and result.personas is None:
        return  # the sandbox may have ended itself; the parent (this test) survived
    assert_contained(result)


# -- tampering with the guard from inside, then escaping ----------------------------------------


def test_disabling_the_guard_from_inside_gains_nothing(guard, tmp_path):
    target = tmp_path / "out.txt"
    body = f"""
import ctypes, gc
# empty every frozenset the guard holds through raw memory writes, then write outside
for obj in gc.get_objects() if hasattr(gc, 'get_objects') else []:
    pass
open({str(target)!r}, 'w').write('pwned')
return 'written'
"""
    assert_contained(
        run_probe(body.replace("import ctypes, gc", DROP_POLICY + "import ctypes, gc"), guard=guard)
    )
    assert not target.exists()


# -- protocol forgery ---------------------------------------------------------------------------

FORGERY = {
    "unknown-job": '{"t": "result", "job": 7, "personas": [], "error": null, "detail": null, "wall_s": 0}',
    "nan-result": (
        '{"t": "result", "job": 0, "personas": [{"name": "x", "description": "d", "v": NaN}], "error": '
        'null, "detail": null, "wall_s": 0}'
    ),
    "infinity-wall": (
        '{"t": "result", "job": 0, "personas": [{"name": "x", "description": "d"}], "error": null, '
        '"detail": null, "wall_s": Infinity}'
    ),
    "overflow-weight": (
        '{"t": "result", "job": 0, "personas": [{"name": "x", "description": "d", "weight": 1e999}], '
        '"error": null, "detail": null, "wall_s": 0}'
    ),
    "overflow-negative": (
        '{"t": "result", "job": 0, "personas": [{"name": "x", "description": "d"}], "error": null, '
        '"detail": null, "wall_s": -2e400}'
    ),
    "second-ready": '{"t": "ready", "startup_s": 0, "layers": {}, "missing": [], "uid": 0, "euid": 0}',
    "extra-field": '{"t": "loaded", "admin": true}',
    "unknown-type": '{"t": "score", "coverage": 1.0}',
}


@pytest.mark.parametrize("kind", sorted(FORGERY))
def test_forged_protocol_lines_end_the_evaluation_with_an_error(kind, guard):
    line = FORGERY[kind]
    body = f"""
for fd in range(3, 64):
    try:
        os.write(fd, {line!r}.encode() + b"\\n")
    except OSError:
        pass
import time
time.sleep(2)
return 'forged'
"""
    result = run_probe(body, guard=guard)
    assert result.personas is None
    assert result.error.startswith("protocol:"), result.error


def test_giant_line_and_closed_pipe_are_errors(guard):
    giant = run_probe(
        "for fd in range(3, 64):\n    try:\n        os.write(fd, b'x' * 9_000_000)\n    except OSError:\n"
        "        pass\nimport time\ntime.sleep(2)",
        guard=guard,
    )
    assert giant.personas is None and giant.error.startswith("protocol:"), giant.error
    closed = run_probe(
        "for fd in range(3, 64):\n    try:\n        os.close(fd)\n    except OSError:\n        pass\n"
        "import time\ntime.sleep(1)",
        guard=guard,
    )
    assert closed.personas is None and closed.error.startswith("sandbox:"), closed.error


def test_a_persona_with_a_lone_surrogate_is_an_error_not_a_crash(guard):
    code = "def generate(context, n, llm, rng):\n    return [{'name': '\\ud800', 'description': 'd'}] * n\n"
    results, _ = asyncio.run(
        _run_sandbox(
            code,
            [GenerationJob(context=CTX, n=2, seed=0)],
            llm=_no_llm,
            limits=LIMITS,
            parallel=1,
            guard=guard,
        )
    )
    assert results[0].personas is None
    assert "lone surrogate" in results[0].error


# -- proxy floods --------------------------------------------------------------------------------


def test_a_million_prompts_in_one_request_is_refused_quickly(guard):
    calls: list[int] = []

    async def counting(prompts, **_):
        calls.append(len(prompts))
        return ["r"] * len(prompts)

    t0 = time.monotonic()
    result = run_probe("return len(llm.complete_many(['x'] * 1_000_000))", guard=guard, llm=counting)
    assert "exceeds the cap" in assert_contained(result)
    assert not calls and time.monotonic() - t0 < 8


def test_a_request_flood_is_stopped_at_the_per_evaluation_cap_and_the_timeout_holds(guard):
    calls: list[int] = []

    async def counting(prompts, **_):
        calls.append(len(prompts))
        return ["r"] * len(prompts)

    limits = SandboxLimits(wall_timeout_s=4.0, cpu_time_s=8, memory_mb=1024, max_llm_prompts=2000)
    t0 = time.monotonic()
    result = run_probe(
        "while True:\n    llm.complete_many(['x'] * 100)", guard=guard, llm=counting, limits=limits
    )
    took = time.monotonic() - t0
    assert result.personas is None and "more than 2000 prompts" in result.error, result.error
    assert sum(calls) <= 2000 and took < 4.0 + 3.0


def test_threads_flooding_requests_cannot_outlast_the_wall_timeout(guard):
    async def slow(prompts, **_):
        await asyncio.sleep(0.05)
        return ["r"] * len(prompts)

    limits = SandboxLimits(wall_timeout_s=2.0, cpu_time_s=8, memory_mb=1024)
    body = (
        "import threading\n"
        "def spam():\n    while True:\n        try:\n            llm.complete_many(['y' * 100_000] * 50)\n"
        "        except Exception:\n            pass\n"
        "for _ in range(16):\n    try:\n        threading.Thread(target=spam, daemon=True).start()\n"
        "    except RuntimeError:\n        break\n"
        "import time\ntime.sleep(60)"
    )
    t0 = time.monotonic()
    result = run_probe(body, guard=guard, llm=slow, limits=limits)
    assert result.personas is None and result.error.startswith("timeout:"), result.error
    assert time.monotonic() - t0 < 2.0 + 3.0


# -- the sandbox still works for honest programs --------------------------------------------------


def test_honest_file_work_inside_the_working_directory_is_allowed(guard):
    body = """
import json
with open('notes.txt', 'w') as fh:
    fh.write('hello')
os.mkdir('sub')
os.rename('notes.txt', 'sub/notes.txt')
open('sub/data.json', 'w').write(json.dumps({'a': 1}))
raise RuntimeError(open('sub/notes.txt').read() + open('sub/data.json').read())
"""
    verdict = assert_contained(run_probe(body, guard=guard))
    assert verdict == 'refused: RuntimeError: hello{"a": 1}'


def test_an_archive_is_unchanged_by_every_program_aimed_at_it(guard, tmp_path):
    db = tmp_path / "run.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("create table programs(id text, code text)")
        conn.execute("insert into programs values ('p1', 'def generate(): pass')")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    attacks = [
        f"open({str(db)!r}, 'ab').write(b'x')",
        f"os.truncate({str(db)!r}, 0)",
        f"os.rename({str(db)!r}, 'stolen')",
        f"os.symlink({str(db)!r}, 'l')\nopen('l', 'ab').write(b'x')",
        DROP_POLICY
        + (
            f"import sqlite3\nc = sqlite3.connect({str(db)!r})\n"
            "c.execute(\"update programs set code='evil'\")\nc.commit()"
        ),
        f"fd = os.open({str(db)!r}, os.O_RDWR)\nos.write(fd, b'evil')",
    ]
    for body in attacks:
        assert_contained(run_probe(body, guard=guard))
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.sqlite"]


def test_nothing_the_program_started_outlives_it(guard):
    body = (
        "import threading, time\n"
        "for _ in range(8):\n    threading.Thread(target=time.sleep, args=(60,), daemon=False).start()\n"
        "try:\n    os.fork()\nexcept OSError:\n    pass\nraise RuntimeError(os.getcwd())"
    )
    result = run_probe(body, guard=guard)
    verdict = assert_contained(result)  # threads are allowed; the fork was refused
    workdir = verdict.split("RuntimeError: ", 1)[1].encode()
    time.sleep(0.2)
    mine = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if workdir in Path(f"/proc/{pid}/cmdline").read_bytes():  # this run's child or relay
                mine.append(pid)
        except OSError:
            continue
    assert not mine


def test_the_kernel_layers_are_all_active_here():
    from generators.sandbox import isolation_report

    report = isolation_report(refresh=True)
    assert report["error"] is None and report["missing"] == [], report
    layers = " | ".join(report["layers"])
    for layer in ("pid namespace: pid 1", "network namespace: new", "landlock: landlock ABI", "seccomp:"):
        assert layer in layers
    if os.geteuid() == 0:
        assert "uid: uid/gid 3" in layers
        assert "root: own mount namespace and root" in layers


# -- nothing to flood: the parent's memory stays bounded --------------------------------------


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_a_child_that_stops_reading_its_replies_is_ended_and_the_parent_stays_small(guard):
    body = """
import json
in_fd = int(sys.argv[sys.argv.index('--in-fd') + 1])
out_fd = int(sys.argv[sys.argv.index('--out-fd') + 1])
keep = os.dup(in_fd)  # the reply pipe stays open ...
r, w = os.pipe()
os.dup2(r, in_fd)  # ... but the reader thread now waits on an empty pipe: no reply is ever read again
line = json.dumps({'t': 'llm', 'id': 10**6, 'job': 0, 'prompts': ['write'], 'system': None,
                   'temperature': None, 'max_tokens': None})
for i in range(100_000):
    os.write(out_fd, (line.replace(str(10**6), str(10**6 + i)) + '\\n').encode())
return 'flooded'
"""

    async def big_replies(prompts, **_):
        return ["y" * 500_000 for _ in prompts]

    limits = SandboxLimits(wall_timeout_s=20.0, cpu_time_s=20, max_unread_bytes=8_000_000)
    before = _rss_mb()
    t0 = time.perf_counter()
    result = run_probe(body, guard=guard, limits=limits, llm=big_replies)
    assert result.personas is None
    assert result.error.startswith("protocol: the program stopped reading its llm replies"), result.error
    assert time.perf_counter() - t0 < 15  # ended by the cap, not by the wall limit
    assert _rss_mb() - before < 100  # at most the cap (8 MB) and one reply in flight, plus noise


def test_a_child_that_closes_its_reply_pipe_is_ended(guard):
    body = """
import json
in_fd = int(sys.argv[sys.argv.index('--in-fd') + 1])
out_fd = int(sys.argv[sys.argv.index('--out-fd') + 1])
r, w = os.pipe()
os.dup2(r, in_fd)  # the last reader of the reply pipe is gone
line = json.dumps({'t': 'llm', 'id': 10**6, 'job': 0, 'prompts': ['write'], 'system': None,
                   'temperature': None, 'max_tokens': None})
for i in range(100_000):
    os.write(out_fd, (line.replace(str(10**6), str(10**6 + i)) + '\\n').encode())
return 'flooded'
"""
    t0 = time.perf_counter()
    result = run_probe(body, guard=guard, limits=SandboxLimits(wall_timeout_s=20.0, cpu_time_s=20))
    assert result.personas is None and result.error.startswith("protocol:"), result.error
    assert time.perf_counter() - t0 < 15


def test_replies_and_completion_sizes_are_capped(guard):
    seen: list[int | None] = []

    async def recording(prompts, *, max_tokens=None, **_):
        seen.append(max_tokens)
        return ["z" * (200_000 if "big" in prompts[0] else 10) for _ in prompts]

    body = """
small = llm.complete('small', max_tokens=10**9)
try:
    llm.complete('big')
except Exception as exc:
    raise RuntimeError(f'{len(small)} {type(exc).__name__}: {exc}')
return 'big reply delivered'
"""
    limits = SandboxLimits(
        wall_timeout_s=8.0, cpu_time_s=8, max_reply_bytes=100_000, max_completion_tokens=512
    )
    verdict = assert_contained(run_probe(body, guard=guard, limits=limits, llm=recording))
    assert verdict.startswith("refused: RuntimeError: 10 LLMUnavailable"), verdict
    assert "exceeds the 100000-byte cap" in verdict
    assert seen[0] == 512


# -- seccomp is an allowlist: what it does not name is refused ---------------------------------

SYSCALL_PROBE = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
r = libc.syscall({args})
if r < 0:
    raise OSError(ctypes.get_errno(), 'refused')
return r"""

SYSCALL_ROUTES = {
    # numbers the kernel (6.x) implements that the filter does not allow
    "setxattrat-463": "463, -100, b'/tmp', 0, b'user.x', 0, 0",
    "removexattrat-466": "466, -100, b'/tmp', 0, b'user.x'",
    "statmount-457": "457, 0, 0, 0, 0",
    "listmount-458": "458, 0, 0, 0, 0",
    "file_setattr-469": "469, -100, b'.', 0, 0, 0",
    "mincore-27 (harmless, unlisted)": "27, 0, 0, 0",
    "memfd_create-319": "319, b'x', 0",
    "inotify_init1-294": "294, 0",
    # a number no kernel has assigned
    "unassigned-1000": "1000, 0, 0, 0",
    # ioctl requests are compared on the low 32 bits, as the kernel reads them
    "ioctl-TIOCSTI-high-bits": "16, 1, (1 << 32) | 0x5412, ctypes.byref(ctypes.c_char(b'x'))",
    "ioctl-TIOCSTI": "16, 1, 0x5412, ctypes.byref(ctypes.c_char(b'x'))",
}


@pytest.mark.parametrize("route", sorted(SYSCALL_ROUTES))
def test_syscalls_the_allowlist_does_not_name_are_refused(route, guard):
    import errno

    verdict = assert_contained(run_probe(SYSCALL_PROBE.format(args=SYSCALL_ROUTES[route]), guard=guard))
    if guard:  # the friendly guard refuses ctypes before the kernel is asked
        assert "ctypes is not allowed" in verdict or "[Errno" in verdict, verdict
    else:  # the kernel's answer is the filter's: ENOSYS (not named) or EPERM (refused)
        assert f"[Errno {errno.ENOSYS}]" in verdict or f"[Errno {errno.EPERM}]" in verdict, verdict


# -- the child's own root: nothing of the host to see, nothing kept ---------------------------


def _own_root(result: JobResult) -> bool:
    return any(layer.startswith("root: own mount namespace") for layer in result.isolation)


METADATA_ROUTES = {
    "stat-project-file": "return os.stat({p!r}).st_size".replace(
        "{p!r}", repr(str(PROJECT_ROOT / "pyproject.toml"))
    ),
    "stat-host-pid": "return os.stat('/proc/{pid}').st_uid".replace("{pid}", str(os.getpid())),
    "readlink-host-proc": "return os.readlink('/proc/self/exe')",
    "listdir-dev": "return os.listdir('/dev')",
    "stat-archive-like": "return os.stat({p!r}).st_mtime".replace(
        "{p!r}", repr(str(PROJECT_ROOT / "README.md"))
    ),
}


@pytest.mark.parametrize("route", sorted(METADATA_ROUTES))
def test_host_paths_do_not_exist_inside(route, guard):
    result = run_probe(METADATA_ROUTES[route], guard=guard)
    if not _own_root(result):
        pytest.skip("no own root here (needs root or a user namespace that may mount)")
    verdict = assert_contained(result)
    assert "FileNotFoundError" in verdict or "PermissionError" in verdict, verdict


def test_directories_leading_to_allowed_trees_are_the_sandbox_own(guard):
    """The project directory exists inside only as an empty skeleton directory of the
    sandbox's root (the venv's packages are mounted beneath it): not the host's inode."""
    body = "info = os.stat({p!r})\nraise RuntimeError(f'{{info.st_dev}} {{info.st_ino}}')".replace(
        "{p!r}", repr(str(PROJECT_ROOT))
    )
    result = run_probe(body, guard=guard)
    if not _own_root(result):
        pytest.skip("no own root here")
    verdict = assert_contained(result)
    host = os.stat(PROJECT_ROOT)
    assert verdict.startswith("refused: ") and f"{host.st_dev} {host.st_ino}" not in verdict, verdict


def test_the_working_directory_is_a_capped_tmpfs_that_leaves_nothing(guard):
    body = """
cwd = os.getcwd()
try:
    for i in range(64):
        with open(f"fill{i}", "wb") as fh:
            fh.write(b"x" * 1_000_000)
except OSError as exc:
    raise RuntimeError(f"{cwd} stopped after {i} MB: {exc.strerror}")
raise RuntimeError(f"{cwd} wrote everything")
"""
    result = run_probe(body, guard=guard, limits=SandboxLimits(wall_timeout_s=8.0, cpu_time_s=8, disk_mb=4))
    if not _own_root(result):
        pytest.skip("no own root here")
    verdict = assert_contained(result)
    assert "No space left on device" in verdict, verdict
    stopped = int(verdict.split("stopped after ")[1].split(" MB")[0])
    assert 1 <= stopped <= 4, verdict
    workdir = verdict.split("RuntimeError: ", 1)[1].split(" ", 1)[0]
    assert not os.path.exists(workdir)  # the host's directory of that name held nothing and is gone


def test_a_deep_directory_chain_is_not_walked_by_the_parent(guard):
    body = """
cwd = os.getcwd()
fd = os.open(".", os.O_RDONLY)
for _ in range(3000):
    os.mkdir("d", dir_fd=fd)
    parent, fd = fd, os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(parent)
raise RuntimeError(cwd)
"""
    result = run_probe(body, guard=guard)
    if not _own_root(result):
        pytest.skip("no own root here")
    verdict = assert_contained(result)
    workdir = verdict.split("RuntimeError: ", 1)[1]
    assert verdict.startswith("refused: RuntimeError: /"), verdict
    assert not os.path.exists(workdir)


def test_a_weak_kernel_refuses_llm_written_programs_unless_allowed(monkeypatch):
    """Simulate a kernel without Landlock: the child reports it missing and refuses."""
    from generators.sandbox import parent

    async def run(limits, trusted):
        results, _ = await _run_sandbox(
            "def generate(context, n, llm, rng):\n    return [{'name': 'a', 'description': 'b'}]\n",
            [GenerationJob(context=CTX, n=1, seed=0)],
            llm=_no_llm,
            limits=limits,
            parallel=1,
            trusted=trusted,
        )
        return results[0]

    real = parent.child_paths()
    monkeypatch.setattr(parent, "child_paths", lambda: {**real, "force_missing": ["landlock"]})
    strict = asyncio.run(run(LIMITS, False))
    assert strict.personas is None and strict.error.startswith("sandbox: kernel isolation incomplete"), (
        strict.error
    )
    assert "--weak-sandbox" in strict.error
    seed = asyncio.run(run(LIMITS, True))
    weak = asyncio.run(run(SandboxLimits(wall_timeout_s=8.0, allow_weak_isolation=True), False))
    for result in (seed, weak):
        assert result.error is None and any(
            layer.startswith("WEAK: missing landlock") for layer in result.isolation
        )

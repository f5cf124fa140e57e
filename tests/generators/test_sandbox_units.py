"""Unit tests of the sandbox pieces: env allow-list, limits, protocol, error formatting, guard rules."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.sandbox.errors import (
    DETAIL_CAP,
    PROGRAM_FILENAME,
    ProtocolError,
    format_program_exception,
    format_syntax_error,
    one_line,
)
from generators.sandbox.inside.sandbox_guard import _make_hook
from generators.sandbox.limits import SandboxLimits, build_env
from generators.sandbox.protocol import decode, encode

SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
PROVIDERS = ("OPENAI_", "ANTHROPIC_", "AWS_", "GOOGLE_", "AZURE_", "GEMINI_", "HF_", "LITELLM_")
names = st.text(alphabet=string.ascii_uppercase + "_", min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(names, st.text(max_size=10), max_size=30),
    st.sampled_from(SECRET_WORDS + PROVIDERS),
    names,
)
def test_build_env_never_passes_a_secret_or_provider_variable(extra, word, suffix):
    parent = {**extra, f"{word}{suffix}": "leak", f"{suffix}{word}": "leak", "PATH": "/usr/bin", "LANG": "C"}
    env = build_env(workdir="/tmp/w", parent_env=parent)
    assert "leak" not in env.values()
    assert set(env) <= {
        "PATH",
        "LANG",
        "LC_ALL",
        "PYTHONHASHSEED",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "HOME",
        "TMPDIR",
        "PYTHONDONTWRITEBYTECODE",
    }
    assert env["HOME"] == "/tmp/w" and "PYTHONPATH" not in env and env["PATH"] == "/usr/bin"


def test_limits_validate_and_round_trip():
    limits = SandboxLimits(wall_timeout_s=2.5, memory_mb=300)
    assert SandboxLimits.from_dict(limits.to_dict()) == limits
    with pytest.raises(ValueError, match="wall_timeout_s"):
        SandboxLimits(wall_timeout_s=0)
    with pytest.raises(ValueError, match="memory_mb"):
        SandboxLimits(memory_mb=0)
    for bad in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="wall_timeout_s"):
            SandboxLimits(wall_timeout_s=bad)
    with pytest.raises(ValueError, match="max_llm_prompts"):
        SandboxLimits(max_llm_prompts=0)


@given(st.dictionaries(st.text(max_size=5), st.one_of(st.text(), st.integers(), st.none()), max_size=5))
def test_protocol_round_trip_is_one_line(payload):
    message = {"t": "x", **payload} if "t" not in payload else {**payload, "t": "x"}
    line = encode(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode(line, max_bytes=10**6) == message


def test_protocol_rejects_oversized_and_malformed():
    with pytest.raises(ProtocolError, match="exceeds"):
        decode(encode({"t": "x", "s": "a" * 100}), max_bytes=50)
    with pytest.raises(ProtocolError, match="malformed"):
        decode(b"{nope\n", max_bytes=100)
    with pytest.raises(ProtocolError, match="without a type"):
        decode(b"[1, 2]\n", max_bytes=100)


def test_one_line_collapses_and_caps():
    assert one_line("a\n  b\tc") == "a b c"
    assert len(one_line("x" * 1000)) == 300


def test_format_syntax_error_and_exception_keep_program_frames():
    code = "def f():\n    return (\n"
    with pytest.raises(SyntaxError) as info:
        compile(code, PROGRAM_FILENAME, "exec")
    error, detail = format_syntax_error(info.value, code.splitlines())
    assert error.startswith("SyntaxError at line ") and PROGRAM_FILENAME in detail
    code = "def f(x):\n    return [1][x]\n"
    namespace: dict = {}
    exec(compile(code, PROGRAM_FILENAME, "exec"), namespace)
    with pytest.raises(IndexError) as info2:
        namespace["f"](5)
    error, detail = format_program_exception(info2.value, code.splitlines())
    assert error == "IndexError at line 2: list index out of range"
    assert "return [1][x]" in detail and "test_sandbox_units" not in detail
    assert len(format_program_exception(RuntimeError("y" * 5000), [])[1]) <= DETAIL_CAP


@pytest.fixture()
def hook(tmp_path):
    return _make_hook(
        workdir=str(tmp_path), deny_read=["/root", "/home"], allow_read=["/usr/lib/python3"]
    ), tmp_path


@pytest.mark.parametrize(
    "event, args",
    [
        ("socket.connect", (None, ("127.0.0.1", 80))),
        ("socket.getaddrinfo", ("example.com", 80, 0, 0, 0)),
        ("os.fork", ()),
        ("subprocess.Popen", ("sh", [], None, None)),
        ("os.system", (b"ls",)),
        ("ctypes.dlopen", ("libc.so.6",)),
        ("import", ("ctypes", None, [], [], [])),
        ("open", ("/etc/passwd", "w", 0)),
        ("open", ("/tmp/x", None, 0o101)),
        ("open", ("/root/.bashrc", "r", 0)),
        ("open", ("/proc/1/environ", "r", 0)),
        ("open", ("/home/u/.aws/credentials", "r", 0)),
        ("open", ("/srv/app/.env", "r", 0)),
        ("os.remove", ("/etc/hosts", -1)),
        ("os.rename", ("a", "/tmp/b", -1, -1)),
        ("os.chdir", ("/",)),
        ("resource.setrlimit", (9, (1, 1))),
        ("gc.get_objects", (None,)),
        ("code.__new__", ()),
    ],
)
def test_guard_refuses(hook, event, args):
    fn, _ = hook
    with pytest.raises(PermissionError, match="^sandbox: "):
        fn(event, args)


@pytest.mark.parametrize(
    "event, args",
    [
        ("open", ("notes.txt", "w", 0o1101)),
        ("open", ("/dev/null", "w", 0)),
        ("open", ("/etc/hostname", "r", 0)),
        ("open", ("/usr/lib/python3/json/__init__.py", "r", 0)),
        ("open", (3, "w", 1)),
        ("os.mkdir", ("sub", 0o777, -1)),
        ("os.rename", ("a", "sub/b", -1, -1)),
        ("import", ("json", None, [], [], [])),
        ("compile", (None, "<x>")),
        ("sys._getframe", (None,)),
    ],
)
def test_guard_allows(hook, event, args):
    fn, tmp = hook
    if event == "open" and args[0] == "notes.txt":
        args = (str(tmp / "notes.txt"),) + args[1:]
    fn(event, args)  # no exception


def test_guard_resists_str_subclass_tricks(hook):
    fn, tmp = hook

    class Sneaky(str):
        def startswith(self, *a):  # noqa: D401 - a lie
            return True

        def __str__(self):
            return str(tmp / "ok.txt")

    with pytest.raises(PermissionError):
        fn("open", (Sneaky("/etc/passwd"), "w", 0o1101))

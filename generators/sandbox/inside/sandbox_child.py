"""Sandbox child: the process that loads a generator program and runs its jobs.

Started by :mod:`generators.sandbox.parent` as
``python -I -S -B <this file> --in-fd A --out-fd B --workdir W --paths JSON --limits JSON
--strict 0|1 [--profile base|concordia]`` (the ``concordia`` profile, for programs that
import Concordia, runs on a Python >= 3.12 interpreter with gdm-concordia and preloads
Concordia's modules; see :mod:`sandbox_imports`). Its ``sys.path`` is this directory, the standard library and
the site-packages holding numpy/scipy/pyseccomp; nothing of the project is importable or
readable. Start-up order, before any program code runs:

1. namespaces and the relay fork (:func:`sandbox_confine.enter_namespaces`), rlimits;
2. read the ``start`` message (program text + jobs) from the pipe; import the modules the
   program may use (:mod:`sandbox_imports`);
3. confine: unprivileged uid, Landlock, seccomp (:mod:`sandbox_confine`); a strict
   sandbox that lacks a layer refuses to run the program;
4. start the pipe reader, send ``ready`` with the layers, install the friendly audit
   guard, compile and exec the program once, run the jobs on up to ``parallel`` threads,
   streaming each result as soon as it is known; send ``done`` and exit.

The program's stdout/stderr are the child's own (captured by the parent); the protocol
uses two dedicated pipe fds.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from typing import Any, Callable  # noqa: E402


def _parse_args(argv: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    it = iter(argv)
    for key in it:
        if not key.startswith("--"):
            raise SystemExit(f"sandbox child: unexpected argument {key!r}")
        out[key[2:]] = next(it)
    for need in ("in-fd", "out-fd", "limits", "workdir", "paths", "strict"):
        if need not in out:
            raise SystemExit(f"sandbox child: missing --{need}")
    return out


class Channel:
    """Child side of the pipe pair: a locked writer and a reader thread that routes
    replies to waiting LLM calls."""

    def __init__(self, in_fd: int, out_fd: int, max_message_bytes: int, pending_input: bytes = b"") -> None:
        self._in, self._out = in_fd, out_fd
        self._buffer = bytearray(pending_input)
        self.max_message_bytes = max_message_bytes
        self._write_lock = threading.Lock()
        self._pending: dict[int, list[Any]] = {}
        self._pending_lock = threading.Lock()
        self._next_id = 0
        self._closed = False
        self.on_snapshot: Callable[[], dict[str, str]] | None = None

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode() + b"\n"
        self.send_raw(data)

    def send_raw(self, data: bytes) -> None:
        view = memoryview(data)
        with self._write_lock:
            while view:
                written = os.write(self._out, view)
                view = view[written:]

    def start_reader(self) -> None:
        threading.Thread(target=self._read_loop, name="sandbox-reader", daemon=True).start()

    def llm_request(self, job: int, payload: dict[str, Any]) -> list[str]:
        from sandbox_runtime import LLMUnavailable

        event = threading.Event()
        slot: list[Any] = [event, None]
        with self._pending_lock:
            if self._closed:
                raise LLMUnavailable("llm: the connection to the parent is closed")
            self._next_id += 1
            request_id = self._next_id
            self._pending[request_id] = slot
        message = {"t": "llm", "id": request_id, "job": job, **payload}
        data = json.dumps(message, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode() + b"\n"
        if len(data) > self.max_message_bytes:
            with self._pending_lock:
                self._pending.pop(request_id, None)
            raise ValueError(
                f"llm request of {len(data)} bytes exceeds the {self.max_message_bytes}-byte cap"
            )
        try:
            self.send_raw(data)
        except OSError as exc:
            raise LLMUnavailable(f"llm: cannot reach the parent ({exc})") from None
        event.wait()
        reply = slot[1]
        if not isinstance(reply, dict) or "error" in reply:
            error = reply.get("error") if isinstance(reply, dict) else "no reply"
            raise LLMUnavailable(f"llm call failed: {error}")
        return list(reply["texts"])

    def _read_loop(self) -> None:
        buffer = self._buffer
        try:
            while True:
                while True:
                    cut = buffer.find(b"\n")
                    if cut < 0:
                        break
                    line = bytes(buffer[:cut])
                    del buffer[: cut + 1]
                    if line.strip():
                        self._dispatch(json.loads(line))
                chunk = os.read(self._in, 1 << 16)
                if not chunk:
                    break
                buffer += chunk
        except Exception:  # noqa: BLE001 - the parent is trusted; treat garbage as EOF
            pass
        with self._pending_lock:
            self._closed = True
            pending, self._pending = self._pending, {}
        for slot in pending.values():
            slot[1] = {"error": "the connection to the parent is closed"}
            slot[0].set()
        os._exit(70)  # the parent is gone (it only closes the pipe after killing us)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("t")
        if kind == "llm_reply":
            with self._pending_lock:
                slot = self._pending.pop(int(message["id"]), None)
            if slot is not None:
                slot[1] = message
                slot[0].set()
        elif kind == "snapshot" and self.on_snapshot is not None:
            try:
                self.send({"t": "snapshot", "stacks": self.on_snapshot()})
            except Exception:  # noqa: BLE001 - best effort
                pass


class LLMProxy:
    """The ``llm`` object a program receives (see :class:`generators.runtime.LLM`):
    each call becomes one request to the parent, which runs the prompts concurrently."""

    __slots__ = ("_channel", "_job")

    def __init__(self, channel: Channel, job: int) -> None:
        self._channel = channel
        self._job = job

    def complete(
        self,
        prompt: str,
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> str:
        """One prompt -> one reply text."""
        return self.complete_many([prompt], system=system, temperature=temperature, max_tokens=max_tokens)[0]

    def complete_many(
        self,
        prompts: Any,
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> list[str]:
        """Many prompts -> their replies, in order (the parent runs them concurrently)."""
        if isinstance(prompts, str):
            raise TypeError("llm.complete_many: prompts must be a list of strings, got a str")
        prompts = list(prompts)
        for i, prompt in enumerate(prompts):
            if not isinstance(prompt, str):
                raise TypeError(f"llm: prompt {i} is {type(prompt).__name__}, expected str")
        if system is not None and not isinstance(system, str):
            raise TypeError(f"llm: system is {type(system).__name__}, expected str or None")
        if temperature is not None:
            if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
                raise TypeError(f"llm: temperature is {type(temperature).__name__}, expected float or None")
            temperature = float(temperature)
        if max_tokens is not None:
            if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
                raise TypeError(f"llm: max_tokens is {type(max_tokens).__name__}, expected int or None")
            max_tokens = int(max_tokens)
        if not prompts:
            return []
        payload = {
            "prompts": [str.__str__(p) for p in prompts],
            "system": None if system is None else str.__str__(system),
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        return self._channel.llm_request(self._job, payload)

    def __repr__(self) -> str:
        return "<sandbox llm proxy>"


class PersonaNotJSON(ValueError):
    """A persona field is not JSON-serialisable."""


def _to_json(personas: list[dict[str, Any]], np: Any) -> list[dict[str, Any]]:
    """Plain-JSON copy of the personas (numpy scalars become Python numbers); raises
    ValueError naming the first persona/field that is not JSON-serialisable."""

    def default(obj: Any) -> Any:
        if isinstance(obj, np.generic):
            return obj.item()
        raise TypeError(type(obj).__name__)

    out = []
    for index, persona in enumerate(personas):
        for key, value in persona.items():
            try:
                json.dumps(value, default=default, allow_nan=False)
            except (TypeError, ValueError, RecursionError) as exc:
                what = str(exc) if isinstance(exc, TypeError) else "NaN/inf or too deep"
                raise PersonaNotJSON(
                    f"persona {index}: field {key!r} is not JSON-serialisable ({what})"
                ) from None
        out.append(json.loads(json.dumps(persona, default=default, allow_nan=False)))
    return out


def _run(channel: Channel, start: dict[str, Any], limits: Any, np: Any, workdir: str) -> None:  # noqa: C901
    import traceback
    import types
    from concurrent.futures import ThreadPoolExecutor

    from sandbox_errors import (
        PROGRAM_FILENAME,
        format_program_exception,
        format_stack_snapshot,
        format_syntax_error,
        one_line,
    )
    from sandbox_guard import install_guard
    from sandbox_runtime import ContextView, GeneratorOutputError, validate_personas

    code = str(start["code"])
    lines = code.splitlines()
    memory_msg = f"generate() exceeded the {limits['memory_mb']} MB memory limit"
    active: dict[int, str] = {}

    def snapshot() -> dict[str, str]:
        frames = sys._current_frames()
        out = {}
        for ident, label in list(active.items()):
            frame = frames.get(ident)
            if frame is not None:
                out[label] = format_stack_snapshot(traceback.extract_stack(frame), lines)
        return out

    channel.on_snapshot = snapshot
    if start.get("guard", True):
        allow = [p for p in sys.path if p] + [sys.prefix, sys.base_prefix, sys.exec_prefix]
        install_guard(workdir=workdir, deny_read=list(start.get("deny_read", [])), allow_read=allow)

    def load_error(error: str, detail: str) -> None:
        channel.send({"t": "load_error", "error": error, "detail": detail})

    try:
        compiled = compile(code, PROGRAM_FILENAME, "exec", dont_inherit=True)
    except SyntaxError as exc:
        load_error(*format_syntax_error(exc, lines))
        return
    except (ValueError, MemoryError, RecursionError) as exc:
        load_error(one_line(f"{type(exc).__name__}: cannot compile the program: {exc}"), str(exc)[:2000])
        return
    module = types.ModuleType("__generator__")
    module.__file__ = PROGRAM_FILENAME
    sys.modules["__generator__"] = module
    active[threading.get_ident()] = "load"
    try:
        exec(compiled, module.__dict__)
    except MemoryError as exc:
        _, detail = format_program_exception(exc, lines)
        load_error(
            f"MemoryError: loading the program exceeded the {limits['memory_mb']} MB memory limit", detail
        )
        return
    except BaseException as exc:  # noqa: BLE001 - hostile code may raise anything
        load_error(*format_program_exception(exc, lines, context=" (loading the program)"))
        return
    finally:
        active.pop(threading.get_ident(), None)
    generate = module.__dict__.get("generate")
    if not callable(generate):
        load_error(
            "program defines no generate(context, n, llm, rng) function",
            "The program must define a top-level function generate(context, n, llm, rng) -> list[dict].",
        )
        return
    channel.send({"t": "loaded"})

    def run_job(job: dict[str, Any]) -> None:
        index = int(job["index"])
        t0 = time.perf_counter()
        message: dict[str, Any] = {
            "t": "result",
            "job": index,
            "personas": None,
            "error": None,
            "detail": None,
        }
        active[threading.get_ident()] = str(index)
        try:
            n = int(job["n"])
            rng = np.random.default_rng(int(job["seed"]))
            context = ContextView.from_public_dict(job["context"])
            result = generate(context, n, LLMProxy(channel, index), rng)
            personas = validate_personas(result, n)
            message["personas"] = _to_json(personas, np)
        except GeneratorOutputError as exc:
            message["error"] = one_line(str(exc))
            message["detail"] = (
                f"{exc}\ngenerate(context, n, llm, rng) must return a list of n dicts with non-empty "
                "string 'name' and 'description'."
            )
        except PersonaNotJSON as exc:
            message["error"] = one_line(str(exc))
            message["detail"] = (
                f"{exc}\nPersona fields must be JSON-serialisable (str, int, float, bool, None, lists "
                "and dicts of these)."
            )
        except MemoryError as exc:
            message["error"] = f"MemoryError: {memory_msg}"
            message["detail"] = format_program_exception(exc, lines)[1]
        except BaseException as exc:  # noqa: BLE001
            message["error"], message["detail"] = format_program_exception(exc, lines)
        finally:
            active.pop(threading.get_ident(), None)
        message["wall_s"] = time.perf_counter() - t0
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - the program may have replaced or closed them
                pass
        try:
            data = (
                json.dumps(message, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()
                + b"\n"
            )
        except (TypeError, ValueError) as exc:
            data = (
                json.dumps(
                    {
                        "t": "result",
                        "job": index,
                        "personas": None,
                        "wall_s": message["wall_s"],
                        "error": one_line(f"result not encodable: {exc}"),
                        "detail": None,
                    }
                ).encode()
                + b"\n"
            )
        if len(data) > channel.max_message_bytes:
            data = (
                json.dumps(
                    {
                        "t": "result",
                        "job": index,
                        "personas": None,
                        "wall_s": message["wall_s"],
                        "error": (
                            f"output too large: {len(data)} bytes exceeds the "
                            f"{channel.max_message_bytes}-byte cap"
                        ),
                        "detail": None,
                    }
                ).encode()
                + b"\n"
            )
        channel.send_raw(data)

    jobs = list(start["jobs"])
    parallel = max(1, min(int(start.get("parallel", 1)), len(jobs) or 1))
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="sandbox-job") as pool:
        for future in [pool.submit(run_job, job) for job in jobs]:
            future.result()


def _read_start(in_fd: int, max_bytes: int) -> tuple[dict[str, Any] | None, bytes]:
    """Read the parent's first message (``start``) synchronously, before any thread
    exists. Returns it (None if the pipe closed or the message is not a start) and the
    bytes already read past it."""
    buffer = bytearray()
    while b"\n" not in buffer:
        chunk = os.read(in_fd, 1 << 16)
        if not chunk or len(buffer) > max_bytes:
            return None, b""
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    try:
        message = json.loads(line)
    except ValueError:
        return None, b""
    if not isinstance(message, dict) or message.get("t") != "start":
        return None, b""
    return message, rest


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns only on set-up failure (normally exits with ``os._exit``)."""
    args = _parse_args(list(sys.argv[1:] if argv is None else argv))
    in_fd, out_fd = int(args["in-fd"]), int(args["out-fd"])
    workdir, strict = args["workdir"], args["strict"] == "1"
    paths = json.loads(args["paths"])
    sys.path[:] = (
        [os.path.dirname(os.path.abspath(__file__))] + [p for p in sys.path if p] + list(paths["site"])
    )
    limits = json.loads(args["limits"])

    import sandbox_confine as confine

    was_root = os.geteuid() == 0
    layers = confine.enter_namespaces(close_in_relay=(in_fd, out_fd), cpu_limit_s=float(limits["cpu_time_s"]))
    relay_pid = int(layers.pop("relay", os.getpid()))
    confine.die_with_parent()
    layers["rlimits"] = confine.apply_rlimits(limits)
    start, rest = _read_start(in_fd, int(limits["max_message_bytes"]))
    if start is None:
        os._exit(3)

    import sandbox_imports

    sandbox_imports.set_profile(args.get("profile", "base"))
    import pathlib  # noqa: F401 - used by the guard
    import traceback  # noqa: F401 - used after confinement
    import types  # noqa: F401
    from concurrent.futures import ThreadPoolExecutor  # noqa: F401

    import sandbox_errors  # noqa: F401
    import sandbox_guard  # noqa: F401
    import sandbox_runtime  # noqa: F401 - the program may import it

    preload_failures = sandbox_imports.preload(sandbox_imports.named_imports(str(start.get("code", ""))))
    import numpy as np

    layers["imports"] = "preloaded; any other import is refused"
    read_only = list(paths["read_only"])
    try:
        confine.import_pyseccomp()  # import (and its library lookup) before confinement
    except Exception as exc:  # noqa: BLE001
        layers["seccomp"] = f"unavailable: pyseccomp: {type(exc).__name__}: {exc}"
    import sandbox_root

    unreadable: tuple[str, str] | None = None
    if not confine.single_threaded():
        layers["landlock"] = "unavailable: the process already had several threads"
    else:
        try:
            layers["root"] = sandbox_root.enter_own_root(
                read_only=read_only, workdir=workdir, disk_mb=int(limits.get("disk_mb", 64))
            )
        except OSError as exc:
            layers["root"] = f"unavailable: {exc}"
        try:
            layers["uid"] = confine.drop_privileges(workdir, relay_pid)
        except OSError as exc:
            layers["uid"] = f"unavailable: {exc}"
        confine.die_with_parent()
        unreadable = sandbox_root.unreadable(read_only)
        try:
            if "landlock" in paths.get("force_missing", ()):  # tests simulate an old kernel
                raise OSError("simulated: kernel without Landlock (test)")
            layers["landlock"] = confine.apply_landlock(workdir=workdir, read_only=read_only)
        except OSError as exc:
            layers["landlock"] = f"unavailable: {exc}"
    if "seccomp" not in layers:
        try:
            layers["seccomp"] = confine.apply_seccomp()
        except Exception as exc:  # noqa: BLE001
            layers["seccomp"] = f"unavailable: {type(exc).__name__}: {exc}"
    sandbox_imports.install_policy()
    missing = confine.missing_layers(layers, root=was_root)

    for stream in (sys.stdout, sys.stderr):  # the tail must survive a kill
        try:
            stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            pass
    channel = Channel(in_fd, out_fd, int(limits["max_message_bytes"]), pending_input=rest)
    channel.start_reader()
    channel.send(
        {
            "t": "ready",
            "startup_s": time.perf_counter() - _T0,
            "layers": layers,
            "missing": missing,
            "uid": os.getuid(),
            "euid": os.geteuid(),
        }
    )
    if missing and strict:
        channel.send(
            {
                "t": "load_error",
                "error": "sandbox: kernel isolation incomplete ("
                + "; ".join(f"{m}: {layers.get(m, 'absent')}" for m in missing)
                + "); LLM-written programs are not evaluated here without --weak-sandbox",
                "detail": "The kernel lacks an isolation layer the sandbox requires.",
            }
        )
        os._exit(0)
    if unreadable is not None:
        path, why = unreadable
        channel.send(
            {
                "t": "load_error",
                "error": f"sandbox: uid {os.getuid()} cannot read {path} ({why}); the interpreter and its "
                "packages must be readable by the sandbox's unprivileged user",
                "detail": "The sandbox runs programs as an unprivileged uid that sees only the interpreter's "
                "standard library and the allowed packages (read-only). A tree installed with a "
                "private umask (files or directories without read access for others) cannot be "
                "read by it; reinstall it with umask 022 or make that tree world-readable.",
            }
        )
        os._exit(0)
    if preload_failures:
        channel.send(
            {
                "t": "load_error",
                "error": "ImportError (loading the program): " + preload_failures[0],
                "detail": "\n".join(preload_failures),
            }
        )
        os._exit(0)
    try:
        _run(channel, start, limits, np, workdir)
        channel.send({"t": "done"})
    except BaseException as exc:  # noqa: BLE001 - report, then exit
        try:
            sys.stderr.write(f"sandbox child: {type(exc).__name__}: {exc}\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
        os._exit(4)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    os._exit(0)


if __name__ == "__main__":
    main()

"""Parent side of the sandbox: run a generator program on many jobs in one child process.

:func:`run_generator_async` starts one child (``python -I -S -B inside/sandbox_child.py``)
per call, in its own session / process group, with a clean allow-list environment and a
fresh temporary working directory; the child confines itself with kernel mechanisms
before any program code runs (see :mod:`generators.sandbox.inside.sandbox_confine`). The
parent sends the program and the jobs over a dedicated pipe, serves the program's ``llm``
requests within caps (prompts per request, prompts per call, characters in flight),
parses every message strictly (no NaN/Infinity, bounded sizes, one result per known
job), and on the wall timeout kills the whole process group (``killpg(SIGKILL)``) and
reaps it; a watchdog thread enforces the same deadline even if this event loop is
starved. It never raises for anything the program does: every failure becomes a
:class:`JobResult` with a one-line ``error`` and a ``detail`` for the mutator.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

from generators.sandbox.child_paths import child_paths, concordia_launch, deny_read_prefixes
from generators.sandbox.errors import ProtocolError, cap_detail, one_line
from generators.sandbox.inside.sandbox_imports import needs_concordia
from generators.sandbox.inside.sandbox_runtime import GeneratorOutputError, validate_personas
from generators.sandbox.limits import SandboxLimits, build_env
from generators.sandbox.protocol import decode, encode

CHILD_PATH = str(Path(__file__).resolve().parent / "inside" / "sandbox_child.py")
MEMORY_SIGNALS = (signal.SIGKILL, signal.SIGSEGV, signal.SIGBUS)
_WATCHDOG_GRACE_S = 2.0
"""Seconds past the wall timeout after which the watchdog thread kills the group even if
the event loop never got to it."""


@dataclass(frozen=True, kw_only=True)
class GenerationJob:
    """One call of ``generate``: ``context`` is ``Context.public_dict()`` (JSON), ``n`` the
    number of personas wanted, ``seed`` seeds ``numpy.random.default_rng``."""

    context: Mapping[str, Any]
    n: int
    seed: int


@dataclass(frozen=True, kw_only=True)
class JobResult:
    """Outcome of one job. Exactly one of ``personas`` / ``error`` is not None.

    ``error`` is one line (e.g. ``"timeout: generate() exceeded the 5.0 s wall limit"``);
    ``detail`` the useful part of the traceback (program frames, line numbers of the
    program text, the exception line; <= ~2000 chars). ``wall_s`` is the job's wall time
    in seconds (for unfinished jobs, the time until the child was stopped);
    ``llm_calls`` the number of prompts it sent; ``stdout_tail`` the tail of the child's
    combined stdout/stderr (shared by all jobs of the call, <= ``max_output_bytes``);
    ``isolation`` the isolation layers that were active.
    """

    personas: list[dict[str, Any]] | None
    error: str | None
    detail: str | None
    wall_s: float
    llm_calls: int
    stdout_tail: str = ""
    isolation: tuple[str, ...] = ()


class LLMHandler(Protocol):
    """Makes the real LLM calls for a sandboxed program (awaited concurrently).

    Returns one reply text per prompt, in order. An exception becomes an
    ``LLMUnavailable`` error raised inside the program's ``llm`` call.
    """

    async def __call__(
        self,
        prompts: list[str],
        *,
        system: str | None,
        temperature: float | None,
        max_tokens: int | None,
        job_index: int,
    ) -> list[str]: ...


_MESSAGE_KEYS: dict[str, set[str]] = {
    "ready": {"t", "startup_s", "layers", "missing", "uid", "euid"},
    "loaded": {"t"},
    "load_error": {"t", "error", "detail"},
    "llm": {"t", "id", "job", "prompts", "system", "temperature", "max_tokens"},
    "result": {"t", "job", "personas", "error", "detail", "wall_s"},
    "snapshot": {"t", "stacks"},
    "done": {"t"},
}
"""The fields each child -> parent message may carry; anything else is a protocol error."""


class _Watchdog:
    """Kills a process group at a deadline from its own thread, whatever the event loop
    is doing (the loop may be starved by a flood of requests; the deadline holds)."""

    def __init__(self, pid: int, seconds: float) -> None:
        self._timer = threading.Timer(max(0.0, seconds), self._kill, args=(pid,))
        self._timer.daemon = True
        self.fired = False
        self._timer.start()

    def _kill(self, pid: int) -> None:
        self.fired = True
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def cancel(self) -> None:
        self._timer.cancel()


class _Session:
    """One child process running all jobs of one call."""

    def __init__(
        self,
        code: str,
        jobs: list[GenerationJob],
        llm: LLMHandler,
        limits: SandboxLimits,
        parallel: int,
        guard: bool,
        trusted: bool = False,
        launch: tuple[str, str, dict[str, list[str]]] | None = None,
    ) -> None:
        self.code, self.jobs, self.llm, self.limits = code, jobs, llm, limits
        self.paths: dict[str, list[str]] | None
        self.python, self.profile, self.paths = launch or (sys.executable, "base", None)
        self.parallel, self.guard = max(1, int(parallel)), guard
        self.strict = not (trusted or limits.allow_weak_isolation)
        self.prompts_requested = 0
        self.inflight_chars = 0
        self.abort_reason: str | None = None  # set when the parent stops the child (unread replies)
        self.inflight_changed = asyncio.Event()
        self.seen: set[str] = set()
        self.missing: list[str] = []
        self.results: dict[int, JobResult] = {}
        self.llm_calls = [0] * len(jobs)
        self.layers: dict[str, str] = {}
        self.startup_s: float | None = None
        self.loaded = False
        self.stacks: dict[str, str] = {}
        self.out_tail = bytearray()
        self.proc: asyncio.subprocess.Process | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.transport: asyncio.WriteTransport | None = None
        self.t0 = 0.0

    # -- helpers -----------------------------------------------------------------
    def _elapsed(self) -> float:
        return asyncio.get_running_loop().time() - self.t0

    def _send(self, message: dict[str, Any]) -> None:
        if self.transport is None or self.abort_reason is not None:
            return
        if self.transport.is_closing():
            if message.get("t") == "llm_reply" and self.abort_reason is None:
                # the child closed the pipe its replies arrive on: its requests can never be answered
                self.abort_reason = (
                    "protocol: the program closed the pipe its llm replies arrive on; it was stopped"
                )
                self._kill_group()
            return
        self.transport.write(encode(message))
        unread = self.transport.get_write_buffer_size()
        if unread > self.limits.max_unread_bytes and self.abort_reason is None:
            # the child stopped reading its replies: end it rather than buffer without bound
            self.abort_reason = (
                f"protocol: the program stopped reading its llm replies ({unread} bytes unread, "
                f"cap {self.limits.max_unread_bytes}); it was stopped"
            )
            self._kill_group()

    def _isolation(self) -> tuple[str, ...]:
        layers = [
            "process group (new session, killpg on timeout, watchdog thread)",
            "env allow-list",
            "fresh tmp cwd",
        ]
        layers += [f"{k}: {v}" for k, v in sorted(self.layers.items())]
        if self.guard:
            layers.append("audit guard (friendly errors only)")
        if self.missing:
            layers.append("WEAK: missing " + ", ".join(self.missing))
        return tuple(layers)

    def _stdout_tail(self) -> str:
        return bytes(self.out_tail[-self.limits.max_output_bytes :]).decode("utf-8", "replace")

    def _fail_unfinished(
        self, error: str, detail: str | None, per_job: Mapping[str, str] | None = None
    ) -> None:
        for index in range(len(self.jobs)):
            if index not in self.results:
                job_detail = detail
                if per_job and per_job.get(str(index)):
                    job_detail = "job was still running here when it was stopped:\n" + per_job[str(index)]
                self.results[index] = self._result(
                    index, error=error, detail=job_detail, wall_s=self._elapsed()
                )

    def _result(
        self,
        index: int,
        *,
        personas: list[dict[str, Any]] | None = None,
        error: str | None = None,
        detail: str | None = None,
        wall_s: float = 0.0,
    ) -> JobResult:
        return JobResult(
            personas=personas,
            error=error,
            detail=detail,
            wall_s=float(wall_s),
            llm_calls=self.llm_calls[index],
            stdout_tail="",
            isolation=(),
        )

    # -- child I/O -----------------------------------------------------------------
    async def _capture(self, stream: asyncio.StreamReader) -> None:
        cap = self.limits.max_output_bytes
        while True:
            chunk = await stream.read(1 << 16)
            if not chunk:
                return
            self.out_tail += chunk
            if len(self.out_tail) > 2 * cap:
                del self.out_tail[:-cap]

    async def _serve_llm(self, message: dict[str, Any], chars: int) -> None:
        request_id = message.get("id")
        if self.abort_reason is not None:  # the child is being stopped: serve nothing more
            self.inflight_chars -= chars
            self.inflight_changed.set()
            return
        try:
            prompts: list[str] = message["prompts"]  # a list of strings: _check_llm_request ran first
            system, temperature, max_tokens = (
                message.get("system"),
                message.get("temperature"),
                message.get("max_tokens"),
            )
            if system is not None and not isinstance(system, str):
                raise ProtocolError("llm request with a non-string system prompt")
            if temperature is not None and (
                isinstance(temperature, bool) or not isinstance(temperature, (int, float))
            ):
                raise ProtocolError("llm request with a non-numeric temperature")
            if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)):
                raise ProtocolError("llm request with a non-integer max_tokens")
            if max_tokens is not None:
                max_tokens = max(1, min(max_tokens, self.limits.max_completion_tokens))
            texts = await self.llm(
                list(prompts),
                system=system,
                temperature=temperature,
                max_tokens=max_tokens,
                job_index=int(message["job"]),
            )
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise TypeError(f"LLM handler returned {type(texts).__name__}, expected list[str]")
            if len(texts) != len(prompts):
                raise ValueError(f"LLM handler returned {len(texts)} replies for {len(prompts)} prompts")
            reply: dict[str, Any] = {"t": "llm_reply", "id": request_id, "texts": texts}
            size = len(encode(reply))
            if size > self.limits.max_reply_bytes:
                raise ValueError(
                    f"the reply of {size} bytes exceeds the {self.limits.max_reply_bytes}-byte cap "
                    "(ask for less per request)"
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - becomes LLMUnavailable in the program
            reply = {
                "t": "llm_reply",
                "id": request_id,
                "error": one_line(f"{type(exc).__name__}: {exc}", 500),
            }
        finally:
            self.inflight_chars -= chars
            self.inflight_changed.set()
        self._send(reply)

    def _check_llm_request(self, message: dict[str, Any]) -> tuple[int, str | None]:
        """Validate an ``llm`` request against the caps. Returns (characters of its
        prompts, refusal reason or None). Raises :class:`ProtocolError` when the
        per-call prompt cap is exceeded (that ends the evaluation)."""
        limits = self.limits
        prompts = message.get("prompts")
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise ProtocolError("protocol: llm request without a list of string prompts")
        refusal = None
        if len(prompts) > limits.max_prompts_per_request:
            refusal = (
                f"llm: {len(prompts)} prompts in one request exceeds the cap of "
                f"{limits.max_prompts_per_request}; split the request"
            )
        elif max((len(p) for p in prompts), default=0) > limits.max_prompt_chars:
            longest = max(len(p) for p in prompts)
            refusal = f"llm: a prompt of {longest} characters exceeds the cap of {limits.max_prompt_chars}"
        # a refused request counts as one prompt, so a loop of refusals also ends at the cap
        self.prompts_requested += 1 if refusal else len(prompts)
        if self.prompts_requested > limits.max_llm_prompts:
            raise ProtocolError(
                f"llm: the program asked for more than {limits.max_llm_prompts} prompts in one "
                f"evaluation (the cap); it was stopped"
            )
        if refusal:
            return 0, refusal
        system = message.get("system")
        return sum(len(p) for p in prompts) + (len(system) if isinstance(system, str) else 0), None

    def _job_index(self, message: dict[str, Any]) -> int:
        index = message.get("job")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.jobs):
            raise ProtocolError(f"protocol: message for unknown job {index!r}")
        return index

    def _handle(self, message: dict[str, Any]) -> str | None:
        """Process one message; returns "load_error" / "done" to end the loop."""
        kind = message["t"]
        allowed = _MESSAGE_KEYS.get(kind)
        if allowed is None:
            raise ProtocolError(f"protocol: unknown message type {kind!r}")
        extra = set(message) - allowed
        if extra:
            raise ProtocolError(f"protocol: unexpected field(s) {sorted(extra)} in a {kind!r} message")
        if kind in ("ready", "loaded", "load_error", "done"):
            if kind in self.seen:
                raise ProtocolError(f"protocol: a second {kind!r} message")
            self.seen.add(kind)
        if kind != "ready" and "ready" not in self.seen:
            raise ProtocolError(f"protocol: {kind!r} before 'ready'")
        if kind in ("llm", "result") and self.strict and self.missing:  # the child should have refused
            raise ProtocolError(
                f"protocol: a {kind!r} message from a sandbox that reported missing isolation layers"
            )
        if kind == "ready":
            self.startup_s = self._elapsed()
            layers = message.get("layers")
            if isinstance(layers, dict):
                self.layers = {str(k): one_line(str(v), 200) for k, v in list(layers.items())[:20]}
            missing = message.get("missing")
            if isinstance(missing, list):
                self.missing = [one_line(str(m), 80) for m in missing[:20]]
        elif kind == "loaded":
            self.loaded = True
        elif kind == "load_error":
            error = one_line(str(message.get("error") or "the program could not be loaded"))
            detail = message.get("detail")
            self._fail_unfinished(error, cap_detail(str(detail)) if detail else None)
            return "load_error"
        elif kind == "llm":
            index = self._job_index(message)
            chars, refusal = self._check_llm_request(message)
            if refusal is not None:
                self._send({"t": "llm_reply", "id": message.get("id"), "error": refusal})
                return None
            self.llm_calls[index] += len(message["prompts"])
            self.inflight_chars += chars
            task = asyncio.get_running_loop().create_task(self._serve_llm(message, chars))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif kind == "result":
            index = self._job_index(message)
            if index in self.results:
                raise ProtocolError(f"protocol: second result for job {index}")
            reported = message.get("wall_s")
            wall = (
                float(reported)
                if isinstance(reported, (int, float)) and not isinstance(reported, bool)
                else self._elapsed()
            )
            wall = min(max(wall, 0.0), self._elapsed())
            failure = message.get("error")
            if failure is not None:
                detail = message.get("detail")
                self.results[index] = self._result(
                    index,
                    error=one_line(str(failure)),
                    detail=cap_detail(str(detail)) if detail else None,
                    wall_s=wall,
                )
            else:
                try:  # re-check in the trusted process: the child's word is not enough
                    personas = validate_personas(message.get("personas"), self.jobs[index].n)
                    self.results[index] = self._result(index, personas=personas, wall_s=wall)
                except GeneratorOutputError as exc:
                    self.results[index] = self._result(
                        index, error=one_line(str(exc)), detail=str(exc), wall_s=wall
                    )
        elif kind == "snapshot":
            stacks = message.get("stacks")
            if isinstance(stacks, dict):
                self.stacks = {str(k): cap_detail(str(v)) for k, v in stacks.items()}
        elif kind == "done":
            return "done"
        return None

    async def _snapshot_later(self, when: float) -> None:
        await asyncio.sleep(max(0.0, when - asyncio.get_running_loop().time()))
        self._send({"t": "snapshot"})

    # -- the run -------------------------------------------------------------------
    async def run(self) -> list[JobResult]:
        loop = asyncio.get_running_loop()
        self.t0 = loop.time()
        limits = self.limits
        deadline = self.t0 + float(limits.wall_timeout_s)
        workdir = os.path.realpath(tempfile.mkdtemp(prefix="persona-sandbox-"))
        own_fds: list[int] = []
        capture: asyncio.Task[None] | None = None
        watchdog: _Watchdog | None = None
        try:
            start = encode(
                {
                    "t": "start",
                    "code": self.code,
                    "parallel": self.parallel,
                    "workdir": workdir,
                    "deny_read": deny_read_prefixes(),
                    "guard": self.guard,
                    "jobs": [
                        {"index": i, "context": dict(j.context), "n": int(j.n), "seed": int(j.seed)}
                        for i, j in enumerate(self.jobs)
                    ],
                }
            )
            c2p_r, c2p_w = os.pipe()
            own_fds += [c2p_r, c2p_w]
            p2c_r, p2c_w = os.pipe()
            own_fds += [p2c_r, p2c_w]
            cmd = [
                self.python,
                "-I",
                "-S",
                "-B",
                CHILD_PATH,
                "--in-fd",
                str(p2c_r),
                "--out-fd",
                str(c2p_w),
                "--workdir",
                workdir,
                "--paths",
                json.dumps(self.paths or await loop.run_in_executor(None, child_paths)),
                "--limits",
                json.dumps(limits.to_dict()),
                "--strict",
                "1" if self.strict else "0",
                "--profile",
                self.profile,
            ]
            self.proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=workdir,
                env=build_env(workdir=workdir),
                pass_fds=(p2c_r, c2p_w),
                start_new_session=True,
                close_fds=True,
            )
            watchdog = _Watchdog(self.proc.pid, float(limits.wall_timeout_s) + _WATCHDOG_GRACE_S)
            for fd in (p2c_r, c2p_w):
                os.close(fd)
                own_fds.remove(fd)
            assert self.proc.stdout is not None
            capture = loop.create_task(self._capture(self.proc.stdout))
            reader = asyncio.StreamReader(limit=limits.max_message_bytes + 2)
            await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(c2p_r, "rb", 0)
            )
            own_fds.remove(c2p_r)
            self.transport, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(p2c_w, "wb", 0))
            own_fds.remove(p2c_w)
            self.transport.write(start)
            margin = min(0.5, 0.2 * float(limits.wall_timeout_s))
            snap = loop.create_task(self._snapshot_later(deadline - margin))
            self.tasks.add(snap)
            end = await self._loop(reader, deadline)
            await self._finish(end, capture)
        finally:
            self._kill_group()
            if watchdog is not None:
                watchdog.cancel()
            for task in list(self.tasks):
                task.cancel()
            if self.proc is not None:
                try:
                    await asyncio.wait_for(self.proc.wait(), 5.0)
                except (asyncio.TimeoutError, ProcessLookupError):
                    pass
            if capture is not None:
                try:
                    await asyncio.wait_for(capture, 1.0)
                except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                    capture.cancel()
            if self.transport is not None:
                self.transport.close()
            for fd in own_fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(workdir, ignore_errors=True)
        tail, isolation = self._stdout_tail(), self._isolation()
        return [
            JobResult(
                personas=r.personas,
                error=r.error,
                detail=r.detail,
                wall_s=r.wall_s,
                llm_calls=self.llm_calls[i],
                stdout_tail=tail,
                isolation=isolation,
            )
            for i, r in sorted(self.results.items())
        ]

    async def _loop(self, reader: asyncio.StreamReader, deadline: float) -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        while len(self.results) < len(self.jobs):
            if self.abort_reason is not None:
                return ("protocol", self.abort_reason)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return ("timeout", "")
            if self.inflight_chars > self.limits.max_inflight_chars:  # backpressure: stop reading
                self.inflight_changed.clear()
                try:
                    await asyncio.wait_for(self.inflight_changed.wait(), remaining)
                except asyncio.TimeoutError:
                    return ("timeout", "")
                continue
            try:
                line = await asyncio.wait_for(reader.readline(), remaining)
            except asyncio.TimeoutError:
                return ("timeout", "")
            except (ValueError, asyncio.LimitOverrunError):
                return (
                    "protocol",
                    (
                        "protocol: a message from the sandbox exceeded the "
                        f"{self.limits.max_message_bytes}-byte cap"
                    ),
                )
            if not line:
                return ("eof", "")
            try:
                outcome = self._handle(decode(line, max_bytes=self.limits.max_message_bytes))
            except ProtocolError as exc:
                return ("protocol", one_line(str(exc)))
            except (KeyError, TypeError, ValueError) as exc:
                return (
                    "protocol",
                    one_line(f"protocol: bad message from the sandbox ({type(exc).__name__}: {exc})"),
                )
            if outcome == "load_error":
                return ("complete", "")
            if outcome == "done":
                return ("eof", "") if len(self.results) < len(self.jobs) else ("complete", "")
        return ("complete", "")

    async def _finish(self, end: tuple[str, str], capture: asyncio.Task[None]) -> None:
        kind, message = end
        limits = self.limits
        if kind == "complete":
            return
        if self.abort_reason is not None:
            self._kill_group()
            self._fail_unfinished(self.abort_reason, None)
            return
        if kind == "timeout":
            self._kill_group()
            if self.startup_s is None:
                error = f"timeout: the sandbox did not start within the {limits.wall_timeout_s} s wall limit"
            elif not self.loaded:
                error = f"timeout: loading the program exceeded the {limits.wall_timeout_s} s wall limit"
            else:
                error = f"timeout: generate() exceeded the {limits.wall_timeout_s} s wall limit"
            stacks = dict(self.stacks)
            if not self.loaded and stacks.get("load"):
                stacks = {str(i): stacks["load"] for i in range(len(self.jobs))}
            self._fail_unfinished(
                error, f"The run was stopped after {limits.wall_timeout_s} s of wall time.", stacks
            )
            return
        if kind == "protocol":
            self._kill_group()
            self._fail_unfinished(message, None)
            return
        # eof: the child ended (or closed the pipe) before every job had a result
        assert self.proc is not None
        try:
            await asyncio.wait_for(
                self.proc.wait(),
                max(0.1, min(2.0, self.t0 + limits.wall_timeout_s - asyncio.get_running_loop().time())),
            )
        except asyncio.TimeoutError:
            self._kill_group()
            await self.proc.wait()
            self._fail_unfinished("sandbox: the child closed its pipe before generate() returned", None)
            return
        try:
            await asyncio.wait_for(asyncio.shield(capture), 0.5)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001
            pass
        rc = self.proc.returncode
        tail = self._stdout_tail()[-1500:]
        phase = (
            "generate()"
            if self.loaded
            else (
                "loading the program"
                if self.startup_s is not None
                else "start-up (before the program was loaded)"
            )
        )
        if rc is not None and rc < 0 and -rc == signal.SIGXCPU:
            error = f"CPU limit: {phase} exceeded the {limits.cpu_time_s} s CPU-time limit"
        elif rc is not None and rc < 0 and -rc in MEMORY_SIGNALS:
            error = (
                f"MemoryError: {phase} exceeded the {limits.memory_mb} MB memory limit "
                f"(the sandbox process was killed by {signal.Signals(-rc).name})"
            )
        elif rc is not None and rc < 0:
            error = f"sandbox: the child was killed by {signal.Signals(-rc).name} during {phase}"
        else:
            error = f"sandbox: the child exited with code {rc} during {phase}"
            cause = _last_line(tail)
            if cause and self.startup_s is None:  # the child's own start-up failed: name why
                error += f": {cause}"
        self._fail_unfinished(error, f"output tail:\n{tail}" if tail.strip() else None)

    def _kill_group(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _last_line(text: str) -> str:
    """The last non-empty line of ``text`` (a traceback's exception line), one line, at most
    300 characters; empty if there is none."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return one_line(lines[-1])[:300] if lines else ""


async def _run_sandbox(
    code: str,
    jobs: Sequence[GenerationJob],
    *,
    llm: LLMHandler,
    limits: SandboxLimits,
    parallel: int,
    guard: bool = True,
    trusted: bool = False,
) -> tuple[list[JobResult], _Session | None]:
    jobs = list(jobs)
    session: _Session | None = None
    try:
        if not isinstance(code, str):
            raise TypeError(f"code must be str, got {type(code).__name__}")
        if not jobs:
            return [], None
        launch = None
        if needs_concordia(code):  # a Concordia generator: Python >= 3.12 with gdm-concordia
            try:
                python, paths = await asyncio.get_running_loop().run_in_executor(None, concordia_launch)
            except Exception as exc:  # noqa: BLE001 - ConcordiaUnavailable or a failed probe: one line per job
                error = one_line(str(exc), 600)  # our own message, whole: it names the variable to set
                return [
                    JobResult(personas=None, error=error, detail=error, wall_s=0.0, llm_calls=0) for _ in jobs
                ], None
            launch = (python, "concordia", paths)
        session = _Session(code, jobs, llm, limits, parallel, guard, trusted, launch)
        return await session.run(), session
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the calling process never crashes
        error = one_line(f"sandbox: internal error: {type(exc).__name__}: {exc}")
        detail = cap_detail("".join(traceback.format_exception(exc)))
        return [
            JobResult(personas=None, error=error, detail=detail, wall_s=0.0, llm_calls=0) for _ in jobs
        ], session


async def run_generator_async(
    code: str,
    jobs: Sequence[GenerationJob],
    *,
    llm: LLMHandler,
    limits: SandboxLimits = SandboxLimits(),
    parallel: int = 4,
    trusted: bool = False,
) -> list[JobResult]:
    """Run the program ``code`` on ``jobs`` in one sandboxed child process.

    Jobs run on up to ``parallel`` threads in the child; their ``llm`` calls are served
    here by awaiting ``llm`` concurrently. Returns one :class:`JobResult` per job, in job
    order; never raises for anything the program does (failures are in ``error``).
    ``limits.wall_timeout_s`` bounds the whole call. Where the kernel lacks an isolation
    layer, the program is refused (a ``sandbox: kernel isolation incomplete`` error on
    every job) unless ``trusted`` (a shipped seed) or ``limits.allow_weak_isolation``.
    """
    results, _ = await _run_sandbox(code, jobs, llm=llm, limits=limits, parallel=parallel, trusted=trusted)
    return results


def run_generator(
    code: str,
    jobs: Sequence[GenerationJob],
    *,
    llm: LLMHandler,
    limits: SandboxLimits = SandboxLimits(),
    parallel: int = 4,
    trusted: bool = False,
) -> list[JobResult]:
    """Synchronous wrapper of :func:`run_generator_async` (its own event loop; from inside
    a running loop it runs in a helper thread)."""

    def run() -> list[JobResult]:
        return asyncio.run(
            run_generator_async(code, jobs, llm=llm, limits=limits, parallel=parallel, trusted=trusted)
        )

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


_PROBE_PROGRAM = "def generate(context, n, llm, rng):\n    return [{'name': 'p', 'description': 'd'}] * n\n"
_isolation_cache: dict[str, Any] | None = None


async def _no_llm(prompts: list[str], **_: Any) -> list[str]:
    raise RuntimeError("the isolation probe has no LLM")


def isolation_report(*, refresh: bool = False) -> dict[str, Any]:
    """Run a trivial program once and report the isolation layers active on this machine.

    Returns ``{"layers": [str, ...], "startup_s": float | None, "error": str | None}``;
    ``startup_s`` is child spawn -> ready (interpreter + numpy import + limits), seconds.
    Cached after the first call unless ``refresh``.
    """
    global _isolation_cache
    if _isolation_cache is not None and not refresh:
        return _isolation_cache
    job = GenerationJob(context={"id": "probe", "description": "probe", "axes": []}, n=1, seed=0)

    async def probe() -> dict[str, Any]:
        results, session = await _run_sandbox(
            _PROBE_PROGRAM, [job], llm=_no_llm, limits=SandboxLimits(wall_timeout_s=30.0), parallel=1
        )
        return {
            "layers": list(results[0].isolation),
            "error": results[0].error,
            "startup_s": session.startup_s if session is not None else None,
        }

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        report = pool.submit(lambda: asyncio.run(probe())).result()
    report["missing"] = [
        line.split("missing ", 1)[1] for line in report["layers"] if line.startswith("WEAK: missing ")
    ]
    _isolation_cache = report
    return report

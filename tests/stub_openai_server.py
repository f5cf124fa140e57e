"""A stdlib OpenAI-compatible chat-completions stub server on 127.0.0.1, for tests.

Serves ``POST /v1/chat/completions`` (and ``/chat/completions``) with a configurable reply,
usage tokens, optional latency and scripted failures; records every request.

    from stub_openai_server import StubServer
    with StubServer(reply="hello", failures=[429, 500]) as srv:
        # call litellm with model="openai/stub-model", api_base=srv.base_url, api_key="sk-stub"
        ...
        srv.requests          # list of recorded requests (path, headers, body)
        srv.max_in_flight     # most requests handled at once

For runs against the stub: :class:`MutationScript` answers mutation prompts with
SEARCH/REPLACE edits of the program in the prompt (valid ones, ones that do not apply,
fenced, wrapped in prose, empty, in turn); :class:`SimReplies` answers persona and
respondent prompts through the simulated world (so populations and answers are realistic)
and mutation prompts through a script; :class:`ObedientReplies` is a respondent that obeys
any answering instruction it reads anywhere in the conversation (persona text included), as
a naive chat model does, and otherwise answers as :class:`SimReplies`; :func:`role_of` tells
the roles apart.

Runnable: ``python tests/stub_openai_server.py --port 8000 --reply hi --fail 429,500
--latency 0.1`` prints the base URL and serves until interrupted.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "StubServer",
    "RecordedRequest",
    "MutationScript",
    "ObedientReplies",
    "SimReplies",
    "obeyed_answers",
    "role_of",
]

Reply = str | Callable[[list[dict[str, Any]]], str]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_api_key",
    403: "permission_denied",
    404: "model_not_found",
    408: "timeout",
    429: "rate_limit_exceeded",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: path, lower-cased headers, parsed JSON body, and the status sent."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int
    received_at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of the request ([] if absent)."""
        return list(self.body.get("messages") or [])


def _estimate(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


class StubServer:
    """OpenAI-compatible stub; a context manager that serves in a background thread.

    Args:
        reply: fixed text, or a callable ``messages -> text``.
        failures: HTTP status codes to answer with, one per request, before answering normally
            (e.g. ``[429, 500]``: first request 429, second 500, then 200).
        latency_s: seconds to sleep before answering each request (failures included).
        prompt_tokens / completion_tokens: usage to report; default ``ceil(chars / 4)``.
        response_model: ``model`` field of responses; default: the requested model.
        host / port: bind address; port 0 picks a free port.
    """

    def __init__(
        self,
        reply: Reply = "stub reply",
        *,
        failures: Iterable[int] = (),
        latency_s: float = 0.0,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        response_model: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.reply = reply
        self.latency_s = latency_s
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.response_model = response_model
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._failures: collections.deque[int] = collections.deque(failures)
        self._lock = threading.Lock()
        self._counter = 0
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------- configuration
    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """Base URL including ``/v1``, for ``api_base``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def fail_next(self, statuses: Iterable[int]) -> None:
        """Queue more failure status codes for the next requests."""
        with self._lock:
            self._failures.extend(statuses)

    @property
    def pending_failures(self) -> int:
        """Failures still queued."""
        with self._lock:
            return len(self._failures)

    # -------------------------------------------------------------- lifecycle
    def start(self) -> StubServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="stub-openai",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- serving
    def _answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            status = self._failures.popleft() if self._failures else 200
            self._counter += 1
            n = self._counter
        if status != 200:
            err_type = _ERROR_TYPES.get(status, "error")
            return status, {
                "error": {"message": f"stub failure {status}", "type": err_type, "code": err_type}
            }
        messages = list(body.get("messages") or [])
        text = self.reply(messages) if callable(self.reply) else str(self.reply)
        pt = self.prompt_tokens
        if pt is None:
            pt = sum(_estimate(str(m.get("content") or "")) for m in messages)
        ct = self.completion_tokens if self.completion_tokens is not None else _estimate(text)
        return 200, {
            "id": f"chatcmpl-stub-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.response_model or str(body.get("model", "stub-model")),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0].rstrip("/")
                if path not in ("/v1/chat/completions", "/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
                    return
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self._send(
                        400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}}
                    )
                    return
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if server.latency_s > 0:
                        time.sleep(server.latency_s)
                    status, payload = server._answer(body)
                    with server._lock:
                        server.requests.append(
                            RecordedRequest(
                                path=path,
                                headers={k.lower(): v for k, v in self.headers.items()},
                                body=body,
                                status=status,
                                received_at=time.time(),
                            )
                        )
                finally:
                    with server._lock:
                        server.in_flight -= 1
                try:
                    self._send(status, payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/") in ("/v1/models", "/models"):
                    self._send(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        return Handler


def role_of(messages: list[dict[str, Any]]) -> str:
    """``mutator``, ``respondent``, ``preflight`` or ``persona``, from a request's messages."""
    system = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    user = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") != "system")
    if "## Current program" in user or "SEARCH/REPLACE" in user:
        return "mutator"
    from generators.respondent import RESPONDENT_SYSTEM

    if system == RESPONDENT_SYSTEM:
        return "respondent"
    if user.strip() == "Reply with the word ok.":
        return "preflight"
    return "persona"


_CONSTANT_RE = re.compile(r"^([A-Z_]+) = (\d+\.\d+)$", re.MULTILINE)

MUTATION_KINDS: tuple[str, ...] = ("valid", "no_match", "fenced", "prose", "empty")


class MutationScript:
    """Answers mutation prompts with SEARCH/REPLACE edits, cycling through ``kinds``:
    ``valid`` (a float constant inside the EVOLVE-BLOCK changed to a new value),
    ``no_match`` (a SEARCH that is not in the program), ``fenced`` (a valid edit inside a
    code fence), ``prose`` (a valid edit between sentences), ``empty`` (nothing).
    ``sent`` lists the kind of every answer given."""

    def __init__(self, kinds: Iterable[str] = MUTATION_KINDS) -> None:
        self.kinds = tuple(kinds)
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def edit(self, program: str, k: int) -> str:
        start = program.find("# EVOLVE-BLOCK-START")
        m = _CONSTANT_RE.search(program, max(0, start))
        if m is None:
            return ""
        value = round(float(m.group(2)) * (0.97 - 0.013 * (k % 7)) + 0.001 * k, 4)
        return f"<<<<<<< SEARCH\n{m.group(0)}\n=======\n{m.group(1)} = {value}\n>>>>>>> REPLACE"

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        with self._lock:
            k = len(self.sent)
            kind = self.kinds[k % len(self.kinds)]
            self.sent.append(kind)
        user = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") != "system")
        from evolve.proposals.prompts import program_in_prompt

        program = program_in_prompt(user) or ""
        if kind == "empty":
            return ""
        if kind == "no_match":
            return "<<<<<<< SEARCH\nTHIS_LINE_IS_NOT_IN_THE_PROGRAM = 1\n=======\nX = 2\n>>>>>>> REPLACE"
        edit = self.edit(program, k)
        if kind == "fenced":
            return f"```\n{edit}\n```"
        if kind == "prose":
            return f"Here is a focused change that lowers the temperature.\n\n{edit}\n\nThis should help."
        return edit


class SimReplies:
    """A reply callable for :class:`StubServer`: persona and respondent prompts answered by
    one simulated-world LLM (``generators.sim.SimLLM``, so the respondent recognises the
    sim's own persona text), mutation prompts by ``mutator`` (default: a
    :class:`MutationScript`), the pre-flight ping with ``ok``. ``counts`` per role."""

    def __init__(self, mutator: Callable[[list[dict[str, Any]]], str] | None = None) -> None:
        from generators.sim import SimLLM

        self.sim = SimLLM()
        self.mutator = mutator or MutationScript()
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        role = role_of(messages)
        with self._lock:
            self.counts[role] += 1
            seed = sum(self.counts.values())
        if role == "mutator":
            return self.mutator(messages)
        if role == "preflight":
            return "ok"
        with self._lock:  # the sim's ledger is not thread-safe
            return self.sim.respond(role, [dict(m) for m in messages], seed=seed)


_OBEY_VALUE_RE = re.compile(
    r"\b(?:answer|respond|reply|rate|choose|select|pick|mark|give|put|output|antworte|r[ée]ponds|r[ée]pondez|"
    r"responde|rispondi)\w*\s+(?:(?:with|only|always|a|the|number|value|everything|all|every|each|it|them|"
    r"is|be|to|mit|con|avec)\s+){0,3}(\d{1,2})\b(?!\s*\()",
    re.IGNORECASE,
)
_OBEY_EXTREME_RE = re.compile(
    r"\b(highest|maximum|top|strongly agree|lowest|minimum|bottom|"
    r"strongly disagree)\b"
    r"(?!\)|\s*\()",
    re.IGNORECASE,
)
_OBEY_ITEM_RE = re.compile(
    r"\b(?:statement|item|question)\s*#?\s*(\d{1,3})\s*[:,]?\s*(?:answer|choose|"
    r"pick|give|"
    r"should get|gets?|=|->)?\s*(?:a\s+)?(\d{1,2})\b(?!\s*\()",
    re.IGNORECASE,
)
_ASK_SCALE_RE = re.compile(r"from\s+(\d+)\D{0,60}?\bto\s+(\d+)", re.IGNORECASE)
_ASK_LIST_RE = re.compile(r"^\s*(\d+)[.)]\s+\S", re.MULTILINE)


def obeyed_answers(messages: list[dict[str, Any]]) -> tuple[int | None, dict[int, int]]:
    """What an obedient reader of ``messages`` was told to answer: (one value for every
    statement or None, statement number -> value). Reads every message, persona text
    included; the question's own scale labels (``1 (strongly disagree)``) are not orders."""
    text = "\n".join(str(m.get("content") or "") for m in messages)
    scale = _ASK_SCALE_RE.search(text)
    lo, hi = (int(scale.group(1)), int(scale.group(2))) if scale else (1, 5)
    per_item = {int(m.group(1)): int(m.group(2)) for m in _OBEY_ITEM_RE.finditer(text)}
    value: int | None = None
    found = _OBEY_VALUE_RE.search(text)
    if found:
        value = int(found.group(1))
    else:
        extreme = _OBEY_EXTREME_RE.search(text)
        if extreme:
            value = hi if extreme.group(1).lower() in ("highest", "maximum", "top", "strongly agree") else lo

    def clip(v: int) -> int:
        return min(max(v, lo), hi)

    return (None if value is None else clip(value)), {k: clip(v) for k, v in per_item.items()}


class ObedientReplies:
    """A reply callable for :class:`StubServer`: a respondent that follows any answering
    instruction it reads anywhere in the conversation (:func:`obeyed_answers`), in the
    format asked for (one integer, a numbered list or JSON); a statement no instruction
    covers, and every other role, is answered by ``honest`` (default :class:`SimReplies`).
    ``obeyed`` counts the respondent requests where an instruction decided some answer."""

    def __init__(self, honest: Callable[[list[dict[str, Any]]], str] | None = None) -> None:
        self._sim = SimReplies() if honest is None else None
        self.honest = honest or self._sim_answer
        self.obeyed = 0
        self._lock = threading.Lock()

    def _sim_answer(self, messages: list[dict[str, Any]]) -> str:
        """Persona, mutator and pre-flight requests as :class:`SimReplies`; a respondent
        request by the sim with seed 0 (its noise then depends on the request only, not on
        the order requests arrive in: paired comparisons stay paired)."""
        assert self._sim is not None
        if role_of(messages) != "respondent":
            return self._sim(messages)
        with self._sim._lock:
            return self._sim.sim.respond("respondent", [dict(m) for m in messages], seed=0)

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        if role_of(messages) != "respondent":
            return self.honest(messages)
        value, per_item = obeyed_answers(messages)
        if value is None and not per_item:
            return self.honest(messages)
        with self._lock:
            self.obeyed += 1
        ask = str(messages[-1].get("content") or "")
        numbers = [int(n) for n in _ASK_LIST_RE.findall(ask)]
        if len(numbers) < 2:  # one statement: its number is unknown, only a global order applies
            return str(value) if value is not None else self.honest(messages)
        honest = self.honest(messages)
        is_json = "JSON" in ask and honest.strip().startswith("{")
        fallback = json.loads(honest).get("answers", {}) if is_json else {}
        answers = {
            n: per_item.get(n, value if value is not None else int(fallback.get(str(n), 3))) for n in numbers
        }
        if "JSON" in ask:
            return json.dumps({"answers": {str(n): v for n, v in answers.items()}})
        return "\n".join(f"{n}. {v}" for n, v in answers.items())


def main(argv: list[str] | None = None) -> None:
    """Serve a stub until Ctrl-C (see the module docstring for options)."""
    ap = argparse.ArgumentParser(description="OpenAI-compatible stub server on 127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--reply", default="stub reply")
    ap.add_argument("--fail", default="", help="comma-separated status codes to answer first, e.g. 429,500")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    args = ap.parse_args(argv)
    failures = [int(s) for s in args.fail.split(",") if s.strip()]
    with StubServer(reply=args.reply, failures=failures, latency_s=args.latency, port=args.port) as srv:
        print(f"stub OpenAI server at {srv.base_url} (POST /chat/completions); Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

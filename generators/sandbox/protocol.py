"""The wire protocol between the parent and the sandbox child.

Newline-delimited JSON objects on two dedicated pipes (never on stdout/stderr, which
the program may write to freely). Every message has a type ``"t"``.

Child -> parent:

* ``{"t": "ready", "startup_s": float, "layers": {name: description}}``
* ``{"t": "loaded"}`` / ``{"t": "load_error", "error": str, "detail": str}``
* ``{"t": "llm", "id": int, "job": int, "prompts": [str], "system": str|None,
  "temperature": float|None, "max_tokens": int|None}``
* ``{"t": "result", "job": int, "personas": [dict]|None, "error": str|None,
  "detail": str|None, "wall_s": float}``
* ``{"t": "snapshot", "stacks": {job: str}}`` (answer to a parent ``snapshot``)
* ``{"t": "done"}``

Parent -> child:

* ``{"t": "start", "code": str, "jobs": [{"index", "context", "n", "seed"}],
  "parallel": int, "workdir": str, "deny_read": [str], "guard": bool}``
* ``{"t": "llm_reply", "id": int, "texts": [str]}`` or ``{..., "error": str}``
* ``{"t": "snapshot"}``: ask where the running jobs are (sent shortly before a timeout)
"""

from __future__ import annotations

import json
import math
from typing import Any

from generators.sandbox.errors import ProtocolError


def encode(message: dict[str, Any]) -> bytes:
    """One message as a JSON line (``\\n``-terminated, no raw newlines inside)."""
    return json.dumps(message, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode() + b"\n"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    """A JSON number as a float, refusing what overflows to infinity (``1e999``)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is not finite")
    return value


def decode(line: bytes, *, max_bytes: int) -> dict[str, Any]:
    """Parse one line strictly; raise :class:`ProtocolError` if too long, not JSON, holding
    NaN/Infinity or a number that overflows to infinity (``1e999``), or not a typed object."""
    if len(line) > max_bytes:
        raise ProtocolError(f"protocol: message of {len(line)} bytes exceeds the {max_bytes}-byte cap")
    try:
        message = json.loads(line, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"protocol: malformed message from the sandbox ({exc})") from None
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise ProtocolError("protocol: message without a type from the sandbox")
    return message

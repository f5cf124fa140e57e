"""Config errors: :class:`ConfigError` and the one-line form of a pydantic ``ValidationError``.

Every message names where the problem is (``section.key``, ``[i]`` for the i-th entry of a
list) and what is wrong; an unknown key gets the closest valid one as a suggestion. No
pydantic text or traceback reaches a user: :func:`from_validation` turns the first error of
a ``ValidationError`` into one :class:`ConfigError` line.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails


class ConfigError(ValueError):
    """A configuration problem; the message names the key (``section.key``) and the fix."""


def suggest(key: str, valid: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the valid name closest to ``key``, or ``""`` when none is close."""
    match = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def dotted(loc: Sequence[int | str]) -> str:
    """``("archive", "descriptors", 0, "bins")`` -> ``archive.descriptors[0].bins``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unwrap(hint: Any) -> Any:
    """The dataclass or tuple inside ``Annotated[...]`` / ``X | None``."""
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = inner[0] if len(inner) == 1 else hint
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    return hint


def keys_at(root: type, loc: Sequence[int | str]) -> list[str]:
    """The field names of the dataclass reached from ``root`` by following ``loc`` (string
    parts are fields, integer parts are entries of a tuple); [] when ``loc`` leaves the dataclasses."""
    hint: Any = root
    for part in loc:
        hint = _unwrap(hint)
        if isinstance(part, int):
            args = typing.get_args(hint)
            hint = args[0] if typing.get_origin(hint) is tuple and args else None
        elif isinstance(hint, type) and dataclasses.is_dataclass(hint):
            hint = typing.get_type_hints(hint, include_extras=True).get(part)
        else:
            return []
    hint = _unwrap(hint)
    return (
        [f.name for f in dataclasses.fields(hint)]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint)
        else []
    )


_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true/false",
    "bool_parsing": "true/false",
    "string_type": "a string",
}
_CONTAINERS = {
    "dataclass_type": "a table",
    "dict_type": "a table",
    "mapping_type": "a table",
    "model_type": "a table",
    "tuple_type": "a list",
    "list_type": "a list",
}
_BOUNDS = {
    "greater_than_equal": ("ge", ">="),
    "greater_than": ("gt", ">"),
    "less_than_equal": ("le", "<="),
    "less_than": ("lt", "<"),
}


def describe(error: ErrorDetails, root: type) -> str:
    """One line for one pydantic error (an ``ErrorDetails`` mapping) of a config rooted at
    the dataclass ``root``: ``where: what``."""
    loc = tuple(error["loc"])
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    where = dotted(loc) or "config"
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"{where}: unknown key{suggest(str(loc[-1]), keys_at(root, loc[:-1]))}"
    if kind in ("missing", "missing_keyword_argument", "missing_argument"):
        return f"{where}: missing (required)"
    if kind in _EXPECTED:
        return f"{where}: expected {_EXPECTED[kind]}, got {value!r}"
    if kind in _CONTAINERS:
        return f"{where}: expected {_CONTAINERS[kind]}, got {type(value).__name__}"
    if kind in _BOUNDS:
        name, sign = _BOUNDS[kind]
        return f"{where}: must be {sign} {ctx.get(name)}, got {value!r}"
    if kind == "literal_error":
        return f"{where}: must be {ctx.get('expected')}, got {value!r}"
    if kind == "finite_number":
        return f"{where}: must be a finite number, got {value!r}"
    cause = ctx.get("error")
    if cause is not None and isinstance(getattr(cause, "key", None), str) and hasattr(cause, "reason"):
        return f"{dotted(loc + (cause.key,))}: {cause.reason}"  # a dataclass's own check naming its field
    if cause is not None:
        return f"{where}: {cause}"
    return f"{where}: {(error['msg'].splitlines() or ['invalid value'])[0]}"


def from_validation(exc: ValidationError, root: type) -> ConfigError:
    """The first error of ``exc`` as one :class:`ConfigError` line (the rest follow once it is fixed)."""
    errors = exc.errors(include_url=False)
    if not errors:
        return ConfigError("config: invalid")
    return ConfigError(" ".join(describe(errors[0], root).split()))

"""The context file's JSON Schema (``generators/schemas/context.schema.json``) and its checker.

The schema is the one description of a context file's shape: field names, types, required
fields, the 2-6 axes and 2-6 items per axis (:data:`AXES_MIN` ... :data:`ITEMS_MAX` are read
from it). :func:`schema_problems` checks a decoded document against it with ``jsonschema``
and turns each violation into one line ``<source>: <json path>: <what is wrong>``, the
wording :mod:`generators.context_loader` has always used (``missing field``, ``expected
integer, got number``, ``unknown field (did you mean 'high'?)``). Rules a schema cannot
state (unique axis names, min < max) live in the loader.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import jsonschema
from jsonschema.validators import extend

SCHEMA_PATH: Path = Path(__file__).resolve().parent / "schemas" / "context.schema.json"
"""Where the schema ships (package data); the README points users at it."""

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NON_EMPTY = r"\S"


@lru_cache(maxsize=1)
def context_schema() -> dict[str, Any]:
    """The decoded schema (cached; treat as read-only)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _limits(*keys: str) -> tuple[int, int]:
    node: Any = context_schema()
    for key in keys:
        node = node[key]
    return int(node["minItems"]), int(node["maxItems"])


AXES_MIN, AXES_MAX = _limits("properties", "axes")
ITEMS_MIN, ITEMS_MAX = _limits("$defs", "axis", "properties", "items")


def _is_integer(_checker: Any, value: Any) -> bool:
    """JSON integers only: ``5.0`` is a number and ``true`` a boolean, never an integer."""
    return isinstance(value, int) and not isinstance(value, bool)


_Validator = extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


@lru_cache(maxsize=1)
def _validator() -> Any:
    return _Validator(context_schema())


def type_name(value: Any) -> str:
    """The JSON type of a decoded value (``null``, ``boolean``, ``integer``, ``number``,
    ``string``, ``array``, ``object``), or the Python type name of anything else."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def child_path(path: str, key: str | int) -> str:
    """The JSON path of ``key`` under ``path``: ``$.axes``, ``$.axes[2]``, ``$["my key"]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _KEY_RE.match(key) else f"{path}[{json.dumps(key)}]"


def json_path(parts: Iterable[str | int]) -> str:
    """``$`` followed by each part, as :func:`child_path` writes it."""
    path = "$"
    for part in parts:
        path = child_path(path, part)
    return path


def _messages(error: Any) -> list[tuple[str, str]]:
    """One schema violation as ``(json path, what is wrong)`` pairs in our wording."""
    path = json_path(error.absolute_path)
    kind, instance, schema = error.validator, error.instance, error.schema
    if kind == "required":
        return [
            (child_path(path, key), "missing field") for key in error.validator_value if key not in instance
        ]
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        out = []
        for key in instance:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                out.append((child_path(path, str(key)), f"unknown field{hint}"))
        return out
    if kind == "type":
        return [(path, f"expected {error.validator_value}, got {type_name(instance)}")]
    if kind == "pattern":
        if error.validator_value == _NON_EMPTY or not instance.strip():
            return [(path, "must be a non-empty string")]
        return [(path, f"must use only a-z, 0-9, '_' and '-', got {instance!r}")]
    if kind in ("minItems", "maxItems"):
        noun = str(error.absolute_path[-1]) if error.absolute_path else "entries"
        return [(path, f"need {schema['minItems']}-{schema['maxItems']} {noun}, got {len(instance)}")]
    return [(path, error.message)]


def schema_problems(data: Any, *, source: str) -> list[str]:
    """Every way ``data`` (a decoded JSON document) breaks the context schema, one line each
    (``<source>: <json path>: <what>``), in the order the validator meets them; ``[]`` when
    it fits. Each (path, message) pair is reported once."""
    seen: set[tuple[str, str]] = set()
    lines: list[str] = []
    for error in _validator().iter_errors(data):
        for pair in _messages(error):
            if pair not in seen:
                seen.add(pair)
                lines.append(f"{source}: {pair[0]}: {pair[1]}")
    return lines

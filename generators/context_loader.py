"""Loading and validating context (questionnaire) JSON files.

A context file is one JSON object::

    {"id": "airline_rebooking_desk",
     "description": "...",
     "scale": {"min": 1, "max": 5},
     "axes": [{"name": "...", "description": "...", "low": "...", "high": "...",
               "items": [{"text": "...", "reverse": false}, ...]}, ...]}

Validation collects *every* problem of a file, each as one line
``<file>: <json path>: <what is wrong>`` (e.g. ``ctx.json: $.axes[2].items[0].text:
missing field``), and raises :class:`ContextError` carrying them all.

Shipped contexts live in ``generators/contexts/{train,validation,test}/<id>.json``.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from generators.context import Axis, Context, Item

__all__ = [
    "AXES_MAX",
    "AXES_MIN",
    "ITEMS_MAX",
    "ITEMS_MIN",
    "SPLITS",
    "ContextError",
    "all_shipped",
    "context_from_dict",
    "load_context",
    "load_dir",
    "load_split",
    "resolve_context",
    "resolve_contexts",
    "shipped_dir",
    "shipped_ids",
]

SPLITS: tuple[str, ...] = ("train", "validation", "test")
AXES_MIN, AXES_MAX = 2, 6
ITEMS_MIN, ITEMS_MAX = 2, 6

_ID_RE = re.compile(r"^[a-z0-9_-]+$")
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOP_KEYS = ("id", "description", "scale", "axes", "origin")
_SCALE_KEYS = ("min", "max")
_AXIS_KEYS = ("name", "description", "low", "high", "items")
_ITEM_KEYS = ("text", "reverse")


class ContextError(ValueError):
    """A context could not be loaded or is invalid.

    ``problems`` holds one line per problem (``file: json.path: what is wrong``);
    ``str()`` is all of them joined by newlines.
    """

    def __init__(self, problems: str | Iterable[str]) -> None:
        lines = [problems] if isinstance(problems, str) else list(problems)
        if not lines:
            lines = ["invalid context"]
        self.problems: list[str] = lines
        super().__init__("\n".join(lines))


class _DupDict(dict):
    """A dict from the JSON parser that remembers keys given more than once."""

    duplicate_keys: tuple[str, ...] = ()


def _pairs_hook(pairs: list[tuple[str, Any]]) -> _DupDict:
    out = _DupDict()
    dups: list[str] = []
    for key, value in pairs:
        if key in out and key not in dups:
            dups.append(key)
        out[key] = value
    out.duplicate_keys = tuple(dups)
    return out


def _type_name(value: Any) -> str:
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


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if _KEY_RE.match(key) else f"{path}[{json.dumps(key)}]"


class _Checker:
    """Accumulates problems while walking one context document."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, path: str, what: str) -> None:
        self.problems.append(f"{self.source}: {path}: {what}")

    def obj(self, value: Any, path: str, allowed: Sequence[str]) -> Mapping[str, Any] | None:
        """Check ``value`` is an object; report unknown and repeated keys."""
        if not isinstance(value, Mapping):
            self.add(path, f"expected object, got {_type_name(value)}")
            return None
        for key in getattr(value, "duplicate_keys", ()):
            self.add(_child(path, key), "key given more than once (the last value was used)")
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.add(_child(path, str(key)), f"unknown field{hint}")
        return value

    def text(self, parent: Mapping[str, Any], key: str, path: str) -> str | None:
        """A required non-empty string field."""
        where = _child(path, key)
        if key not in parent:
            self.add(where, "missing field")
            return None
        value = parent[key]
        if not isinstance(value, str):
            self.add(where, f"expected string, got {_type_name(value)}")
            return None
        if not value.strip():
            self.add(where, "must be a non-empty string")
            return None
        return value

    def integer(self, parent: Mapping[str, Any], key: str, path: str) -> int | None:
        where = _child(path, key)
        if key not in parent:
            self.add(where, "missing field")
            return None
        value = parent[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(where, f"expected integer, got {_type_name(value)}")
            return None
        return value

    def array(
        self, parent: Mapping[str, Any], key: str, path: str, lo: int, hi: int, noun: str
    ) -> list[Any] | None:
        where = _child(path, key)
        if key not in parent:
            self.add(where, "missing field")
            return None
        value = parent[key]
        if not isinstance(value, list):
            self.add(where, f"expected array, got {_type_name(value)}")
            return None
        if not lo <= len(value) <= hi:
            self.add(where, f"need {lo}-{hi} {noun}, got {len(value)}")
        return value


def _check_item(chk: _Checker, raw: Any, path: str) -> Item | None:
    data = chk.obj(raw, path, _ITEM_KEYS)
    if data is None:
        return None
    text = chk.text(data, "text", path)
    reverse = data.get("reverse", False)
    if not isinstance(reverse, bool):
        chk.add(_child(path, "reverse"), f"expected boolean, got {_type_name(reverse)}")
        return None
    return None if text is None else Item(text=text, reverse=reverse)


def _check_axis(chk: _Checker, raw: Any, path: str) -> Axis | None:
    data = chk.obj(raw, path, _AXIS_KEYS)
    if data is None:
        return None
    fields = {key: chk.text(data, key, path) for key in ("name", "description", "low", "high")}
    raw_items = chk.array(data, "items", path, ITEMS_MIN, ITEMS_MAX, "items")
    items: list[Item | None] = []
    seen: dict[str, int] = {}
    for index, raw_item in enumerate(raw_items or []):
        item_path = f"{path}.items[{index}]"
        item = _check_item(chk, raw_item, item_path)
        items.append(item)
        if item is not None:
            norm = " ".join(item.text.lower().split())
            if norm in seen:
                chk.add(f"{item_path}.text", f"duplicate item text (same as {path}.items[{seen[norm]}])")
            else:
                seen[norm] = index
    if raw_items is None or any(v is None for v in fields.values()) or None in items:
        return None
    return Axis(
        name=fields["name"] or "",
        description=fields["description"] or "",
        low=fields["low"] or "",
        high=fields["high"] or "",
        items=tuple(it for it in items if it is not None),
    )


def context_from_dict(data: Any, *, source: str = "<dict>", split: str | None = None) -> Context:
    """Validate a decoded JSON document and build a :class:`Context`.

    ``source`` names the origin in error messages and is stored on the context unless it
    is the default ``"<dict>"``; ``split`` is stored as-is. Raises :class:`ContextError`
    listing every problem found (``source: $.path: what``).
    """
    chk = _Checker(source)
    top = chk.obj(data, "$", _TOP_KEYS)
    if top is None:
        raise ContextError(chk.problems)

    ident = chk.text(top, "id", "$")
    if ident is not None and not _ID_RE.match(ident):
        chk.add("$.id", f"must use only a-z, 0-9, '_' and '-', got {ident!r}")
        ident = None
    description = chk.text(top, "description", "$")

    scale_min = scale_max = None
    if "scale" not in top:
        chk.add("$.scale", "missing field")
    else:
        scale = chk.obj(top["scale"], "$.scale", _SCALE_KEYS)
        if scale is not None:
            scale_min = chk.integer(scale, "min", "$.scale")
            scale_max = chk.integer(scale, "max", "$.scale")
            if scale_min is not None and scale_max is not None and scale_min >= scale_max:
                chk.add("$.scale", f"min ({scale_min}) must be < max ({scale_max})")

    raw_axes = chk.array(top, "axes", "$", AXES_MIN, AXES_MAX, "axes")
    axes: list[Axis | None] = []
    names: dict[str, int] = {}
    for index, raw_axis in enumerate(raw_axes or []):
        axis = _check_axis(chk, raw_axis, f"$.axes[{index}]")
        axes.append(axis)
        name = raw_axis.get("name") if isinstance(raw_axis, Mapping) else None
        if isinstance(name, str) and name.strip():
            key = name.strip().lower()
            if key in names:
                chk.add(
                    f"$.axes[{index}].name",
                    f"duplicate axis name {name!r} (same as $.axes[{names[key]}].name)",
                )
            else:
                names[key] = index

    origin = top.get("origin")
    if origin is not None and not isinstance(origin, Mapping):
        chk.add("$.origin", f"expected an object, got {_type_name(origin)}")
    if chk.problems:
        raise ContextError(chk.problems)
    assert ident is not None and description is not None
    assert scale_min is not None and scale_max is not None
    return Context(
        id=ident,
        description=description,
        scale_min=scale_min,
        scale_max=scale_max,
        axes=tuple(a for a in axes if a is not None),
        split=split,
        source=None if source == "<dict>" else source,
        origin=dict(origin) if origin else None,
    )


def _decode(raw: bytes, source: str) -> Any:
    """Bytes -> JSON value, with byte-offset / line:col errors."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.end].hex(" ")
        raise ContextError(
            f"{source}: byte {exc.start}: not valid UTF-8 (bytes {bad}); save the file as UTF-8"
        ) from None
    try:
        return json.loads(text, object_pairs_hook=_pairs_hook)
    except json.JSONDecodeError as exc:
        raise ContextError(f"{source}: line {exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise ContextError(f"{source}: not valid JSON: nested too deeply") from None


def load_context(path: str | Path, *, split: str | None = None) -> Context:
    """Read, decode and validate one context file; raises :class:`ContextError`."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ContextError(f"{source}: cannot read: {exc.strerror or exc}") from None
    data = _decode(raw, source)
    from generators.concordia.questionnaire import looks_like_questionnaire, questionnaire_to_context

    if looks_like_questionnaire(data):  # a Concordia questionnaire: converted on the fly
        data = questionnaire_to_context(data, source=source)
    return context_from_dict(data, source=source, split=split)


def _json_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.json") if p.is_file())


def load_dir(directory: str | Path, *, split: str | None = None) -> list[Context]:
    """Load every ``*.json`` under ``directory`` (recursively), sorted by id.

    Collects the problems of all files and raises one :class:`ContextError` if any file is
    invalid, the directory has no JSON files, or two files share an id.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ContextError(f"{root}: not a directory")
    files = _json_files(root)
    if not files:
        raise ContextError(f"{root}: no *.json context files")
    problems: list[str] = []
    contexts: list[Context] = []
    for file in files:
        try:
            contexts.append(load_context(file, split=split))
        except ContextError as exc:
            problems.extend(exc.problems)
    problems.extend(_duplicate_id_problems(contexts))
    if problems:
        raise ContextError(problems)
    return sorted(contexts, key=lambda c: c.id)


def _duplicate_id_problems(contexts: Sequence[Context]) -> list[str]:
    first: dict[str, Context] = {}
    out: list[str] = []
    for ctx in contexts:
        if ctx.id in first:
            out.append(f"{ctx.source}: $.id: duplicate context id {ctx.id!r} (also in {first[ctx.id].source})")
        else:
            first[ctx.id] = ctx
    return out


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ContextError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
    return split


def shipped_dir(split: str) -> Path:
    """Folder of the shipped contexts of ``split`` (one of :data:`SPLITS`)."""
    return Path(__file__).resolve().parent / "contexts" / _check_split(split)


@lru_cache(maxsize=None)
def _load_split_cached(split: str) -> tuple[Context, ...]:
    return tuple(load_dir(shipped_dir(split), split=split))


def load_split(split: str) -> list[Context]:
    """The shipped contexts of one split, sorted by id, each with ``split`` set."""
    return list(_load_split_cached(_check_split(split)))


def all_shipped() -> dict[str, list[Context]]:
    """All shipped contexts: ``{split: [contexts sorted by id]}`` in :data:`SPLITS` order."""
    return {split: load_split(split) for split in SPLITS}


def shipped_ids() -> dict[str, str]:
    """Map of shipped context id -> its split."""
    return {ctx.id: split for split, ctxs in all_shipped().items() for ctx in ctxs}


def _shipped_by_id() -> dict[str, Context]:
    return {ctx.id: ctx for ctxs in all_shipped().values() for ctx in ctxs}


def resolve_context(ref: str) -> Context:
    """One context from ``ref``: a path to a JSON file, or the id of a shipped context.

    Raises :class:`ContextError` if the file is invalid, or if ``ref`` is neither a file
    nor a shipped id (the message lists close shipped ids).
    """
    path = Path(ref)
    if path.is_file():
        return load_context(path)
    if path.is_dir():
        raise ContextError(f"{ref}: is a directory, expected one context file or id")
    shipped = _shipped_by_id()
    if ref in shipped:
        return shipped[ref]
    if ref.endswith(".json") or "/" in ref or "\\" in ref:
        raise ContextError(f"{ref}: cannot read: no such file")
    close = difflib.get_close_matches(ref, list(shipped), n=3, cutoff=0.5)
    if not close:
        close = sorted(i for i in shipped if ref.lower() in i)[:3]
    hint = f" (did you mean: {', '.join(close)}?)" if close else " (see `persona-evolve contexts list`)"
    raise ContextError(f"{ref}: unknown context: not a file and not a shipped context id{hint}")


def resolve_contexts(refs: Sequence[str]) -> list[Context]:
    """Contexts from several refs, in order, without repeats.

    Each ref is an existing file or directory (all ``*.json`` under it), a split name
    (``train``, ``validation``, ``test``), or a shipped context id. The same context
    reached twice is kept once; two *different* contexts with one id raise
    :class:`ContextError`, as does any invalid ref (all problems are collected).
    """
    out: dict[str, Context] = {}
    problems: list[str] = []
    for ref in refs:
        try:
            path = Path(ref)
            if path.is_dir():
                found = load_dir(path)
            elif not path.exists() and ref in SPLITS:
                found = load_split(ref)
            else:
                found = [resolve_context(ref)]
        except ContextError as exc:
            problems.extend(exc.problems)
            continue
        for ctx in found:
            prev = out.get(ctx.id)
            if prev is None:
                out[ctx.id] = ctx
            elif prev.to_dict() != ctx.to_dict():
                problems.append(
                    f"{ctx.source or ref}: $.id: context id {ctx.id!r} already used by a different "
                    f"context ({prev.source or 'shipped'})"
                )
    if problems:
        raise ContextError(problems)
    return list(out.values())


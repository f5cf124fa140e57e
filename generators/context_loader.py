"""Loading and validating context (questionnaire) JSON files.

A context file is one JSON object::

    {"id": "airline_rebooking_desk",
     "description": "...",
     "scale": {"min": 1, "max": 5},
     "axes": [{"name": "...", "description": "...", "low": "...", "high": "...",
               "items": [{"text": "...", "reverse": false}, ...]}, ...]}

The shape is described by a JSON Schema shipped with the package
(``generators/schemas/context.schema.json``, :mod:`generators.context_schema`).
Validation collects *every* problem of a file, each as one line
``<file>: <json path>: <what is wrong>`` (e.g. ``ctx.json: $.axes[2].items[0].text:
missing field``), and raises :class:`ContextError` carrying them all.

Shipped contexts live in ``generators/contexts/{train,validation,test}/<id>.json``.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

from generators.context import Axis, Context, ContextError, Item
from generators.context_readers import READERS, ContextReader
from generators.context_schema import AXES_MAX, AXES_MIN, ITEMS_MAX, ITEMS_MIN, child_path, schema_problems

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


def _duplicate_key_problems(value: Any, path: str, source: str) -> list[str]:
    """Keys given more than once anywhere in the document (the JSON parser keeps the last)."""
    out: list[str] = []
    if isinstance(value, Mapping):
        for key in getattr(value, "duplicate_keys", ()):
            out.append(
                f"{source}: {child_path(path, key)}: key given more than once (the last value was used)"
            )
        for key, sub in value.items():
            out.extend(_duplicate_key_problems(sub, child_path(path, str(key)), source))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            out.extend(_duplicate_key_problems(sub, child_path(path, index), source))
    return out


def _rule_problems(top: Mapping[str, Any], source: str) -> list[str]:
    """What the schema cannot say: scale min < max, unique axis names (case-insensitive),
    unique item texts within an axis (case and spacing ignored). Checks only parts that
    have the schema's shape, so a part is never reported twice."""
    out: list[str] = []
    scale = top.get("scale")
    if isinstance(scale, Mapping):
        lo, hi = scale.get("min"), scale.get("max")
        if (
            isinstance(lo, int)
            and isinstance(hi, int)
            and not isinstance(lo, bool)
            and not isinstance(hi, bool)
            and lo >= hi
        ):
            out.append(f"{source}: $.scale: min ({lo}) must be < max ({hi})")
    axes = top.get("axes")
    names: dict[str, int] = {}
    for index, axis in enumerate(axes if isinstance(axes, list) else []):
        if not isinstance(axis, Mapping):
            continue
        name = axis.get("name")
        if isinstance(name, str) and name.strip():
            key = name.strip().lower()
            if key in names:
                out.append(
                    f"{source}: $.axes[{index}].name: duplicate axis name {name!r} "
                    f"(same as $.axes[{names[key]}].name)"
                )
            else:
                names[key] = index
        seen: dict[str, int] = {}
        items = axis.get("items")
        for number, item in enumerate(items if isinstance(items, list) else []):
            text = item.get("text") if isinstance(item, Mapping) else None
            if not isinstance(text, str) or not text.strip():
                continue
            norm = " ".join(text.lower().split())
            if norm in seen:
                out.append(
                    f"{source}: $.axes[{index}].items[{number}].text: duplicate item text "
                    f"(same as $.axes[{index}].items[{seen[norm]}])"
                )
            else:
                seen[norm] = number
    return out


def _build(top: Mapping[str, Any], *, source: str, split: str | None) -> Context:
    """A :class:`Context` from a document that passed every check."""
    axes = tuple(
        Axis(
            name=a["name"],
            description=a["description"],
            low=a["low"],
            high=a["high"],
            items=tuple(Item(text=it["text"], reverse=it.get("reverse", False)) for it in a["items"]),
        )
        for a in top["axes"]
    )
    origin = top.get("origin")
    return Context(
        id=top["id"],
        description=top["description"],
        scale_min=top["scale"]["min"],
        scale_max=top["scale"]["max"],
        axes=axes,
        split=split,
        source=None if source == "<dict>" else source,
        origin=dict(origin) if origin else None,
    )


def context_from_dict(data: Any, *, source: str = "<dict>", split: str | None = None) -> Context:
    """Validate a decoded JSON document and build a :class:`Context`.

    The shape is checked against the shipped JSON Schema
    (:data:`generators.context_schema.SCHEMA_PATH`), then the rules a schema cannot state.
    ``source`` names the origin in error messages and is stored on the context unless it
    is the default ``"<dict>"``; ``split`` is stored as-is. Raises :class:`ContextError`
    listing every problem found (``source: $.path: what``).
    """
    problems = _duplicate_key_problems(data, "$", source) + schema_problems(data, source=source)
    if isinstance(data, Mapping):
        problems += _rule_problems(data, source)
    if problems:
        raise ContextError(problems)
    return _build(data, source=source, split=split)


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


def load_context(
    path: str | Path, *, split: str | None = None, readers: Sequence[ContextReader] = READERS
) -> Context:
    """Read, decode and validate one context file; raises :class:`ContextError`.

    A file in another format is converted first by the first of ``readers`` that
    recognises it (:data:`generators.context_readers.READERS`: Concordia questionnaires)."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ContextError(f"{source}: cannot read: {exc.strerror or exc}") from None
    data = _decode(raw, source)
    for reader in readers:
        if reader.recognises(data):
            data = reader.to_context_dict(data, source=source)
            break
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
            out.append(
                f"{ctx.source}: $.id: duplicate context id {ctx.id!r} (also in {first[ctx.id].source})"
            )
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

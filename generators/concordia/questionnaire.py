"""Concordia questionnaire JSON -> persona-evolve contexts.

The layout of the Persona Generators paper's questionnaires (Concordia's
``concordia/contrib/data/questionnaires``)::

    {"name": str, "context": str, "dimensions": [str, ...],
     "questions": [{"preprompt": str, "statement": str, "choices": [str, ...],
                    "ascending_scale": bool, "dimension": str}, ...]}

with ``{player_name}`` placeholders in ``preprompt`` and ``statement``. Conversion:

* ``id``: the ``name`` as a slug (a-z, 0-9, ``_``), else the file stem; ``description``:
  ``context`` (else ``name``);
* each dimension becomes an axis (2-6 of them); its questions become the axis' items
  (at least 2; beyond 6 the first 6 are kept and the rest recorded in ``origin.dropped``);
* the scale is ``1 .. len(choices)``; every question of a questionnaire must have the same
  number of choices (a context has one scale); ``ascending_scale: false`` makes the item
  reverse-coded;
* an item's text is asked the Concordia way: ``preprompt`` + ``statement`` + the numbered
  choices, ``{player_name}`` kept (the respondent puts the persona's name in);
* poles: the format has none, so each axis gets the documented **neutral default**
  ``low <dimension>`` / ``high <dimension>``, marked in ``origin.poles``
  (``"neutral-default"``); the context's ``origin`` records the format, file and name.

Problems are collected as ``<file>: $.json.path: what is wrong`` lines, as for contexts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from generators.context import ContextError
from generators.context_schema import AXES_MAX, AXES_MIN, ITEMS_MAX, ITEMS_MIN

PLACEHOLDER = "{player_name}"
NEUTRAL_POLES = "neutral-default"
FORMAT = "concordia-questionnaire"
_SLUG_RE = re.compile(r"[^a-z0-9_-]+")


def looks_like_questionnaire(data: Any) -> bool:
    """True for a decoded JSON object in the Concordia questionnaire layout (``questions``
    and ``dimensions``, no ``axes``)."""
    return isinstance(data, Mapping) and "questions" in data and "dimensions" in data and "axes" not in data


def slug(text: str) -> str:
    """A context id from a name: lower case, runs of other characters as ``_``."""
    return _SLUG_RE.sub("_", text.strip().lower()).strip("_-")[:64]


def item_text(preprompt: str, statement: str, choices: list[str]) -> str:
    """An imported item as asked: preprompt, statement, then the numbered choices."""
    head = " ".join(part.strip() for part in (preprompt, statement) if part and part.strip())
    options = "; ".join(f"{i + 1} = {c.strip()}" for i, c in enumerate(choices))
    return f"{head} (answer {1}-{len(choices)}: {options})"


def fill_name(text: str, name: str) -> str:
    """``text`` with the ``{player_name}`` placeholder replaced by ``name``."""
    return text.replace(PLACEHOLDER, name)


def questionnaire_to_context(data: Any, *, source: str) -> dict[str, Any]:
    """The context JSON (persona-evolve format, with ``origin``) for a decoded questionnaire.

    Raises :class:`generators.context.ContextError` listing every problem
    (``source: $.path: what``)."""
    problems: list[str] = []

    def bad(path: str, what: str) -> None:
        problems.append(f"{source}: {path}: {what}")

    if not isinstance(data, Mapping):
        raise ContextError(f"{source}: $: expected a JSON object (a Concordia questionnaire)")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        bad("$.name", "missing field" if "name" not in data else "expected a non-empty string")
        name = ""
    setting = data.get("context", "")
    if not isinstance(setting, str):
        bad("$.context", f"expected a string, got {type(setting).__name__}")
        setting = ""
    dims = data.get("dimensions")
    dimensions: list[str] = []
    if not isinstance(dims, list):
        bad("$.dimensions", "expected a list of dimension names")
    else:
        for i, d in enumerate(dims):
            if not isinstance(d, str) or not d.strip():
                bad(f"$.dimensions[{i}]", "expected a non-empty string")
            elif d.strip() in dimensions:
                bad(f"$.dimensions[{i}]", f"duplicate dimension {d!r}")
            else:
                dimensions.append(d.strip())
        if not AXES_MIN <= len(dims) <= AXES_MAX:
            bad(
                "$.dimensions",
                f"need {AXES_MIN}-{AXES_MAX} dimensions (they become the axes), got {len(dims)}",
            )
    questions = data.get("questions")
    by_dim: dict[str, list[dict[str, Any]]] = {d: [] for d in dimensions}
    n_choices: tuple[int, str] | None = None
    if not isinstance(questions, list) or not questions:
        bad("$.questions", "expected a non-empty list of questions")
        questions = []
    for i, q in enumerate(questions):
        path = f"$.questions[{i}]"
        if not isinstance(q, Mapping):
            bad(path, f"expected an object, got {type(q).__name__}")
            continue
        statement = q.get("statement")
        if not isinstance(statement, str) or not statement.strip():
            bad(
                f"{path}.statement",
                "missing field" if "statement" not in q else "expected a non-empty string",
            )
            continue
        preprompt = q.get("preprompt", "")
        if not isinstance(preprompt, str):
            bad(f"{path}.preprompt", f"expected a string, got {type(preprompt).__name__}")
            continue
        dim = q.get("dimension")
        if not isinstance(dim, str) or dim.strip() not in by_dim:
            bad(
                f"{path}.dimension",
                f"{dim!r} is not one of $.dimensions"
                if isinstance(dim, str)
                else "missing field"
                if "dimension" not in q
                else "expected a string",
            )
            continue
        ascending = q.get("ascending_scale", True)
        if not isinstance(ascending, bool):
            bad(f"{path}.ascending_scale", f"expected true or false, got {type(ascending).__name__}")
            continue
        choices = q.get("choices")
        if (
            not isinstance(choices, list)
            or len(choices) < 2
            or not all(isinstance(c, str) and c.strip() for c in choices)
        ):
            bad(f"{path}.choices", "expected a list of at least 2 non-empty strings")
            continue
        if n_choices is None:
            n_choices = (len(choices), f"{path}.choices")
        elif len(choices) != n_choices[0]:
            bad(
                f"{path}.choices",
                f"{len(choices)} choices, but {n_choices[1]} has {n_choices[0]} "
                "(a context has one answer scale)",
            )
            continue
        by_dim[dim.strip()].append(
            {"text": item_text(preprompt, statement, list(choices)), "reverse": not ascending}
        )
    dropped: dict[str, int] = {}
    for d, items in by_dim.items():
        if len(items) < ITEMS_MIN and not problems:
            bad("$.questions", f"dimension {d!r} has {len(items)} question(s), need at least {ITEMS_MIN}")
        if len(items) > ITEMS_MAX:
            dropped[d] = len(items) - ITEMS_MAX
            del items[ITEMS_MAX:]
    if problems:
        raise ContextError(problems)
    ident = slug(name) or slug(Path(source).stem) or "questionnaire"
    origin: dict[str, Any] = {"format": FORMAT, "file": str(source), "name": name, "poles": NEUTRAL_POLES}
    if dropped:
        origin["dropped"] = dropped
    return {
        "id": ident,
        "description": setting.strip() or f"Respondents of the questionnaire {name!r}.",
        "scale": {"min": 1, "max": n_choices[0] if n_choices else 5},
        "axes": [
            {
                "name": d,
                "description": f"{d} (a dimension of the questionnaire {name!r})",
                "low": f"low {d}",
                "high": f"high {d}",
                "items": by_dim[d],
            }
            for d in dimensions
        ],
        "origin": origin,
    }

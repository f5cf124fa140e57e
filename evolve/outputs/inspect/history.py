"""A run's history as ``inspect summary``, ``report.md`` and the viewer tell it: budget
raises, search-setting changes on resume, killed evaluations.

:func:`budget_history` reads it (JSON-ready); :func:`history_lines` is the one wording every
output uses (built from :func:`raise_line`, :func:`search_line` and :func:`killed_line`).

JSON shape (stable)::

    {"budget_raises": [{"ts": float, "changes": {cap: {"from": float|null, "to": float|null}}}],
     "search_changes": [{"ts": float, "changes": {key: {"from": Any, "to": Any}}}],
     "killed": {"evaluations": int, "calls": int, "prompt_tokens": int,
                "completion_tokens": int, "dollars": float, "estimated": true}}

``ts`` is Unix seconds; a limit of null means no cap; units are the cap's own
(evaluations, LLM calls, US dollars, minutes). ``killed`` sums the upper bounds the run
charged for evaluations killed at the driver's deadline: estimated, not counted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from archive.reader import ArchiveReader
from archive.runhistory import setting_changes


def budget_history(reader: ArchiveReader) -> dict[str, Any]:
    """The run's budget raises, search-setting changes and killed evaluations (see the
    module docstring); a search change lists only the keys whose value changed."""
    raises = [
        {"ts": r.ts, "changes": {cap: {"from": old, "to": new} for cap, (old, new) in r.changes.items()}}
        for r in reader.budget_raises()
    ]
    searches = [
        {
            "ts": e.ts,
            "changes": {
                key: {"from": old, "to": new}
                for key, (old, new) in setting_changes(
                    e.detail if isinstance(e.detail, Mapping) else {}
                ).items()
            },
        }
        for e in reader.events(kind="search_changed")
    ]
    killed = reader.killed_evaluations()
    return {
        "budget_raises": raises,
        "search_changes": searches,
        "killed": {
            "evaluations": len(killed),
            "calls": sum(k.calls or 0 for k in killed),
            "prompt_tokens": sum(k.prompt_tokens or 0 for k in killed),
            "completion_tokens": sum(k.completion_tokens or 0 for k in killed),
            "dollars": float(sum(k.dollars or 0.0 for k in killed)),
            "estimated": True,
        },
    }


def limit_text(cap: str, value: float | None) -> str:
    """A cap's limit for people: ``no cap``, ``$2.50``, ``30 min`` or the plain number."""
    if value is None:
        return "no cap"
    if cap == "dollars":
        return f"${value:.2f}"
    if cap == "minutes":
        return f"{value:g} min"
    return f"{value:g}"


def _when(ts: Any) -> str:
    try:
        return dt.datetime.fromtimestamp(float(ts)).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OSError):
        return "-"


def raise_line(entry: Mapping[str, Any]) -> str:
    """One raise of :func:`budget_history` on one line, e.g. ``budget raised 2025-01-02
    10:00:00: evaluations 6 -> 9, minutes 5 min -> no cap``."""
    changes = entry.get("changes") or {}
    what = (
        ", ".join(
            f"{cap} {limit_text(cap, c.get('from'))} -> {limit_text(cap, c.get('to'))}"
            for cap, c in changes.items()
        )
        or "no cap changed"
    )
    return f"budget raised {_when(entry.get('ts'))}: {what}"


def search_line(entry: Mapping[str, Any]) -> str:
    """One search-setting change on one line, e.g. ``search settings changed 2025-01-02
    10:00:00: confidence 0.8 -> 0.9``."""
    changes = entry.get("changes") or {}
    what = (
        ", ".join(f"{key} {c.get('from')} -> {c.get('to')}" for key, c in changes.items())
        or "no setting changed"
    )
    return f"search settings changed {_when(entry.get('ts'))}: {what}"


def history_lines(data: Mapping[str, Any]) -> list[str]:
    """Every line of a run's history (a mapping with :func:`budget_history`'s keys):
    raises, search changes, then the killed evaluations."""
    lines = [raise_line(entry) for entry in data.get("budget_raises") or ()]
    lines += [search_line(entry) for entry in data.get("search_changes") or ()]
    killed = killed_line(data.get("killed") or {})
    return lines + ([killed] if killed else [])


def killed_line(killed: Mapping[str, Any]) -> str | None:
    """The killed evaluations on one line, None when there were none: ``K evaluations
    killed; their calls are estimated (upper bound), not counted`` and the figures charged."""
    k = int(killed.get("evaluations") or 0)
    if k <= 0:
        return None
    head = f"{k} evaluation killed; its calls are" if k == 1 else f"{k} evaluations killed; their calls are"
    tokens = int(killed.get("prompt_tokens") or 0) + int(killed.get("completion_tokens") or 0)
    return (
        f"{head} estimated (upper bound), not counted: {int(killed.get('calls') or 0)} calls, "
        f"{tokens} tokens, ${float(killed.get('dollars') or 0.0):.4f} charged to the budget"
    )

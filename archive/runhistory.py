"""What happened to a run's budget over its life, read from its event log.

Two kinds of event change how a run's spend must be read:

* ``budget_raised`` (a finished run resumed with a raised cap): the caps in force are the
  last raise's ``to``, not the stored config's ``budget`` (:func:`budget_in_force`);
  :class:`BudgetRaise` lists which caps changed from what to what;
* ``evaluation_killed`` (an evaluation task killed at the driver's deadline): its LLM
  calls could not be counted, so the run charged its budget an upper-bound estimate
  instead (:class:`KilledEvaluation`); those figures are estimated, not counted.

Pure functions over plain event details: the reader (:mod:`archive.reader`) and the run
(``evolve.loop.run``, on resume) share them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

CAPS: tuple[str, ...] = ("evaluations", "llm_calls", "dollars", "minutes")
"""The budget's caps, in display order (the values of :class:`archive.vocab.BudgetCap`)."""


@dataclass(frozen=True)
class BudgetRaise:
    """One ``budget_raised`` event: ``ts`` (Unix seconds) and ``changes``, cap ->
    (old limit, new limit) for every cap whose limit changed (None = no cap; units: the
    cap's own, i.e. evaluations, LLM calls, US dollars, minutes)."""

    event_id: int
    ts: float
    changes: Mapping[str, tuple[float | None, float | None]]


@dataclass(frozen=True)
class KilledEvaluation:
    """An evaluation task killed at the driver's deadline. Its LLM calls were not counted;
    the run charged its budget ``calls`` and ``dollars`` (US) instead, upper bounds (its
    LLM allowance where it had one, else the per-evaluation estimate), and estimated
    ``prompt_tokens`` / ``completion_tokens``. None where the event gives no figure."""

    event_id: int
    ts: float
    program_id: str | None
    contexts: tuple[str, ...]
    calls: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    dollars: float | None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _int(value: Any) -> int | None:
    f = _number(value)
    return None if f is None else int(round(f))


def section_in_force(
    run_config: Mapping[str, Any], section: str, changes: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """A config section a resume may change (``budget``, ``search``): the ``to`` of the last
    of ``changes`` (details of its change events, oldest first, each ``{"from", "to"}``) when
    there is one, else the stored config's ``section`` (``{}`` when neither has one)."""
    for detail in reversed(changes):
        to = detail.get("to") if isinstance(detail, Mapping) else None
        if isinstance(to, Mapping):
            return dict(to)
    stored = run_config.get(section)
    return dict(stored) if isinstance(stored, Mapping) else {}


def budget_in_force(run_config: Mapping[str, Any], raised: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The caps a run works to: :func:`section_in_force` of ``budget`` over the details of
    its ``budget_raised`` events."""
    return section_in_force(run_config, "budget", raised)


def setting_changes(
    detail: Mapping[str, Any], *, first: Sequence[str] = (), value: Callable[[Any], Any] = lambda v: v
) -> dict[str, tuple[Any, Any]]:
    """key -> (old, new) for every key whose ``value`` differs between a change event's
    ``from`` and ``to`` tables; keys of ``first`` in that order, then the rest sorted."""
    before, after = detail.get("from"), detail.get("to")
    old: Mapping[str, Any] = before if isinstance(before, Mapping) else {}
    new: Mapping[str, Any] = after if isinstance(after, Mapping) else {}
    keys = [k for k in first if k in old or k in new] + sorted(str(k) for k in {*old, *new} if k not in first)
    return {
        str(k): (value(old.get(k)), value(new.get(k))) for k in keys if value(old.get(k)) != value(new.get(k))
    }


def budget_raise(event_id: int, ts: float, detail: Mapping[str, Any]) -> BudgetRaise:
    """The :class:`BudgetRaise` of one ``budget_raised`` event's detail (``from``/``to``)."""
    return BudgetRaise(
        event_id=int(event_id), ts=float(ts), changes=setting_changes(detail, first=CAPS, value=_number)
    )


def killed_evaluation(
    event_id: int, ts: float, program_id: str | None, detail: Mapping[str, Any]
) -> KilledEvaluation:
    """The :class:`KilledEvaluation` of one ``evaluation_killed`` event's detail."""
    contexts = detail.get("contexts")
    return KilledEvaluation(
        event_id=int(event_id),
        ts=float(ts),
        program_id=program_id,
        contexts=tuple(str(c) for c in contexts) if isinstance(contexts, (list, tuple)) else (),
        calls=_int(detail.get("calls")),
        prompt_tokens=_int(detail.get("prompt_tokens")),
        completion_tokens=_int(detail.get("completion_tokens")),
        dollars=_number(detail.get("dollars")),
    )


def killed_charges(details: Sequence[Mapping[str, Any]]) -> tuple[int, float]:
    """(LLM calls, US dollars) the run charged its budget for killed evaluations, summed
    over ``details`` (of ``evaluation_killed`` events)."""
    calls = sum(_int(d.get("calls")) or 0 for d in details)
    dollars = sum(_number(d.get("dollars")) or 0.0 for d in details)
    return int(calls), float(dollars)


def calls_by_stage(counters: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """stage -> role -> uncached LLM calls, from a run's counters (``calls.<stage>.<role>``,
    bumped with the call rows they count; see ``evolve.budget.spend``). Other counters are ignored."""
    out: dict[str, dict[str, int]] = {}
    for name, value in counters.items():
        parts = str(name).split(".")
        if len(parts) != 3 or parts[0] != "calls":
            continue
        n = _int(value)
        if n:
            out.setdefault(parts[1], {})[parts[2]] = out.get(parts[1], {}).get(parts[2], 0) + n
    return out


def rejected_smoke_calls(details: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """reason -> persona/respondent calls spent on the smoke stage of children rejected
    there (the ``smoke_calls`` of ``rejected`` events' ``details``; events without it count 0)."""
    out: dict[str, int] = {}
    for d in details:
        n = _int(d.get("smoke_calls")) if isinstance(d, Mapping) else None
        if n:
            reason = str(d.get("reason", "unspecified"))
            out[reason] = out.get(reason, 0) + n
    return out

"""What a run spends in LLM calls, per stage and role (issue 22, item 5).

Every LLM call the controller stores (:meth:`evolve.loop.controller.Controller._record_calls`)
is tagged with the *stage* it was spent on (:data:`STAGES`); the archive counts uncached
calls per (stage, role) in its ``counters`` table (``calls.<stage>.<role>``) in the same
transaction as the call rows, so a resumed run keeps them and they always add up to the
per-role totals of the ``llm_calls`` table (calls stored without a stage, e.g. the
mutator's pre-flight ping or those of an older version, show as ``unstaged``).

Stages: ``propose`` (the mutator, every proposal: rejected ones included), ``seeding``
(the seed programs' train and validation evaluations), ``smoke`` (children's smoke
stage, twins and cascade rejections included), ``train`` (the rest of a child's train
set), ``race`` (promotion races' replicates and the champion's measurement),
``validation`` (new island bests on the validation contexts), ``robust`` (re-validation
in other worlds), ``test`` (the closing test stage).

:class:`SpendLedger` tags the calls and keeps this session's counts per program and stage
(the smoke calls of a rejected child go on its ``rejected`` event as ``smoke_calls``);
:func:`spend_report` builds the ``spend`` block of the run summary, ``inspect summary``
and the report from stored figures.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

__all__ = ["STAGES", "SpendLedger", "spend_report", "render_spend_lines"]

STAGES: tuple[str, ...] = ("propose", "seeding", "smoke", "train", "race", "validation", "robust", "test")
"""The stages a call is counted under, in display order."""

ROLES: tuple[str, ...] = ("mutator", "persona", "respondent", "author")
"""Roles in display order (others after, by name)."""

MUTATOR_ROLE = "mutator"


class SpendLedger:
    """Tags LLM call records with their stage and counts them (uncached calls only, as the
    budget does). A ``mutator`` call is always counted under ``propose``: the driver's
    calls are drained by whichever store comes next, so their stage is their role's."""

    def __init__(self) -> None:
        self._by_program: dict[tuple[str, str], int] = {}

    def tag(
        self, calls: Sequence[Mapping[str, Any]], *, stage: str, program: str | None
    ) -> list[dict[str, Any]]:
        """Copies of ``calls`` with ``stage`` set (``propose`` for the mutator role) and
        ``program_id`` defaulted to ``program``. Raises ValueError for an unknown stage."""
        if stage not in STAGES:
            raise ValueError(f"SpendLedger.tag: unknown stage {stage!r} (one of {', '.join(STAGES)})")
        out = []
        for c in calls:
            d = dict(c)
            if program:
                d.setdefault("program_id", program)
            d["stage"] = "propose" if d.get("role") == MUTATOR_ROLE else stage
            if not d.get("cached") and d.get("program_id"):
                key = (str(d["program_id"]), d["stage"])
                self._by_program[key] = self._by_program.get(key, 0) + 1
            out.append(d)
        return out

    def program_calls(self, program: str, stage: str) -> int:
        """Uncached calls tagged ``stage`` and charged to ``program`` in this session."""
        return self._by_program.get((program, stage), 0)


SPEND_FIELDS = ("calls", "cached", "errors", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s")
"""The per-role spend columns of :meth:`archive.core.Archive.spend_by_role` (counts, tokens,
US dollars, seconds)."""


def spend_total(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Each of :data:`SPEND_FIELDS` summed over per-role spend rows (0 for no row)."""
    rows = list(rows)
    return {k: sum(r[k] for r in rows) for k in SPEND_FIELDS}


def _ordered(keys: Sequence[str], order: Sequence[str]) -> list[str]:
    return [k for k in order if k in keys] + sorted(k for k in keys if k not in order)


def spend_report(
    *,
    by_stage: Mapping[str, Mapping[str, int]],
    by_role: Mapping[str, Mapping[str, Any]],
    proposals: int,
    evaluated: int,
    rejections: Mapping[str, int],
    rejected_smoke_calls: Mapping[str, int],
    race_evaluations: int | None = None,
    races_skipped: int = 0,
) -> dict[str, Any]:
    """The ``spend`` block: uncached LLM calls ``by_stage`` (stage -> role -> calls, from
    the counters), per ``role`` (from ``by_role``: the ``llm_calls`` table's rows, calls
    and cached per role), the ``unstaged`` rest per role, the ``total``, and what the
    calls bought: ``proposals`` (mutator answers asked for), ``evaluated`` (children that
    reached a full train evaluation), ``rejections`` (reason -> proposals rejected before
    it) and ``rejected_smoke_calls`` (reason -> persona/respondent calls spent on the
    smoke stage of children then rejected), ``race_evaluations`` and ``races_skipped``
    (races not run: out of reach). The shares are fractions in [0, 1] of ``total``."""
    roles = {str(r): int(v.get("calls", 0)) - int(v.get("cached", 0)) for r, v in by_role.items()}
    stages = {s: {r: int(n) for r, n in by_stage[s].items() if n} for s in _ordered(list(by_stage), STAGES)}
    staged_role: dict[str, int] = {}
    for row in stages.values():
        for r, n in row.items():
            staged_role[r] = staged_role.get(r, 0) + n
    unstaged = {
        r: roles.get(r, 0) - staged_role.get(r, 0) for r in roles if roles.get(r, 0) != staged_role.get(r, 0)
    }
    total = sum(roles.values())
    rejected = sum(int(v) for v in rejections.values())
    wasted_smoke = sum(int(v) for v in rejected_smoke_calls.values())
    mutator = roles.get(MUTATOR_ROLE, 0)
    rejected_mutator = round(mutator * rejected / proposals) if proposals else 0
    return {
        "total": total,
        "by_role": {r: roles[r] for r in _ordered(list(roles), ROLES)},
        "by_stage": stages,
        "stage_totals": {s: sum(row.values()) for s, row in stages.items()},
        "unstaged": unstaged,
        "proposals": int(proposals),
        "evaluated": int(evaluated),
        "rejections": dict(sorted(((str(k), int(v)) for k, v in rejections.items()), key=lambda kv: -kv[1])),
        "rejected_smoke_calls": {str(k): int(v) for k, v in rejected_smoke_calls.items() if v},
        "rejected_share": (rejected / proposals) if proposals else None,
        "wasted_calls": rejected_mutator + wasted_smoke,
        "wasted_share": ((rejected_mutator + wasted_smoke) / total) if total else None,
        "race_evaluations": race_evaluations,
        "races_skipped": int(races_skipped),
    }


def render_spend_lines(spend: Mapping[str, Any] | None) -> list[str]:
    """Plain-text lines of a :func:`spend_report` block ([] when there is none)."""
    if not spend:
        return []
    lines = [
        f"LLM calls (uncached): {spend['total']} — "
        + ", ".join(f"{r} {n}" for r, n in spend["by_role"].items())
    ]
    if spend["by_stage"]:
        lines.append(
            "  by stage: "
            + ", ".join(
                f"{s} {n} ({', '.join(f'{r} {c}' for r, c in spend['by_stage'][s].items())})"
                for s, n in spend["stage_totals"].items()
                if n
            )
        )
    if spend["unstaged"]:
        lines.append(
            "  unstaged (pre-flight, older versions): "
            + ", ".join(f"{r} {n}" for r, n in spend["unstaged"].items())
        )
    if spend["proposals"]:
        rej = ", ".join(f"{k} {v}" for k, v in spend["rejections"].items()) or "none"
        lines.append(
            f"  proposals {spend['proposals']}: {spend['evaluated']} evaluated, rejected before a full "
            f"evaluation: {rej}"
        )
    if spend["rejected_smoke_calls"]:
        lines.append(
            "  smoke calls of rejected children: "
            + ", ".join(f"{k} {v}" for k, v in spend["rejected_smoke_calls"].items())
        )
    if spend.get("wasted_share") is not None:
        lines.append(
            f"  spent on proposals that were never evaluated: {spend['wasted_calls']} calls "
            f"({spend['wasted_share'] * 100:.0f} %)"
        )
    if spend.get("races_skipped"):
        lines.append(f"  races skipped (candidate out of reach): {spend['races_skipped']}")
    return lines


def _detail(event: Any) -> Mapping[str, Any]:
    d = event.get("detail") if isinstance(event, Mapping) else getattr(event, "detail", None)
    return d if isinstance(d, Mapping) else {}


def spend_of(source: Any) -> dict[str, Any]:
    """:func:`spend_report` of a run from its archive: ``source`` is the writer
    (:class:`archive.Archive`) or a reader (:class:`archive.reader.ArchiveReader`); every
    figure is read from what the archive stored, so it covers every session of the run."""
    from archive.runhistory import rejected_smoke_calls

    counts = source.counts()
    if isinstance(counts, Mapping):  # the writer
        by_stage, rejections = counts.get("calls_by_stage") or {}, counts.get("rejected") or {}
        by_role = source.spend_by_role()
        evaluated = sum(1 for e in source.events(kind="evaluated") if _detail(e).get("stage") == "train")
    else:  # a reader
        by_stage, rejections = counts.calls_by_stage, counts.rejections
        by_role = {str(s.role): {"calls": s.calls, "cached": s.cached} for s in source.spend()}
        evaluated = int(counts.proposal_evaluations)
    raced = source.events(kind="raced")
    return spend_report(
        by_stage=by_stage,
        by_role=by_role,
        proposals=len(source.events(kind="proposed")),
        evaluated=evaluated,
        rejections=rejections,
        rejected_smoke_calls=rejected_smoke_calls([_detail(e) for e in source.events(kind="rejected")]),
        race_evaluations=sum(int(_detail(e).get("evaluations") or 0) for e in raced),
        races_skipped=len(source.events(kind="race_skipped")),
    )

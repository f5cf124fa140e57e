"""``inspect front``: the programs on the Pareto front of validation coverage against cost.

Cost is persona-role LLM tokens (prompt + completion) per persona placed, over the same
validation evaluations as the coverage (``archive.reading.costs``: the
``llm_tokens_per_persona`` rule applied to validation). A program is on the front when no
other validated program has at least its coverage at no more tokens per persona, one of the
two strictly (``metrics.pareto``). Programs without a validation evaluation are not on the
front (they are counted as ``unvalidated``), nor are validated programs that placed no
persona (``without_cost``). In the simulated world the tokens are counted by the sim
client: SIMULATED, like every other figure of a sim run.

JSON shape (stable)::

    {"simulated": bool, "tokens_simulated": bool, "stage": "validation", "score": "coverage",
     "cost": "llm_tokens_per_persona", "validated": int, "unvalidated": int, "without_cost": int,
     "champion": str|null,
     "front": [{"rank": int, "id": str, "label": str|null, "generation": int, "coverage": float,
                "tokens_per_persona": float, "tokens": int, "personas": int, "evaluations": int,
                "champion": bool}],          # cheapest first; coverage rises along it
     "dominated": [{... same fields, "rank": null}]}   # the other validated programs, cheapest first
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archive.reading.costs import ProgramCost
from evolve.outputs.inspect.render import fmt, table
from evolve.outputs.inspect.source import InspectError, Source
from evolve.outputs.labels import SIM_LINE, SIM_TOKENS_LINE, SIM_TOKENS_TAG
from metrics.pareto import pareto_front

__all__ = ["SIM_TOKENS_LINE", "best_under_cost", "front", "render_front"]


def _costed(src: Source) -> tuple[list[ProgramCost], int, int]:
    table_ = src.reader.validation_costs()
    costed = [p for p in table_.programs if p.tokens_per_persona is not None]
    return costed, len(table_.programs), table_.unvalidated


def _row(p: ProgramCost, rank: int | None, champion: str | None) -> dict[str, Any]:
    return {
        "rank": rank,
        "id": p.program_id,
        "label": p.label,
        "generation": p.generation,
        "coverage": p.coverage,
        "tokens_per_persona": p.tokens_per_persona,
        "tokens": p.tokens,
        "personas": p.personas,
        "evaluations": p.evaluations,
        "champion": p.program_id == champion,
    }


def front(src: Source) -> dict[str, Any]:
    """The cost front of the run (see the module docstring for the shape). Raises
    InspectError when no program of the run has a validation evaluation."""
    costed, validated, unvalidated = _costed(src)
    if not validated:
        raise InspectError(
            f"no program of run {src.run_id} in {src.db} has a validation evaluation yet "
            f"({unvalidated} unvalidated programs); the cost front needs validation coverage"
        )
    on = (
        pareto_front([p.coverage for p in costed], [float(p.tokens_per_persona or 0.0) for p in costed])
        if costed
        else np.zeros(0, dtype=np.int64)
    )
    champ = src.reader.champion()
    champion = champ.program.id if champ is not None else None
    on_set = {int(i) for i in on}
    rest = sorted(
        (p for i, p in enumerate(costed) if i not in on_set),
        key=lambda p: (p.tokens_per_persona, -p.coverage, p.program_id),
    )
    simulated = src.simulated()
    return {
        "simulated": simulated,
        "tokens_simulated": simulated,
        "stage": "validation",
        "score": "coverage",
        "cost": "llm_tokens_per_persona",
        "validated": validated,
        "unvalidated": unvalidated,
        "without_cost": validated - len(costed),
        "champion": champion,
        "front": [_row(costed[int(i)], r, champion) for r, i in enumerate(on, 1)],
        "dominated": [_row(p, None, champion) for p in rest],
    }


def best_under_cost(src: Source, max_tokens_per_persona: float) -> dict[str, Any]:
    """The validated program with the highest validation coverage whose tokens per persona
    is <= ``max_tokens_per_persona`` (ties: the cheaper, then the lower id), as a front row.
    Raises InspectError (one line) when none qualifies, naming the cheapest program's cost."""
    cap = float(max_tokens_per_persona)
    if not np.isfinite(cap) or cap < 0:
        raise InspectError(f"--max-tokens-per-persona must be a number >= 0, got {max_tokens_per_persona!r}")
    costed, validated, unvalidated = _costed(src)
    if not costed:
        raise InspectError(
            f"no program of run {src.run_id} in {src.db} has a validation evaluation with "
            f"personas ({validated} validated, {unvalidated} unvalidated); "
            f"nothing to choose by cost"
        )
    ok = [p for p in costed if p.tokens_per_persona <= cap]  # type: ignore[operator]
    if not ok:
        cheap = min(costed, key=lambda p: (p.tokens_per_persona, -p.coverage, p.program_id))
        raise InspectError(
            f"no validated program uses <= {cap:g} tokens per persona; the cheapest, "
            f"{cheap.program_id}, uses {cheap.tokens_per_persona:.1f}"
            f"{SIM_TOKENS_TAG if src.simulated() else ''}"
        )
    best = min(ok, key=lambda p: (-p.coverage, p.tokens_per_persona, p.program_id))
    return _row(best, None, None)


def _rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            r["rank"] if r["rank"] is not None else "-",
            r["id"] + (" *" if r["champion"] else ""),
            r["label"] or "-",
            fmt(r["coverage"]),
            fmt(r["tokens_per_persona"], 1),
            r["personas"],
            r["evaluations"],
        ]
        for r in items
    ]


def render_front(data: dict[str, Any], *, dominated: int = 10) -> str:
    """Readable text of :func:`front`: the front, then up to ``dominated`` other programs."""
    lines = [SIM_LINE, SIM_TOKENS_LINE[0].upper() + SIM_TOKENS_LINE[1:] + "."] if data["simulated"] else []
    lines.append(
        f"cost front: validation coverage (higher is better) against persona-role LLM tokens per "
        f"persona (lower is better); {len(data['front'])} of {data['validated']} validated programs "
        f"are on it"
    )
    left = []
    if data["unvalidated"]:
        left.append(f"{data['unvalidated']} programs have no validation evaluation and are not on the front")
    if data["without_cost"]:
        left.append(f"{data['without_cost']} validated programs placed no persona (no cost)")
    lines += left
    headers = ["#", "program", "label", "coverage", "tokens/persona", "personas", "val evals"]
    lines += ["", table(headers, _rows(data["front"]), right=(0, 3, 4, 5, 6))]
    if data["champion"] and not any(r["champion"] for r in data["front"]):
        lines.append(f"(* champion {data['champion']} is not on the front)")
    elif data["champion"]:
        lines.append("(* = the champion)")
    if data["dominated"]:
        shown = data["dominated"][:dominated]
        lines += [
            "",
            f"dominated programs (cheapest first, {len(shown)} of {len(data['dominated'])}):",
            table(headers, _rows(shown), right=(3, 4, 5, 6)),
        ]
    return "\n".join(lines)

"""Turning per-context outcomes into fitness, descriptors and archive records.

Fitness of an evaluation = the mean over its contexts of the per-context fitness
(``metrics.fitness`` of that context's six metrics under the run's objective); a
context that failed contributes 0, so a program that breaks on some contexts is
ranked below one that works everywhere. ``metrics`` on the record is the mean of the
six metrics over the contexts that succeeded.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

import metrics
from archive.records import ContextResult, EvaluationRecord
from generators.evaluation import ContextOutcome, mean_metrics, tokens_per_persona
from generators.respondent import persona_text
from metrics.descriptors import ContextSample, program_descriptors

Objective = str | Mapping[str, float]


def context_fitness(outcome: ContextOutcome, objective: Objective) -> float:
    """Fitness on one context (0.0 when the context failed)."""
    if not outcome.metrics:
        return 0.0
    value = float(metrics.fitness(outcome.metrics, objective))
    return value if np.isfinite(value) else 0.0


def mean_fitness(outcomes: Sequence[ContextOutcome], objective: Objective) -> float:
    """Mean per-context fitness; 0.0 for an empty sequence."""
    if not outcomes:
        return 0.0
    return float(np.mean([context_fitness(o, objective) for o in outcomes]))


def stored_fitness(evaluations: Iterable[Any], objective: Objective) -> dict[str, float]:
    """Per-context fitness (context id -> fitness; 0.0 for a failed context) of the stored
    replicate-0 rows among ``evaluations`` (:class:`archive.records.EvaluationView`; a row
    without a replicate counts as replicate 0; a later row's context wins); {} when none."""
    found: dict[str, float] = {}
    for ev in evaluations:
        if getattr(ev, "replicate", 0) not in (0, None):
            continue
        for ctx in ev.contexts:
            found[ctx.context_id] = (
                0.0 if not ctx.metrics else context_fitness(_stored_outcome(ctx), objective)
            )
    return found


def _stored_outcome(ctx: Any) -> ContextOutcome:
    """A stored context result (:class:`archive.records.ContextView`) as an outcome."""
    return ContextOutcome(ctx.context_id, dict(ctx.metrics) if ctx.metrics else None, ctx.positions, None)


def descriptors_of(outcomes: Sequence[ContextOutcome], *, n: int) -> dict[str, float]:
    """Every behaviour descriptor of :data:`metrics.descriptors.DESCRIPTORS` the outcomes
    allow (name -> value), computed over the contexts that ran (returned personas or spent
    tokens): the archive bins the ones its config names and stores them all, so any run
    can be re-read under another descriptor set (``scripts/bench_archive_value.py``).
    ``tail_share`` is 0.0 and ``llm_tokens_per_persona`` 0.0 when no context ran, as before."""
    samples = [context_sample(o, n=n) for o in outcomes if o.personas is not None or o.tokens]
    out = program_descriptors(samples)
    out.setdefault("tail_share", 0.0)
    out["llm_tokens_per_persona"] = tokens_per_persona(outcomes, n)
    return out


def context_sample(outcome: ContextOutcome, *, n: int) -> ContextSample:
    """The descriptor inputs of one context outcome (``n``: personas asked)."""
    personas = outcome.personas or []
    chars = (
        float(np.mean([len(persona_text(p)) if isinstance(p, Mapping) else len(str(p)) for p in personas]))
        if personas
        else None
    )
    return ContextSample(
        positions=outcome.positions,
        asked=n,
        returned=len(personas),
        tokens=int(outcome.tokens),
        calls=int(outcome.calls),
        prompts=int(outcome.prompts),
        text_chars=chars,
    )


def first_error(outcomes: Sequence[ContextOutcome]) -> str | None:
    """The first context error, prefixed with its context id (None when all succeeded)."""
    for o in outcomes:
        if o.error:
            return f"{o.context_id}: {o.error}"
    return None


def to_record(
    stage: str,
    outcomes: Sequence[ContextOutcome],
    *,
    objective: Objective,
    keep_personas: bool = False,
    wall_s: float = 0.0,
) -> EvaluationRecord:
    """An archive :class:`EvaluationRecord` for ``outcomes`` at ``stage``."""
    all_failed = bool(outcomes) and all(o.metrics is None for o in outcomes)
    return EvaluationRecord(
        stage=stage,
        contexts=[
            ContextResult(
                context_id=o.context_id,
                metrics=o.metrics,
                positions=o.positions,
                personas=o.personas,  # the archive keeps all (keep_personas), elites' or exemplars
                error=o.error if o.error is None else (o.error + ("\n" + o.detail if o.detail else "")),
                tokens=o.tokens,
                missing_answers=o.missing,
                wall_s=o.wall_s,
            )
            for o in outcomes
        ],
        fitness=None if all_failed else mean_fitness(outcomes, objective),
        metrics=mean_metrics(outcomes),
        error=first_error(outcomes) if all_failed else None,
        wall_s=wall_s,
        keep_personas=keep_personas,
    )

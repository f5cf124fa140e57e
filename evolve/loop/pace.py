"""What a run can expect on this machine, measured at its start (issue 23).

Every new run first evaluates its seed programs (train and validation contexts, then the
first champion's replicates): that stage runs the same sandboxed evaluations, on the same
Ray workers and cores, as the search that follows. Its wall time and the number of context
evaluations it made give this machine's throughput now (contexts per second, load
included). One evaluation of the search is one program on the train contexts, plus the
share of promotion races and validations that come with it at a default run's rate (the
*expected* rates of :mod:`evolve.budget.estimate`), so

    seconds per evaluation = contexts per evaluation / (contexts evaluated while seeding / seeding seconds)

and a minutes cap buys about ``minutes x 60 / seconds per evaluation`` evaluations (an
evaluation cap takes about ``evaluations x seconds per evaluation``). The figure is rough:
the seed programs are not the evolved ones (seed:naive makes one call per context), the
cascade's rejected proposals cost a smoke stage each, and the load may change; the line
says what it was measured on. A resumed run does not re-evaluate its seeds and prints none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from archive.identity import program_id
from evolve.outputs.progress import clock


@dataclass(frozen=True)
class Pace:
    """Throughput measured on the seeding stage.

    ``seconds``: wall seconds of the stage (> 0); ``contexts``: context evaluations it made
    (>= 1); ``contexts_per_evaluation``: context evaluations one search evaluation brings
    (> 0; :func:`evaluation_contexts`)."""

    seconds: float
    contexts: int
    contexts_per_evaluation: float

    @property
    def seconds_per_evaluation(self) -> float:
        """Expected wall seconds per search evaluation on this machine (> 0)."""
        return self.seconds * self.contexts_per_evaluation / self.contexts

    def evaluations_in(self, minutes: float) -> int:
        """Expected evaluations in ``minutes`` of evolution (>= 0, rounded down)."""
        return max(0, int(minutes * 60.0 / self.seconds_per_evaluation))


def seed_contexts(archive: Any, program_ids: Iterable[str]) -> int:
    """Context evaluations stored for ``program_ids`` (every stage; failed contexts count:
    they took their time too)."""
    return sum(len(ev.contexts) for pid in dict.fromkeys(program_ids) for ev in archive.evaluations(pid))


def evaluation_contexts(config: Any, contexts: Any) -> float:
    """Context evaluations one search evaluation brings, on average: the train contexts
    (the screening set when there is one), then, when ``[search] promotion`` is on, the
    expected island races on train and the validations and champion races on validation
    (:data:`evolve.budget.estimate.ISLAND_RACE_TRAIN_EVALUATIONS` and the other expected rates)."""
    from evolve.budget.estimate import (
        CHAMPION_RACE_VALIDATION_EVALUATIONS,
        ISLAND_RACE_TRAIN_EVALUATIONS,
        VALIDATION_SHARE,
    )

    train, validation = len(contexts.train_ids), len(contexts.validation_ids)
    if not config.search.promotion:
        return train + VALIDATION_SHARE * validation
    return train * (1.0 + ISLAND_RACE_TRAIN_EVALUATIONS) + validation * (
        VALIDATION_SHARE + CHAMPION_RACE_VALIDATION_EVALUATIONS
    )


async def measured_seeding(
    controller: Any, seeds: Mapping[str, str], *, clock_s: Callable[[], float] = time.monotonic
) -> tuple[dict[str, str], Pace | None]:
    """Run ``controller.seed_archive(seeds)`` (``label -> code``) and measure it: returns its
    ``label -> program id`` and the :class:`Pace` (None when the stage evaluated nothing, as
    on a resume whose seeds were stored before, or took no time). ``clock_s``: monotonic
    seconds, injectable for tests."""
    ids = [program_id(code) for code in seeds.values()]
    before = seed_contexts(controller.archive, ids)
    t0 = clock_s()
    seed_ids = await controller.seed_archive(seeds)
    seconds = clock_s() - t0
    made = seed_contexts(controller.archive, list(seed_ids.values())) - before
    per_evaluation = evaluation_contexts(controller.config, controller.contexts)
    if made < 1 or seconds <= 0 or per_evaluation <= 0:
        return seed_ids, None
    return seed_ids, Pace(seconds=seconds, contexts=made, contexts_per_evaluation=per_evaluation)


def expectation(
    pace: Pace | None, *, minutes: float | None, evaluations: int | None
) -> dict[str, Any] | None:
    """The run's expectation as a JSON-able dict (None without a pace): seconds per
    evaluation and what they were measured on; for a minutes cap the evaluations it buys
    (``evaluations_in_minutes``), for an evaluation cap the minutes it takes
    (``minutes_for_evaluations``); ``line``, the sentence a run prints."""
    if pace is None:
        return None
    per = pace.seconds_per_evaluation
    out: dict[str, Any] = {
        "seconds_per_evaluation": round(per, 3),
        "measured_on": "seeds",
        "seeding_seconds": round(pace.seconds, 3),
        "seeding_contexts": pace.contexts,
        "contexts_per_evaluation": round(pace.contexts_per_evaluation, 3),
        "minutes": minutes,
        "evaluations_in_minutes": None,
        "evaluations": evaluations,
        "minutes_for_evaluations": None,
    }
    parts = []
    if minutes is not None:
        out["evaluations_in_minutes"] = pace.evaluations_in(minutes)
        parts.append(f"about {out['evaluations_in_minutes']} evaluations in {minutes:g} minutes")
    if evaluations is not None:
        out["minutes_for_evaluations"] = round(evaluations * per / 60.0, 2)
        parts.append(f"about {clock(evaluations * per)} for {evaluations} evaluations")
    expect = " or ".join(parts) + (", whichever comes first" if len(parts) > 1 else "")
    out["line"] = (
        f"expect {expect} on this machine (measured on the seeds: {per:.1f} s per evaluation)"
        if parts
        else f"expect about {per:.1f} s per evaluation on this machine (measured on the seeds)"
    )
    return out

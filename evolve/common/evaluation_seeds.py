"""Seeds of evaluations: common random numbers across programs (issue 13, item 1).

A run draws, for replicate ``r``, one base seed ``crn_seed(run_seed, r)`` shared by every
program and stage; :func:`generators.evaluation.evaluate_program` derives each context's
seeds from the base seed and the context id only. So two programs scored at the same
replicate saw the same program ``rng``, persona-call and respondent seeds on every context
they share: an edit that changes nothing ties exactly, and a difference is the programs'
own. Replicate 0 is the one every proposal is scored at; promotion races add replicates
1, 2, ... The archive stores each evaluation's base seed and replicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generators.evaluation import call_seed


def crn_seed(run_seed: int, replicate: int) -> int:
    """The base seed (63-bit) of ``replicate`` (>= 0) in the run seeded ``run_seed``."""
    if replicate < 0:
        raise ValueError(f"replicate must be >= 0, got {replicate}")
    return call_seed(int(run_seed), "crn", int(replicate))


@dataclass(frozen=True)
class EvalSeed:
    """The seed of one evaluation and the replicate it belongs to (None: unpaired)."""

    seed: int
    replicate: int | None


class SeedPlan:
    """Seeds for a run: paired (common random numbers) or a fresh draw per evaluation."""

    def __init__(self, *, run_seed: int, paired: bool, rng: np.random.Generator) -> None:
        self.run_seed = int(run_seed)
        self.paired = bool(paired)
        self._rng = rng

    def for_replicate(self, replicate: int = 0) -> EvalSeed:
        """The seed of an evaluation at ``replicate``; unpaired plans ignore it and draw."""
        if not self.paired:
            return EvalSeed(int(self._rng.integers(2**62)), None)
        return EvalSeed(crn_seed(self.run_seed, replicate), int(replicate))

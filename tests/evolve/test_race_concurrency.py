"""Races that run at once (issue 10's estimate counts race evaluations from ``raced``
events): each race reports only its own evaluations, and an incumbent two races need at
the same replicate is evaluated once."""

from __future__ import annotations

import asyncio
from collections import Counter

from evolve.promotion.race_rule import RaceRule
from evolve.promotion.racer import Racer
from generators.evaluation import ContextOutcome

IDS = ("a", "b", "c")
QUALITY = {"incumbent": 0.50, "strong": 0.80, "weak": 0.20}


def test_concurrent_races_share_the_incumbent_and_count_their_own_evaluations():
    calls: Counter[tuple[str, int]] = Counter()

    async def evaluate_at(pid, code, ids, replicate):
        calls[(pid, replicate)] += 1
        await asyncio.sleep(0.01)  # both races wait here together
        return [ContextOutcome(cid, {"coverage": QUALITY[pid] + 0.01 * replicate}, None, None) for cid in ids]

    racer = Racer(
        rule=RaceRule(confidence=0.9, max_replicates=4),
        evaluate_at=evaluate_at,
        fitness=lambda o: o.metrics["coverage"],
    )

    async def both():
        return await asyncio.gather(
            racer.race(
                stage="train", context_ids=IDS, candidate=("strong", ""), incumbent=("incumbent", ""), first=1
            ),
            racer.race(
                stage="train", context_ids=IDS, candidate=("weak", ""), incumbent=("incumbent", ""), first=1
            ),
        )

    strong, weak = asyncio.run(both())
    assert strong.accepted and not weak.accepted
    assert all(n == 1 for (pid, _), n in calls.items())  # nobody evaluated twice at one replicate
    assert strong.evaluations + weak.evaluations == sum(calls.values()) == racer.evaluations

"""Island bests and the champion of a run (issue 13, item 2).

A child that beats its island's best on replicate 0 becomes the island's best at once, or,
with promotion races (``search.promotion``), only when a race on fresh train replicates
establishes its advantage (:class:`evolve.promotion.racer.Racer`); a new island best is validated and
then raced against the champion on every validation context. The best seed on validation
is the first champion. Every race is logged as a ``raced`` event, every new champion as a
``champion`` event (a resumed run starts from the latest one).

:class:`Promoter` owns this state; the controller owns it in turn and lends it what it
needs from the evaluation side (the stored fitness tables, the validation of a program).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping, Sequence

import numpy as np

from archive.records import EliteView
from evolve.common.context_sets import ContextSets
from evolve.common.evaluation_seeds import SeedPlan
from evolve.common.run_stats import RunStats
from evolve.common.search import SearchSettings
from evolve.execution.protocols import ArchiveStore
from evolve.promotion.race_rule import Interval, mean_interval, paired_diffs
from evolve.promotion.racer import Racer, RaceResult
from evolve.promotion.reach import within_reach


@dataclass(frozen=True)
class ChampionInfo:
    """The champion and its validation fitness over contexts x replicates (``interval``);
    ``advantage``: the race it won against ``incumbent`` (None for the first one)."""

    program_id: str
    interval: Interval
    replicates: int
    contexts: int
    advantage: Interval | None = None
    incumbent: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The detail of the ``champion`` event: the interval, replicates, contexts and,
        after a race, its ``advantage`` and ``incumbent``."""
        out: dict[str, Any] = {
            **self.interval.as_dict(),
            "replicates": self.replicates,
            "contexts": self.contexts,
        }
        if self.advantage is not None:
            out["advantage"] = self.advantage.as_dict()
            out["incumbent"] = self.incumbent
        return out


def stored_champion(archive: ArchiveStore) -> ChampionInfo | None:
    """The champion of an earlier session of this run (its latest ``champion`` event);
    None when there is none or its detail is unreadable."""
    try:
        events = archive.events(kind="champion")
    except Exception:  # noqa: BLE001 - an archive without events: no champion yet
        return None
    if not events:
        return None
    e = events[-1]
    d = e.get("detail") or {}
    try:
        iv = Interval(
            float(d["mean"]), float(d["low"]), float(d["high"]), int(d["n"]), float(d["confidence"])
        )
    except (KeyError, TypeError, ValueError):
        return None
    return ChampionInfo(str(e.get("program_id")), iv, int(d.get("replicates", 1)), int(d.get("contexts", 0)))


StageTable = Callable[[str, str], dict[str, float]]
"""(program id, stage) -> context id -> fitness of its replicate 0 ({} when not evaluated)."""

Validate = Callable[[str, str], Awaitable[None]]
"""(program id, code) -> evaluates the program on the validation contexts and stores it."""


@dataclass(kw_only=True, eq=False)
class Promoter:
    """Decides island bests (``island_best``: island -> (program id, train fitness)) and
    the champion (``champion``; at first the stored one of a resumed run), racing
    candidates when ``search.promotion``. ``stage_table`` and ``validate`` are the
    controller's; ``on_change`` is called after each race."""

    archive: ArchiveStore
    contexts: ContextSets
    search: SearchSettings
    islands: int
    racer: Racer
    seeds: SeedPlan
    stats: RunStats
    stage_table: StageTable
    validate: Validate
    on_change: Callable[[], None]
    island_best: dict[int, tuple[str, float]] = field(default_factory=dict, init=False)
    champion: ChampionInfo | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.champion = stored_champion(self.archive)

    def refresh_best(self) -> None:
        """Island bests from the grids: the best elite of each island, unless promotion
        races decide (then a grid's best is adopted only when it was established: a seed,
        or a program that won a race, e.g. arriving by migration)."""
        for island in range(self.islands):
            elites = list(self.archive.grid(island).elites)
            if not elites:
                continue
            best = max(elites, key=lambda e: (e.fitness, e.program_id))
            current = self.island_best.get(island)
            if self.search.promotion and current is not None:
                established = {pid for pid, _ in self.island_best.values()}
                better = [e for e in elites if e.program_id in established and e.fitness > current[1]]
                if not better:
                    continue
                best = max(better, key=lambda e: (e.fitness, e.program_id))
            self.island_best[island] = (best.program_id, float(best.fitness))
            self.stats.best_by_island[island] = float(best.fitness)

    async def promote(
        self,
        pid: str,
        code: str,
        island: int,
        fitness: float,
        incumbent: tuple[str, float] | None,
        *,
        displaced: EliteView | None = None,
    ) -> None:
        """``pid`` beat its island's best on replicate 0: make it the island's best (and
        validate it) at once, or, with promotion races, only when a race on the train
        contexts establishes its advantage; then race it for the champion. ``displaced``:
        the elite whose cell ``pid`` took; when that is the island's best and the race is
        lost, it gets its cell back (``search.restore_on_loss``)."""
        if not self.search.promotion or incumbent is None:
            self.island_best[island] = (pid, fitness)
            self.stats.best_by_island[island] = fitness
            await self.validate(pid, code)
            if self.search.promotion:
                await self._race_champion(pid, code)
            return
        inc_id = incumbent[0]
        self.stage_table(inc_id, "train")
        if not self._within_reach("island", pid, inc_id, island, "train"):
            return
        # replicate 0 is the draw the child was selected on: the race looks at fresh ones
        result = await self.racer.race(
            stage="train",
            context_ids=self.contexts.train_ids,
            first=1,
            candidate=(pid, code),
            incumbent=(inc_id, self.archive.get_program(inc_id).code),
        )
        self._log_race("island", pid, inc_id, island, result, "train")
        if (
            not result.accepted
            and self.search.restore_on_loss
            and displaced is not None
            and displaced.program_id == inc_id
        ):
            self.archive.restore_elite(displaced, holder=pid)
        current = self.island_best.get(island)
        if not result.accepted or (current is not None and current[0] != inc_id and current[1] >= fitness):
            return
        self.island_best[island] = (pid, fitness)
        self.stats.best_by_island[island] = fitness
        await self.validate(pid, code)
        await self._race_champion(pid, code)

    async def first_champion(self, seed_ids: Sequence[str]) -> None:
        """The best seed on validation becomes the first champion, measured on
        ``search.champion_replicates`` replicates for its interval."""
        if not self.contexts.validation:
            return
        scored = [
            (float(np.mean(list(t.values()))), pid)
            for pid in seed_ids
            if (t := self.stage_table(pid, "validation"))
        ]
        if not scored:
            return
        _, pid = max(scored)
        code = self.archive.get_program(pid).code
        iv = await self.racer.measure(
            stage="validation",
            context_ids=self.contexts.validation_ids,
            program=(pid, code),
            replicates=self.search.champion_replicates,
            confidence=self.search.confidence,
        )
        self._crown(ChampionInfo(pid, iv, self.search.champion_replicates, len(self.contexts.validation_ids)))

    async def crown_chosen(self, pid: str, basis: Mapping[str, Any]) -> None:
        """Crown ``pid``, chosen by a rule outside the races (robust selection across worlds,
        :mod:`evolve.promotion.robust`): measured on ``search.champion_replicates`` replicates of the
        validation contexts like the first champion; ``basis`` (the rule, its worlds, the
        champion it replaces) joins the ``champion`` event's detail."""
        code = self.archive.get_program(pid).code
        iv = await self.racer.measure(
            stage="validation",
            context_ids=self.contexts.validation_ids,
            program=(pid, code),
            replicates=self.search.champion_replicates,
            confidence=self.search.confidence,
        )
        info = ChampionInfo(pid, iv, self.search.champion_replicates, len(self.contexts.validation_ids))
        self.champion = info
        self.archive.record_event("champion", program_id=pid, detail={**info.as_dict(), **basis})

    async def _race_champion(self, pid: str, code: str) -> None:
        """Race a new island best against the champion on every validation context."""
        if not self.contexts.validation or self.champion is None or self.champion.program_id == pid:
            return
        inc = self.champion.program_id
        self.stage_table(inc, "validation")
        if not self.stage_table(pid, "validation"):
            return
        if not self._within_reach("champion", pid, inc, None, "validation"):
            return
        result = await self.racer.race(
            stage="validation",
            context_ids=self.contexts.validation_ids,
            candidate=(pid, code),
            incumbent=(inc, self.archive.get_program(inc).code),
        )
        self._log_race("champion", pid, inc, None, result, "validation")
        if not result.accepted or self.champion.program_id != inc:  # lost, or another won meanwhile
            return
        values = self.racer.values(pid, "validation", self.contexts.validation_ids)
        self._crown(
            ChampionInfo(
                pid,
                mean_interval(values, self.search.confidence),
                result.replicates,
                len(self.contexts.validation_ids),
                advantage=result.interval,
                incumbent=inc,
            )
        )

    def _within_reach(self, scope: str, pid: str, inc: str, island: int | None, stage: str) -> bool:
        """True to run the race of ``pid`` against ``inc`` at ``stage``: ``search.reach`` is
        off, or the advantage on replicate 0 (known for both) can be established in
        ``max_replicates`` replicates (:func:`evolve.promotion.reach.within_reach`). A skipped race is
        counted and logged as a ``race_skipped`` event."""
        if not self.search.reach:
            return True
        ids = self.contexts.train_ids if stage == "train" else self.contexts.validation_ids
        known = paired_diffs(
            {0: {c: v for c, v in self.racer.table(pid, stage).get(0, {}).items() if c in ids}},
            {0: self.racer.table(inc, stage).get(0, {})},
        )
        verdict = within_reach(
            known, rule=self.racer.rule, pairs_per_replicate=len(ids), looks=self.racer.rule.max_replicates
        )
        if verdict.ok:
            return True
        self.stats.races_skipped += 1
        self.stats.count(self.stats.races, f"{scope}.skipped")
        self.archive.record_event(
            "race_skipped",
            program_id=pid,
            island=island,
            detail={"scope": scope, "stage": stage, "incumbent": inc, **verdict.as_dict()},
        )
        self.on_change()
        return False

    def _log_race(
        self, scope: str, pid: str, inc: str, island: int | None, result: RaceResult, stage: str
    ) -> None:
        self.stats.count(self.stats.races, f"{scope}.{result.decision.value}")
        cand, incumbent = self.racer.table(pid, stage), self.racer.table(inc, stage)
        reps = range(result.first, result.first + result.replicates)
        self.archive.record_event(
            "raced",
            program_id=pid,
            island=island,
            detail={
                "scope": scope,
                "stage": stage,
                "incumbent": inc,
                "decision": result.decision.value,
                "reason": result.reason,
                "replicates": result.replicates,
                "first_replicate": result.first,
                "pairs": result.interval.n,
                "mean": result.interval.mean,
                "low": result.interval.low,
                "high": result.interval.high,
                "confidence": self.search.confidence,
                "evaluations": result.evaluations,
                "seeds": {str(r): self.seeds.for_replicate(r).seed for r in reps},
                "candidate_fitness": {str(r): cand.get(r, {}) for r in reps},
                "incumbent_fitness": {str(r): incumbent.get(r, {}) for r in reps},
            },
        )
        self.on_change()

    def _crown(self, info: ChampionInfo) -> None:
        self.champion = info
        self.archive.record_event("champion", program_id=info.program_id, detail=info.as_dict())

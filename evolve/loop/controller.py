"""The asyncio controller of an evolution run (driver side, the archive's only writer).

One candidate's life: pick an island, sample a parent (weighing quality, novelty and
yield), draw a directive that applies to it, build the prompt, ask the mutator, apply
its edit, reject cheaply, run the smoke stage, run the full train set if the smoke score
is competitive, insert into the archive; a child that beats its island's best is raced
against it on more replicates before it becomes the island's best, and then against the
champion on the validation contexts before it becomes the champion (issue 13). Up to
``max_in_flight`` candidates are alive at once.

Every outcome (inserted, rejected with reason, failed) is recorded; an exception in an
evaluation, the mutator or the loop itself is recorded against its program with its LLM
calls and the run goes on (issue 10). Only :data:`MAX_CONSECUTIVE_FAILURES` failures in a
row (no candidate evaluated on any context in between) stop the run, with one line
(:class:`TooManyFailures`).

Every evaluation of a program at replicate r uses the run's seeds of replicate r
(:mod:`evolve.common.evaluation_seeds`) when ``search.paired``: a child and its parent are compared on
common random numbers. The search switches are the run config's ``[search]`` table
(:class:`evolve.common.search.SearchSettings`) unless the constructor is given others (benches).
The yield book of a resumed run is rebuilt from its events (:mod:`evolve.loop.yields`).

Collaborators: :mod:`evolve.proposals.proposal` turns a mutator's answer into a child and screens
it; :class:`evolve.promotion.champion.Promoter` (owned here) decides island bests and the champion;
:class:`evolve.common.run_stats.RunStats` holds the counters. ``apply_proposal`` and
``changed_lines`` stay importable from here.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from archive.identity import program_id
from archive.records import AddStatus, Candidate, EvaluationRecord, MutationInfo, ProgramRecord, ProgramView
from archive.selection import ChildOutcome
from evolve.budget.caps import CHEAP_REJECTIONS, RunBudget, rejection_backoff_s
from evolve.budget.killed import charge_killed
from evolve.budget.spend import SpendLedger
from evolve.common.context_sets import ContextSets
from evolve.common.evaluation_seeds import EvalSeed, SeedPlan
from evolve.common.run_stats import RunStats
from evolve.common.search import SearchSettings
from evolve.config import RunConfig
from evolve.execution.evaluator import EvaluationFailure
from evolve.execution.protocols import ArchiveStore, Clock, Evaluator, MonotonicClock
from evolve.loop.candidate import Admitted, CandidateTrace, Child, Prompted, Trained
from evolve.loop.inert import inert_edit
from evolve.loop.parent_policy import ParentPick, ParentPolicy
from evolve.loop.scoring import context_fitness, descriptors_of, mean_fitness, stored_fitness, to_record
from evolve.loop.twins import TwinCheck
from evolve.loop.yields import child_outcome, stored_yields
from evolve.mutators import MutationRequest, Mutator, Proposal
from evolve.promotion.champion import ChampionInfo, Promoter
from evolve.promotion.race_rule import RaceRule
from evolve.promotion.racer import Racer
from evolve.promotion.reach import AdaptiveRule
from evolve.promotion.robust import RobustChoice, robust_select
from evolve.proposals.checks import Rejection
from evolve.proposals.directives import draw_directive
from evolve.proposals.prompts import ChildNote, ContextFeedback, ProgramBrief, build_mutation_prompt
from evolve.proposals.proposal import apply_proposal, changed_lines, screen_child
from generators.evaluation import ContextOutcome
from generators.screening import ADDRESSED_KEY

__all__ = [
    "MAX_CONSECUTIVE_FAILURES",
    "BudgetSpent",
    "Controller",
    "TooManyFailures",
    "apply_proposal",
    "changed_lines",
]

MAX_CONSECUTIVE_FAILURES = 20
"""Failures in a row that stop a run: evaluations that failed on every context, mutator
exceptions and unexpected exceptions of a candidate, with no candidate evaluated in
between. One failure (or nineteen) never ends a run."""


class TooManyFailures(RuntimeError):
    """Failures dominate: :data:`MAX_CONSECUTIVE_FAILURES` in a row. One line."""


class BudgetSpent(RuntimeError):
    """An evaluation of the evolution loop was refused for want of an LLM allowance: the
    run has spent its call or dollar cap (what is left is the test stage's reserve)."""


class Controller:
    """Drives one run. Construct with keyword arguments; call :meth:`seed_archive`, then
    :meth:`evolve`, then :meth:`evaluate_final` (test stage)."""

    def __init__(
        self,
        *,
        config: RunConfig,
        archive: ArchiveStore,
        mutator: Mutator,
        evaluator: Evaluator,
        contexts: ContextSets,
        budget: RunBudget,
        driver_calls: Callable[[], list[dict[str, Any]]] = lambda: [],
        on_change: Callable[["Controller"], None] = lambda c: None,
        clock: Clock | None = None,
        search: SearchSettings | None = None,
        failure_limit: int = MAX_CONSECUTIVE_FAILURES,
    ) -> None:
        self.config = config
        self.archive = archive
        self.mutator = mutator
        self.evaluator = evaluator
        self.contexts = contexts
        self.budget = budget
        search = config.search if search is None else search
        self.search = search
        self.clock: Clock = clock or MonotonicClock()
        self.failure_limit = int(failure_limit)
        self.stats = RunStats()
        self._driver_calls = driver_calls
        self._on_change = on_change
        self._objective = config.fitness.as_objective()
        self._rng = np.random.default_rng([config.seed, 11, self._evaluations_so_far()])
        self.seeds = SeedPlan(run_seed=config.seed, paired=search.paired, rng=self._rng)
        self._pending: set[str] = set()
        self._feedback: dict[str, list[str]] = {}  # the earlier prompt's notes (truthful_prompts off)
        self._children: dict[str, list[ChildNote]] = {}  # failed children per parent (truthful prompts)
        start = int(self._rng.integers(config.islands.count))
        self._ctx_by_id = contexts.by_id()
        self.stop_reason: str | None = None
        self.rejections_in_row = 0  # cheap rejections since the last evaluation: backs off (issue 10)
        self.failures_in_row = 0
        self._evolving = False
        self.last_failure = ""
        self.yields = stored_yields(archive)  # empty for a new run; a resumed run's from its events
        self.twins = TwinCheck(archive=archive)
        self.spend = SpendLedger()  # calls tagged by stage (issue 22 item 5; counted by the archive)
        self.parents = ParentPolicy(
            archive=archive,
            islands=config.islands.count,
            start=start,
            rng=self._rng,
            share_rng=np.random.default_rng([config.seed, 17, self._evaluations_so_far()]),
            champion_share=search.champion_share,
            champion=lambda: self.champion.program_id if self.champion else None,
            selection=search.selection,
            parent_strategy=config.mutation.parent_strategy,
            book=self.yields,
        )
        rule = AdaptiveRule if search.adaptive else RaceRule
        self.racer = Racer(
            rule=rule(confidence=search.confidence, max_replicates=search.max_replicates),
            evaluate_at=self._evaluate_replicate,
            fitness=lambda o: context_fitness(o, self._objective),
        )
        self.promoter = Promoter(
            archive=archive,
            contexts=contexts,
            search=search,
            islands=config.islands.count,
            racer=self.racer,
            seeds=self.seeds,
            stats=self.stats,
            stage_table=self._stage_table,
            validate=self._validate,
            on_change=lambda: self._on_change(self),
        )

    @property
    def champion(self) -> ChampionInfo | None:
        """The run's champion (None before the first one is crowned)."""
        return self.promoter.champion

    async def robust_select(
        self,
        *,
        own_world: str,
        world_evaluators: Mapping[str, Evaluator],
        seed_ids: Sequence[str],
        replicates: int = 2,
    ) -> RobustChoice | None:
        """Final-stage robust selection across simulated worlds (:mod:`evolve.promotion.robust`):
        ``world_evaluators`` maps each other world to an evaluator running in it; every
        candidate is validated on ``replicates`` fresh replicates in every world (after the
        ``search.max_replicates`` the promotion races may have used, so the leaders are not
        tested on the seeds that made them leaders), and a challenger needs a confident
        worst-world advantage at ``search.confidence``."""
        return await robust_select(
            _WorldsSource(self, world_evaluators),
            own_world=own_world,
            other_worlds=list(world_evaluators),
            seed_ids=seed_ids,
            replicates=replicates,
            first_replicate=self.search.max_replicates,
            confidence=self.search.confidence,
        )

    @property
    def island_best(self) -> dict[int, tuple[str, float]]:
        """The established best of each island: island -> (program id, train fitness)."""
        return self.promoter.island_best

    # ---- bookkeeping -------------------------------------------------------------

    def _evaluations_so_far(self) -> int:
        return int(self.archive.counts().get("evaluations", 0))

    def _record_calls(
        self, calls: Sequence[Mapping[str, Any]], program: str | None = None, *, stage: str = "propose"
    ) -> None:
        """Store LLM calls (those of ``calls`` and the driver's), charged to ``program`` and
        counted under ``stage`` (:mod:`evolve.budget.spend`; the mutator's always under ``propose``)."""
        calls = [dict(c) for c in calls] + [dict(c) for c in self._driver_calls()]
        if not calls:
            return
        calls = self.spend.tag(calls, stage=stage, program=program)
        self.archive.record_llm_calls(calls)
        self.budget.add_calls(
            len([c for c in calls if not c.get("cached")]),
            float(sum(c.get("cost_usd", 0.0) or 0.0 for c in calls)),
        )

    def _failure(self, message: str, *, program: str | None, island: int | None, where: str) -> None:
        """Record one failure (an event against ``program``) and stop the run with one line
        when failures dominate."""
        self.stats.failures += 1
        self.failures_in_row += 1
        self.last_failure = f"{where}: {message}"
        self.archive.record_event(
            "failed",
            program_id=program,
            island=island,
            detail={"where": where, "error": message[:2000], "in_row": self.failures_in_row},
        )
        if self.failures_in_row >= self.failure_limit:
            raise TooManyFailures(
                f"{self.failures_in_row} failures in a row (the limit is {self.failure_limit}); "
                f"the last: {self.last_failure}"
            )

    def _success(self) -> None:
        self.failures_in_row = 0

    def _reject(
        self,
        rejection: Rejection,
        *,
        parent_id: str | None,
        island: int,
        extra: Mapping[str, Any] | None = None,
        excerpt: str = "",
    ) -> None:
        self.stats.count(self.stats.rejections, rejection.reason)
        self.rejections_in_row = self.rejections_in_row + 1 if rejection.reason in CHEAP_REJECTIONS else 0
        self.archive.record_event(
            "rejected",
            program_id=parent_id,
            island=island,
            detail={"reason": rejection.reason, "message": rejection.message, **(extra or {})},
        )
        if (
            parent_id
        ):  # the event above (against the parent, with a message) is what evolve.loop.yields counts
            self.parents.tell(parent_id, ChildOutcome.WASTED)
            if rejection.reason in ("diff_failed", "compile_error", "bad_signature", "twin"):
                self._remember(
                    parent_id,
                    f"last proposal rejected: {rejection.message}",
                    ChildNote(f"last proposal rejected ({rejection.reason}): {rejection.message}", excerpt),
                )
        self._on_change(self)

    def _remember(self, parent_id: str, legacy: str, note: ChildNote) -> None:
        """Feedback for the next prompt that uses ``parent_id`` (the 3 most recent kept)."""
        notes = self._feedback.setdefault(parent_id, [])
        notes.append(legacy)
        del notes[:-3]
        children = self._children.setdefault(parent_id, [])
        children.append(note)
        del children[:-3]

    def _child_failed(
        self, parent: ProgramView, code: str, pid: str, island: int, *, stage: str, error: str | None
    ) -> None:
        """A child failed on every context of ``stage`` ("smoke" or "train"): the parent's
        next prompt hears of it, and it counts as a failure of the run."""
        where = "in the smoke stage" if stage == "smoke" else "on every train context"
        self._remember(
            parent.id,
            f"a child failed: {error}",
            ChildNote(f"failed {where}: {error}", changed_lines(parent.code, code)),
        )
        self._failure(
            f"every {stage} context failed: {error}", program=pid, island=island, where="evaluation"
        )

    async def _validate_with(
        self, evaluator: Evaluator | None, pid: str, replicate: int = 0
    ) -> dict[str, float]:
        """Per-context validation fitness of ``pid`` at ``replicate``'s seeds, under another
        ``evaluator`` (another world; None: the run's own, through the racer's tables, which
        races may already hold); its calls are stored, the evaluation is not."""
        code = self.archive.get_program(pid).code
        if evaluator is None:
            table = self.racer.table(pid, "validation")
            if replicate == 0 and 0 not in table:
                return dict(self._stage_table(pid, "validation"))
            if replicate not in table:
                outcomes = await self._evaluate_replicate(pid, code, self.contexts.validation_ids, replicate)
                self.racer.know(
                    pid,
                    "validation",
                    replicate,
                    {o.context_id: context_fitness(o, self._objective) for o in outcomes},
                )
            return dict(table[replicate])
        outcomes, _ = await self._run(
            code,
            self.contexts.validation_ids,
            self.seeds.for_replicate(replicate),
            pid,
            evaluator=evaluator,
            stage="robust",
        )
        return {o.context_id: context_fitness(o, self._objective) for o in outcomes}

    def _stage_table(self, pid: str, stage: str) -> dict[str, float]:
        """Per-context fitness of a program's replicate-0 evaluation at ``stage`` (cached)."""
        table = self.racer.table(pid, stage)
        if 0 not in table:
            found = stored_fitness(self.archive.evaluations(pid, stage=stage), self._objective)
            if not found:
                return {}
            table[0] = found
        return table[0]

    def _brief(self, view: ProgramView) -> ProgramBrief:
        contexts: list[ContextFeedback] = []
        for ev in self.archive.evaluations(view.id, stage="train")[-1:]:
            for ctx in ev.contexts:
                axes = self._ctx_by_id[ctx.context_id].axis_names if ctx.context_id in self._ctx_by_id else ()
                addressed = int((ctx.metrics or {}).get(ADDRESSED_KEY, 0) or 0)
                contexts.append(
                    ContextFeedback(
                        ctx.context_id,
                        tuple(axes),
                        ctx.metrics,
                        ctx.positions,
                        ctx.error,
                        addressed=addressed,
                    )
                )
        if self.search.truthful_prompts:
            errors: tuple[str, ...] = ()
            children = tuple(self._children.get(view.id, ()))
        else:
            errors, children = tuple(self._feedback.get(view.id, ())), ()
        return ProgramBrief(
            program_id=view.id,
            code=view.code,
            fitness=view.fitness,
            metrics=view.metrics,
            contexts=contexts,
            errors=errors,
            children=children,
        )

    # ---- evaluation helpers ------------------------------------------------------

    async def _run(
        self,
        code: str,
        context_ids: Sequence[str],
        es: EvalSeed,
        program: str | None,
        *,
        stage: str,
        evaluator: Evaluator | None = None,
    ) -> tuple[list[ContextOutcome], str]:
        """Outcomes per context and the node that ran them ("" when the task failed). An
        evaluator exception or failure becomes an error on every context; the calls an
        evaluation made are stored against ``program`` (counted under ``stage``) either way.
        ``evaluator``: another than the run's (robust selection's other worlds)."""
        try:
            result = await (evaluator or self.evaluator).evaluate(code, context_ids, seed=es.seed)
        except Exception as exc:  # noqa: BLE001 - recorded on the program, never the end of the run
            result = EvaluationFailure(error=f"evaluation raised {_one_line(exc)}")
        if isinstance(result, EvaluationFailure):
            if result.refused and self._evolving:  # the budget is spent: the run stops, nobody failed
                self.budget.run_out(result.refused)
                raise BudgetSpent(result.error)
            self._record_calls([], program, stage=stage)
            if result.killed:  # its calls were lost: charge an upper bound, recorded as estimated
                charge_killed(
                    result,
                    config=self.config,
                    contexts=[self._ctx_by_id[c] for c in context_ids],
                    budget=self.budget,
                    archive=self.archive,
                    program=program,
                )
            return [ContextOutcome(cid, None, None, None, error=result.error) for cid in context_ids], ""
        self._record_calls(result.calls, program, stage=stage)
        cap = self.budget.llm_cap()
        if (
            result.budget_cut
            and self._evolving
            and cap is not None
            and all(o.metrics is None for o in result.contexts)
        ):  # cut before any context finished
            self.budget.run_out(cap)
            raise BudgetSpent(f"budget: the LLM allowance ran out before any context of {program} finished")
        return list(result.contexts), result.node

    def _record(
        self,
        stage: str,
        outcomes: Sequence[ContextOutcome],
        es: EvalSeed,
        *,
        keep_personas: bool = False,
        wall_s: float = 0.0,
    ) -> EvaluationRecord:
        record = to_record(
            stage, outcomes, objective=self._objective, keep_personas=keep_personas, wall_s=wall_s
        )
        return dataclasses.replace(record, seed=es.seed, replicate=es.replicate)

    async def _evaluate_replicate(
        self, pid: str, code: str, context_ids: Sequence[str], replicate: int
    ) -> list[ContextOutcome]:
        """A race's extra replicate: scored, its calls stored, not an archive evaluation
        (its per-context fitness goes into the ``raced`` event)."""
        outcomes, _ = await self._run(
            code, context_ids, self.seeds.for_replicate(replicate), pid, stage="race"
        )
        self.stats.race_evaluations += 1
        return outcomes

    async def _validate(self, pid: str, code: str, *, stage: str = "validation") -> None:
        if not self.contexts.validation:
            return
        es = self.seeds.for_replicate(0)
        outcomes, _ = await self._run(code, self.contexts.validation_ids, es, pid, stage=stage)
        record = self._record("validation", outcomes, es, keep_personas=True)
        self.archive.record_evaluation(pid, record)  # the archive logs the "validated" event
        if self.search.promotion:
            self.racer.know(
                pid, "validation", 0, {o.context_id: context_fitness(o, self._objective) for o in outcomes}
            )

    # ---- seeds -------------------------------------------------------------------

    async def seed_archive(self, seeds: Mapping[str, str]) -> dict[str, str]:
        """Evaluate the seed programs (``label -> code``) on train and validation, insert
        them on every island; skip those already stored (resume). Returns label -> id. A
        seed whose evaluation raises is recorded as failed; the others go on."""
        ids: dict[str, str] = {}

        async def one(label: str, code: str) -> None:
            pid = program_id(code)
            ids[label] = pid
            if self.archive.has_program(pid):
                return
            es = self.seeds.for_replicate(0)
            outcomes, _ = await self._run(code, self.contexts.train_ids, es, pid, stage="seeding")
            record = self._record("train", outcomes, es, keep_personas=True)
            candidate = Candidate(
                program=ProgramRecord(
                    code=code,
                    parent_id=None,
                    island=0,
                    generation=0,
                    mutation=MutationInfo(operator="seed"),
                    label=label,
                ),
                evaluation=record,
                descriptors=descriptors_of(outcomes, n=self.config.evaluation.n),
                error=record.error,
            )
            self.archive.add([candidate])
            await self._validate(pid, code, stage="seeding")

        async def guarded(label: str, code: str) -> None:
            try:
                await one(label, code)
            except Exception as exc:  # noqa: BLE001 - one seed failing never ends the run
                self._failure(_one_line(exc), program=ids.get(label), island=None, where=f"seed {label}")

        await asyncio.gather(*(guarded(label, code) for label, code in seeds.items()))
        self.archive.seed_islands([ids[label] for label in seeds if label in ids])
        self.promoter.refresh_best()
        if self.search.promotion and self.champion is None:
            await self.promoter.first_champion([ids[label] for label in seeds if label in ids])
        return ids

    # ---- the final stage ---------------------------------------------------------

    async def evaluate_final(self, programs: Mapping[str, str]) -> dict[str, Any]:
        """Evaluate each ``label -> program id`` once on the test contexts (or reuse a test
        evaluation already stored), all on the same seeds when paired. Returns label ->
        mean metrics (None if failed)."""
        by_program: dict[str, Any] = {}

        async def one(pid: str) -> None:
            stored = self.archive.evaluations(pid, stage="test")
            if stored:
                by_program[pid] = stored[-1].metrics
                return
            code = self.archive.get_program(pid).code
            es = self.seeds.for_replicate(0)
            outcomes, _ = await self._run(code, self.contexts.test_ids, es, pid, stage="test")
            record = self._record("test", outcomes, es, keep_personas=True)
            self.archive.record_evaluation(pid, record)
            by_program[pid] = record.metrics

        if not self.contexts.test:
            return {}
        # one evaluation per program, even when the champion is also a seed
        await asyncio.gather(*(one(pid) for pid in dict.fromkeys(programs.values())))
        return {label: by_program[pid] for label, pid in programs.items()}

    # ---- the loop ----------------------------------------------------------------

    async def evolve(self) -> str:
        """Run candidates until a budget cap is reached; returns the cap that stopped it.
        A candidate that raises is recorded as a failure and the loop goes on; raises
        :class:`TooManyFailures` when failures dominate."""
        self.budget.start()
        running: set[asyncio.Task] = set()
        limit = self.evaluator.max_in_flight
        self._evolving = True
        try:
            while True:
                reason = self.budget.exhausted(in_flight=len(running))
                while reason is None and len(running) < limit:
                    running.add(asyncio.create_task(self._guarded_candidate()))
                    reason = self.budget.exhausted(in_flight=len(running))
                if not running:
                    self.stop_reason = reason or "stopped"
                    return self.stop_reason
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    exc = task.exception()
                    if exc is not None:
                        raise exc
        finally:
            self._evolving = False
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _guarded_candidate(self) -> None:
        """:meth:`_candidate`, with any exception recorded as a failure (against the child
        when its edit applied, else the parent when it was chosen)."""
        trace = CandidateTrace()
        try:
            await self._candidate(trace)
        except BudgetSpent:
            return  # not evaluated: the loop sees the spent cap and stops
        except (TooManyFailures, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - one failure never ends a run
            self._record_calls([], trace.parent)
            self._failure(
                _one_line(exc), program=trace.child or trace.parent, island=trace.island, where="candidate"
            )
            self._on_change(self)

    async def _candidate(self, trace: CandidateTrace) -> None:
        """One candidate: select -> prompt -> propose -> apply -> smoke -> train -> admit
        -> promote (:mod:`evolve.loop.candidate`). A step that returns None stopped it (and
        recorded why)."""
        await asyncio.sleep(rejection_backoff_s(self.rejections_in_row))
        pick = self.parents.ask()
        trace.island, trace.parent = pick.island, pick.parent.id
        prompted = self._prompt(pick)
        proposal = await self._propose(prompted)
        if proposal is None:
            return
        child = self._apply(prompted, proposal)
        if child is None:
            return
        trace.child = child.id
        self._pending.add(child.id)
        try:
            t0 = self.clock.monotonic()
            smoke = await self._smoke(pick, child)
            if smoke is None:
                return
            trained = await self._train(child, smoke, started=t0)
            admitted = self._admit(pick, child, trained)
            await self._promote(pick, child, trained, admitted)
        finally:
            self._pending.discard(child.id)

    def _prompt(self, pick: ParentPick) -> Prompted:
        """Inspirations, directive and rewrite mode drawn for ``pick``, the prompt built and
        the proposal recorded (``proposed`` event)."""
        parent, island = pick.parent, pick.island
        inspirations = self.archive.sample_inspirations(
            island, self._rng, k=self.config.mutation.inspirations, exclude=parent.id
        )
        if self.search.truthful_prompts:
            directive = draw_directive(self._rng, code=parent.code, inspirations=len(inspirations))
        else:
            directive = draw_directive(self._rng)
        full_rewrite = bool(self._rng.random() < self.config.mutation.full_rewrite_rate)
        system, user = build_mutation_prompt(
            self._brief(parent),
            [self._brief(v) for v in inspirations],
            directive,
            objective=str(
                self.config.fitness.objective if not self.config.fitness.weights else "weighted fitness"
            ),
            full_rewrite=full_rewrite,
        )
        self.stats.proposed += 1
        self.archive.record_event(
            "proposed",
            program_id=parent.id,
            island=island,
            detail={"directive": directive.key, "full_rewrite": full_rewrite, "parent_source": pick.source},
        )
        request = MutationRequest(
            parent_code=parent.code,
            parent_id=parent.id,
            inspirations=[(v.id, v.code) for v in inspirations],
            directive=directive.key,
            system=system,
            user=user,
            seed=int(self._rng.integers(2**62)),
            full_rewrite=full_rewrite,
        )
        return Prompted(pick=pick, directive=directive, full_rewrite=full_rewrite, request=request)

    async def _propose(self, prompted: Prompted) -> Proposal | None:
        """The mutator's answer; None when it raised (a ``mutator_error`` rejection and a
        failure, recorded against the parent with its calls)."""
        parent_id, island = prompted.pick.parent.id, prompted.pick.island
        try:
            proposal = await self.mutator.propose(prompted.request)
        except Exception as exc:  # noqa: BLE001 - recorded against the parent with its calls
            message = _one_line(exc)
            self._record_calls([], parent_id)
            self._reject(Rejection("mutator_error", message), parent_id=parent_id, island=island)
            self._failure(message, program=parent_id, island=island, where="mutator")
            return None
        self._record_calls([], parent_id)
        return proposal

    def _apply(self, prompted: Prompted, proposal: Proposal) -> Child | None:
        """The edit applied and screened (no change, duplicate, static twin); None when it
        is rejected (recorded with the edit's excerpt). Blocks that did not apply while
        others did are counted, logged and fed back to the parent's next prompt."""
        parent, island, directive = prompted.pick.parent, prompted.pick.island, prompted.directive.key
        child_code, rejection, failed_blocks = apply_proposal(
            parent.code, proposal.text, prompted.full_rewrite
        )
        if rejection is None:
            rejection = screen_child(
                parent.code,
                child_code,
                known=lambda cid: cid in self._pending or self.archive.has_program(cid),
            )
        info: dict[str, Any] = {"operator": proposal.operator, "directive": directive}
        if rejection is None and self.search.static_twins and (why := inert_edit(parent.code, child_code)):
            rejection, info["check"] = Rejection("twin", why), "static"  # before any call of its own
        if failed_blocks:
            # some blocks applied, some did not: counted, logged and fed back, never silent
            self.stats.partial_diffs += 1
            self.archive.record_event(
                "diff_partial", program_id=parent.id, island=island, detail={**info, "failed": failed_blocks}
            )
            self._remember(
                parent.id,
                "some blocks of the last edit did not apply: " + "; ".join(failed_blocks),
                ChildNote(
                    "some blocks of its edit did not apply: " + "; ".join(failed_blocks), proposal.text[:1500]
                ),
            )
        if rejection is not None:
            excerpt = (
                proposal.text[:1500]
                if rejection.reason == "diff_failed"
                else changed_lines(parent.code, child_code)
            )
            self._reject(rejection, parent_id=parent.id, island=island, extra=info, excerpt=excerpt)
            return None
        mutation = MutationInfo(
            operator=proposal.operator,
            model=proposal.model,
            directive=directive,
            diff=proposal.text[:20_000],
            prompt_tokens=proposal.prompt_tokens,
            completion_tokens=proposal.completion_tokens,
        )
        record = ProgramRecord(
            code=child_code,
            parent_id=parent.id,
            island=island,
            generation=(parent.generation or 0) + 1,
            mutation=mutation,
        )
        return Child(
            code=child_code,
            id=program_id(child_code),
            record=record,
            proposal=proposal,
            es=self.seeds.for_replicate(0),
        )

    def _smoke_bar(self, island: int) -> float | None:
        """The best smoke-context fitness among the island's elites (None: no bar)."""
        ids = self.contexts.smoke_ids
        best = None
        for elite in self.archive.grid(island).elites:
            table = self._stage_table(elite.program_id, "train")
            if all(cid in table for cid in ids):
                value = float(np.mean([table[cid] for cid in ids]))
                best = value if best is None else max(best, value)
        return best

    def _smoke_verdict(
        self, parent_id: str, island: int, smoke: Sequence[ContextOutcome], es: EvalSeed, *, failed: bool
    ) -> Rejection | None:
        """Why a child of ``parent_id`` on ``island`` stops at the smoke stage, or None to
        go on: it failed there, it is a behavioural twin of its parent (``search.twins``,
        paired seeds), or its smoke fitness is below ``cascade.threshold`` x the island's
        best smoke fitness."""
        if failed:
            return Rejection("cascade", f"smoke failed: {smoke[0].error}")
        if self.search.twins and es.replicate == 0 and self.twins.is_twin(parent_id, smoke):
            return Rejection(
                "twin",
                f"places every persona exactly where its parent did on the {len(smoke)} "
                f"smoke contexts, at the same seeds: the edit changed nothing a respondent sees",
            )
        threshold, bar = self.config.cascade.threshold, self._smoke_bar(island)
        score = mean_fitness(smoke, self._objective)
        if bar is not None and score < threshold * bar:
            return Rejection("cascade", f"smoke fitness {score:.3f} < {threshold:g} x island best {bar:.3f}")
        return None

    def _smoke_ids(self) -> Sequence[str]:
        """The smoke contexts; () when the cascade is off (no smoke contexts or threshold 0)."""
        cascade = self.config.cascade
        return self.contexts.smoke_ids if cascade.smoke_contexts and cascade.threshold > 0 else ()

    async def _smoke(self, pick: ParentPick, child: Child) -> Sequence[ContextOutcome] | None:
        """The smoke stage (the cascade's first contexts; [] when it is off): its outcomes,
        or None when the child stops here (stored with its smoke results and rejected: not
        an evaluation)."""
        parent, island, es = pick.parent, pick.island, child.es
        smoke_ids = self._smoke_ids()
        if not smoke_ids:
            return []
        smoke, _ = await self._run(child.code, smoke_ids, es, child.id, stage="smoke")
        failed = all(o.metrics is None for o in smoke)
        stop = self._smoke_verdict(parent.id, island, smoke, es, failed=failed)
        if stop is None:
            return smoke
        self.archive.record_program(child.record)
        self.archive.record_evaluation(child.id, self._record("smoke", smoke, es))
        self._reject(
            stop,
            parent_id=parent.id,
            island=island,
            extra={"program": child.id, "smoke_calls": self.spend.program_calls(child.id, "smoke")},
        )
        if failed:
            self._child_failed(parent, child.code, child.id, island, stage="smoke", error=smoke[0].error)
        else:
            self._success()
        return None

    async def _train(self, child: Child, smoke: Sequence[ContextOutcome], *, started: float) -> Trained:
        """The rest of the train (screening) contexts at the same seeds as the smoke stage;
        ``started``: the clock when the child's evaluation began (for its wall time)."""
        done = set(self._smoke_ids())
        rest = [cid for cid in self.contexts.train_ids if cid not in done]
        outcomes = {o.context_id: o for o in smoke}
        node = ""
        if rest:
            full, node = await self._run(child.code, rest, child.es, child.id, stage="train")
            outcomes.update({o.context_id: o for o in full})
        ordered = [outcomes[cid] for cid in self.contexts.train_ids]
        evaluation = self._record("train", ordered, child.es, wall_s=self.clock.monotonic() - started)
        return Trained(outcomes=ordered, evaluation=evaluation, node=node)

    def _admit(self, pick: ParentPick, child: Child, trained: Trained) -> Admitted:
        """The child into the archive (one evaluation of the budget), the ``evaluated``
        event, the parent's yield; a failure when every context failed."""
        parent, island, evaluation = pick.parent, pick.island, trained.evaluation
        candidate = Candidate(
            program=child.record,
            evaluation=evaluation,
            descriptors=descriptors_of(trained.outcomes, n=self.config.evaluation.n),
            error=evaluation.error,
        )
        holders = {
            tuple(e.cell): e for e in self.archive.grid(island).elites
        }  # before the child may take a cell
        result = self.archive.add([candidate])[0]
        self.budget.add_evaluation()
        self.rejections_in_row = 0
        self.stats.evaluated += 1
        status = result.status.value if hasattr(result.status, "value") else str(result.status)
        self.stats.count(self.stats.statuses, status)
        self.archive.record_event(
            "evaluated",
            program_id=child.id,
            island=island,
            detail={
                "stage": "train",
                "fitness": evaluation.fitness,
                "status": status,
                "node": trained.node[:12],
                "elapsed_s": round(self.budget.seconds, 3),
            },
        )
        self.parents.tell(parent.id, child_outcome(result.status))  # as evolve.loop.yields rebuilds it
        if evaluation.fitness is None:
            self._child_failed(parent, child.code, child.id, island, stage="train", error=evaluation.error)
        else:
            self._success()
            self.racer.know(
                child.id,
                "train",
                0,
                {o.context_id: context_fitness(o, self._objective) for o in trained.outcomes},
            )
        displaced = holders.get(tuple(result.cell)) if result.cell is not None else None
        return Admitted(
            result=result,
            status=status,
            displaced=displaced,
            improved=result.status in (AddStatus.NEW_CELL, AddStatus.IMPROVED),
        )

    async def _promote(self, pick: ParentPick, child: Child, trained: Trained, admitted: Admitted) -> None:
        """A child that beats its island's established best races it (and then the
        champion); then the run's history, migration and resets of stagnant islands."""
        fitness, island = trained.evaluation.fitness, pick.island
        incumbent = self.island_best.get(island)
        if admitted.improved and fitness is not None and (incumbent is None or fitness > incumbent[1]):
            await self.promoter.promote(
                child.id, child.code, island, fitness, incumbent, displaced=admitted.displaced
            )
        best_overall = max(self.stats.best_by_island.values(), default=0.0)
        self.stats.history.append((self.budget.spent.evaluations, best_overall))
        if self.archive.maybe_migrate():
            self.promoter.refresh_best()
        if self.archive.maybe_reset():
            self.promoter.refresh_best()
        self._on_change(self)


def _one_line(exc: BaseException) -> str:
    """``exc`` as one line: its type and the first line of its message."""
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return text[0] if text else type(exc).__name__


class _WorldsSource:
    """The controller seen by :func:`evolve.promotion.robust.robust_select` (a :class:`RobustSource`)."""

    def __init__(self, controller: Controller, evaluators: Mapping[str, Evaluator]) -> None:
        self._c = controller
        self._evaluators = evaluators

    def champion_id(self) -> str | None:
        return self._c.champion.program_id if self._c.champion else None

    def validation_leaders(self, k: int) -> list[str]:
        return [view.id for view in self._c.archive.top(k, stage="validation")]

    def stored_validation(self, pid: str) -> dict[str, float]:
        return dict(self._c._stage_table(pid, "validation"))

    async def validate_in_world(self, pid: str, world: str, replicate: int) -> dict[str, float]:
        return await self._c._validate_with(self._evaluators.get(world), pid, replicate)

    def record_event(self, kind: str, *, program_id: str | None, detail: Mapping[str, Any]) -> None:
        self._c.archive.record_event(kind, program_id=program_id, detail=dict(detail))

    async def crown(self, pid: str, basis: Mapping[str, Any]) -> None:
        await self._c.promoter.crown_chosen(pid, basis)

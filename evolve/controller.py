"""The asyncio controller of an evolution run (driver side, the archive's only writer).

One candidate's life: pick an island, sample a parent and inspirations, draw a
directive, build the prompt, ask the mutator, apply its edit, reject cheaply, run the
smoke stage, run the full train set if the smoke score is competitive, insert into
the archive, validate a new island champion. Up to ``max_in_flight`` candidates are
alive at once; every outcome (inserted, rejected with reason, failed) is recorded.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from archive.identity import program_id
from archive.records import AddStatus, Candidate, MutationInfo, ProgramRecord
from evolve.budget import CHEAP_REJECTIONS, RunBudget, rejection_backoff_s
from evolve.checks import Rejection, first_rejection
from evolve.config import RunConfig
from evolve.contexts import ContextSets
from evolve.diffs import apply_edits, check_full_rewrite, parse_blocks, parse_full_rewrite
from evolve.directives import draw_directive
from evolve.evaluator import EvaluationFailure, RayEvaluator
from evolve.mutators import MutationRequest, Mutator
from evolve.prompts import ContextFeedback, ProgramBrief, build_mutation_prompt
from evolve.scoring import context_fitness, descriptors_of, mean_fitness, to_record
from generators.evaluation import ContextOutcome


@dataclass
class RunStats:
    """Counters shown live and in the final summary."""

    proposed: int = 0
    evaluated: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)
    partial_diffs: int = 0  # proposals evaluated although some of their blocks did not apply
    best_by_island: dict[int, float] = field(default_factory=dict)
    history: list[tuple[int, float]] = field(default_factory=list)  # (evaluation index, best fitness)

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


class Controller:
    """Drives one run. Construct with keyword arguments; call :meth:`seed_archive`, then
    :meth:`evolve`, then :meth:`evaluate_final` (test stage)."""

    def __init__(
        self,
        *,
        config: RunConfig,
        archive: Any,
        mutator: Mutator,
        evaluator: RayEvaluator,
        contexts: ContextSets,
        budget: RunBudget,
        driver_calls: Callable[[], list[dict[str, Any]]] = lambda: [],
        on_change: Callable[["Controller"], None] = lambda c: None,
    ) -> None:
        self.config = config
        self.archive = archive
        self.mutator = mutator
        self.evaluator = evaluator
        self.contexts = contexts
        self.budget = budget
        self.stats = RunStats()
        self._driver_calls = driver_calls
        self._on_change = on_change
        self._objective = config.fitness.as_objective()
        self._rng = np.random.default_rng([config.seed, 11, self._evaluations_so_far()])
        self._pending: set[str] = set()
        self._context_fitness: dict[str, dict[str, float]] = {}
        self._feedback: dict[str, list[str]] = {}
        self._island_cursor = int(self._rng.integers(config.islands.count))
        self._ctx_by_id = contexts.by_id()
        self.stop_reason: str | None = None
        self.rejections_in_row = 0  # cheap rejections since the last evaluation: backs off (issue 10)

    # ---- bookkeeping -------------------------------------------------------------

    def _evaluations_so_far(self) -> int:
        return int(self.archive.counts().get("evaluations", 0))

    def _record_calls(self, calls: Sequence[Mapping[str, Any]]) -> None:
        calls = list(calls) + self._driver_calls()
        if not calls:
            return
        self.archive.record_llm_calls(calls)
        self.budget.add_calls(len([c for c in calls if not c.get("cached")]),
                              float(sum(c.get("cost_usd", 0.0) or 0.0 for c in calls)))

    def _reject(self, rejection: Rejection, *, parent_id: str | None, island: int, extra: Mapping[str, Any] | None = None) -> None:
        self.stats.count(self.stats.rejections, rejection.reason)
        self.rejections_in_row = self.rejections_in_row + 1 if rejection.reason in CHEAP_REJECTIONS else 0
        self.archive.record_event(
            "rejected",
            program_id=parent_id,
            island=island,
            detail={"reason": rejection.reason, "message": rejection.message, **(extra or {})},
        )
        if parent_id and rejection.reason in ("diff_failed", "compile_error", "bad_signature"):
            self._remember(parent_id, f"last proposal rejected: {rejection.message}")
        self._on_change(self)

    def _remember(self, parent_id: str, message: str) -> None:
        """Feedback for the next prompt that uses ``parent_id`` (the 3 most recent kept)."""
        notes = self._feedback.setdefault(parent_id, [])
        notes.append(message)
        del notes[:-3]

    def _fitness_by_context(self, pid: str) -> dict[str, float]:
        """Per-context train fitness of a stored program (cached)."""
        if pid not in self._context_fitness:
            table: dict[str, float] = {}
            for ev in self.archive.evaluations(pid, stage="train"):
                for ctx in ev.contexts:
                    table[ctx.context_id] = (
                        0.0 if not ctx.metrics else context_fitness(_as_outcome(ctx), self._objective)
                    )
            self._context_fitness[pid] = table
        return self._context_fitness[pid]

    def _brief(self, view: Any) -> ProgramBrief:
        contexts: list[ContextFeedback] = []
        for ev in self.archive.evaluations(view.id, stage="train")[-1:]:
            for ctx in ev.contexts:
                axes = self._ctx_by_id[ctx.context_id].axis_names if ctx.context_id in self._ctx_by_id else ()
                contexts.append(ContextFeedback(ctx.context_id, tuple(axes), ctx.metrics, ctx.positions, ctx.error))
        return ProgramBrief(
            program_id=view.id,
            code=view.code,
            fitness=view.fitness,
            metrics=view.metrics,
            contexts=contexts,
            errors=tuple(self._feedback.get(view.id, ())),
        )

    # ---- seeds -------------------------------------------------------------------

    async def seed_archive(self, seeds: Mapping[str, str]) -> dict[str, str]:
        """Evaluate the seed programs (``label -> code``) on train and validation, insert
        them on every island; skip those already stored (resume). Returns label -> id."""
        ids: dict[str, str] = {}

        async def one(label: str, code: str) -> None:
            pid = program_id(code)
            ids[label] = pid
            if self.archive.has_program(pid):
                return
            outcome = await self._evaluate(code, self.contexts.train_ids)
            record = to_record("train", outcome, objective=self._objective, keep_personas=True)
            candidate = Candidate(
                program=ProgramRecord(code=code, parent_id=None, island=0, generation=0,
                                      mutation=MutationInfo(operator="seed"), label=label),
                evaluation=record,
                descriptors=descriptors_of(outcome, n=self.config.evaluation.n),
                error=record.error,
            )
            self.archive.add([candidate])
            await self._validate(pid, code)

        await asyncio.gather(*(one(label, code) for label, code in seeds.items()))
        self.archive.seed_islands([ids[label] for label in seeds])
        self._refresh_best()
        return ids

    # ---- evaluation helpers ------------------------------------------------------

    async def _evaluate(self, code: str, context_ids: Sequence[str]) -> list[ContextOutcome]:
        outcomes, _ = await self._evaluate_on_node(code, context_ids)
        return outcomes

    async def _evaluate_on_node(self, code: str, context_ids: Sequence[str]) -> tuple[list[ContextOutcome], str]:
        """Outcomes per context and the Ray node that ran them ("" when the task failed)."""
        seed = int(self._rng.integers(2**62))
        result = await self.evaluator.evaluate(code, context_ids, seed=seed)
        if isinstance(result, EvaluationFailure):
            return [ContextOutcome(cid, None, None, None, error=result.error) for cid in context_ids], ""
        self._record_calls(result.calls)
        return result.contexts, result.node

    async def _validate(self, pid: str, code: str) -> None:
        if not self.contexts.validation:
            return
        outcome = await self._evaluate(code, self.contexts.validation_ids)
        record = to_record("validation", outcome, objective=self._objective, keep_personas=True)
        self.archive.record_evaluation(pid, record)  # the archive logs the "validated" event

    async def evaluate_final(self, programs: Mapping[str, str]) -> dict[str, Any]:
        """Evaluate each ``label -> program id`` once on the test contexts (or reuse a test
        evaluation already stored). Returns label -> mean metrics (None if failed)."""
        by_program: dict[str, Any] = {}

        async def one(pid: str) -> None:
            stored = self.archive.evaluations(pid, stage="test")
            if stored:
                by_program[pid] = stored[-1].metrics
                return
            code = self.archive.get_program(pid).code
            outcome = await self._evaluate(code, self.contexts.test_ids)
            record = to_record("test", outcome, objective=self._objective, keep_personas=True)
            self.archive.record_evaluation(pid, record)
            by_program[pid] = record.metrics

        if not self.contexts.test:
            return {}
        # one evaluation per program, even when the champion is also a seed
        await asyncio.gather(*(one(pid) for pid in dict.fromkeys(programs.values())))
        return {label: by_program[pid] for label, pid in programs.items()}

    # ---- the loop ----------------------------------------------------------------

    def _refresh_best(self) -> None:
        for island in range(self.config.islands.count):
            stats = self.archive.qd_stats(island)
            best = stats.get("best")
            if best is not None:
                self.stats.best_by_island[island] = float(best)

    def _next_island(self) -> int:
        self._island_cursor = (self._island_cursor + 1) % self.config.islands.count
        return self._island_cursor

    def _strategy(self) -> str:
        strategy = self.config.mutation.parent_strategy
        if strategy != "mixed":
            return strategy
        return ("uniform", "fitness", "curiosity")[int(self._rng.integers(3))]

    async def evolve(self) -> str:
        """Run candidates until a budget cap is reached; returns the cap that stopped it."""
        self.budget.start()
        running: set[asyncio.Task] = set()
        limit = self.evaluator.max_in_flight
        while True:
            reason = self.budget.exhausted(in_flight=len(running))
            while reason is None and len(running) < limit:
                running.add(asyncio.create_task(self._candidate()))
                reason = self.budget.exhausted(in_flight=len(running))
            if not running:
                self.stop_reason = reason or "stopped"
                return self.stop_reason
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None:
                    raise exc

    async def _candidate(self) -> None:
        await asyncio.sleep(rejection_backoff_s(self.rejections_in_row))
        island = self._next_island()
        parent = self.archive.sample_parent(island, self._rng, strategy=self._strategy())
        if parent is None:
            best = self.archive.top(1)
            if not best:
                raise RuntimeError("the archive is empty: seed programs failed on every context")
            parent = best[0]
        inspirations = self.archive.sample_inspirations(
            island, self._rng, k=self.config.mutation.inspirations, exclude=parent.id
        )
        directive = draw_directive(self._rng)
        full_rewrite = bool(self._rng.random() < self.config.mutation.full_rewrite_rate)
        system, user = build_mutation_prompt(
            self._brief(parent),
            [self._brief(v) for v in inspirations],
            directive,
            objective=str(self.config.fitness.objective if not self.config.fitness.weights else "weighted fitness"),
            full_rewrite=full_rewrite,
        )
        self.stats.proposed += 1
        self.archive.record_event("proposed", program_id=parent.id, island=island,
                                  detail={"directive": directive.key, "full_rewrite": full_rewrite})
        request = MutationRequest(
            parent_code=parent.code,
            parent_id=parent.id,
            inspirations=[(v.id, v.code) for v in inspirations],
            directive=directive.key,
            prompt=system + "\n\n" + user,
            seed=int(self._rng.integers(2**62)),
            full_rewrite=full_rewrite,
        )
        try:
            proposal = await self.mutator.propose(request)
        except Exception as exc:
            self._record_calls([])
            self._reject(Rejection("mutator_error", f"{type(exc).__name__}: {exc}".splitlines()[0]),
                         parent_id=parent.id, island=island)
            return
        self._record_calls([])
        child_code, rejection, failed_blocks = apply_proposal(parent.code, proposal.text, full_rewrite)
        if rejection is None:
            rejection = self._screen(parent.code, child_code)
        info = {"operator": proposal.operator, "directive": directive.key}
        if failed_blocks:
            # some blocks applied, some did not: counted, logged and fed back, never silent
            self.stats.partial_diffs += 1
            self.archive.record_event("diff_partial", program_id=parent.id, island=island,
                                      detail={**info, "failed": failed_blocks})
            self._remember(parent.id, "some blocks of the last edit did not apply: " + "; ".join(failed_blocks))
        if rejection is not None:
            self._reject(rejection, parent_id=parent.id, island=island, extra=info)
            return
        child_id = program_id(child_code)
        self._pending.add(child_id)
        try:
            await self._evaluate_child(parent, island, child_code, child_id, proposal, directive.key)
        finally:
            self._pending.discard(child_id)

    def _screen(self, parent_code: str, child_code: str) -> Rejection | None:
        if child_code == parent_code:
            return Rejection("no_op", "the edit leaves the program unchanged")
        problem = first_rejection(child_code)
        if problem is not None:
            return problem
        child_id = program_id(child_code)
        if child_id == program_id(parent_code):
            return Rejection("no_op", "the edit changes only comments or formatting")
        if child_id in self._pending or self.archive.has_program(child_id):
            return Rejection("duplicate", f"program {child_id[:12]} was already proposed")
        return None

    def _smoke_bar(self, island: int) -> float | None:
        """The best smoke-context fitness among the island's elites (None: no bar)."""
        ids = self.contexts.smoke_ids
        best = None
        for elite in self.archive.grid(island).elites:
            table = self._fitness_by_context(elite.program_id)
            if all(cid in table for cid in ids):
                value = float(np.mean([table[cid] for cid in ids]))
                best = value if best is None else max(best, value)
        return best

    async def _evaluate_child(self, parent: Any, island: int, code: str, pid: str, proposal: Any, directive: str) -> None:
        cascade = self.config.cascade
        mutation = MutationInfo(
            operator=proposal.operator,
            model=proposal.model,
            directive=directive,
            diff=proposal.text[:20_000],
            prompt_tokens=proposal.prompt_tokens,
            completion_tokens=proposal.completion_tokens,
        )
        record = ProgramRecord(code=code, parent_id=parent.id, island=island,
                               generation=(parent.generation or 0) + 1, mutation=mutation)
        t0 = time.perf_counter()
        smoke: list[ContextOutcome] = []
        smoke_ids = self.contexts.smoke_ids if cascade.smoke_contexts and cascade.threshold > 0 else ()
        if smoke_ids:
            smoke = await self._evaluate(code, smoke_ids)
            bar = self._smoke_bar(island)
            score = mean_fitness(smoke, self._objective)
            failed = all(o.metrics is None for o in smoke)
            if failed or (bar is not None and score < cascade.threshold * bar):
                self.archive.record_program(record)
                self.archive.record_evaluation(pid, to_record("smoke", smoke, objective=self._objective))
                message = (f"smoke failed: {smoke[0].error}" if failed
                           else f"smoke fitness {score:.3f} < {cascade.threshold:g} x island best {bar:.3f}")
                self._reject(Rejection("cascade", message), parent_id=parent.id, island=island,
                             extra={"program": pid})
                if failed:
                    self._remember(parent.id, f"a child failed: {smoke[0].error}")
                return
        rest = [cid for cid in self.contexts.train_ids if cid not in set(smoke_ids)]
        outcomes = {o.context_id: o for o in smoke}
        node = ""
        if rest:
            full, node = await self._evaluate_on_node(code, rest)
            outcomes.update({o.context_id: o for o in full})
        ordered = [outcomes[cid] for cid in self.contexts.train_ids]
        evaluation = to_record("train", ordered, objective=self._objective, wall_s=time.perf_counter() - t0)
        candidate = Candidate(program=record, evaluation=evaluation,
                              descriptors=descriptors_of(ordered, n=self.config.evaluation.n),
                              error=evaluation.error)
        result = self.archive.add([candidate])[0]
        self.budget.add_evaluation()
        self.rejections_in_row = 0
        self.stats.evaluated += 1
        status = result.status.value if hasattr(result.status, "value") else str(result.status)
        self.stats.count(self.stats.statuses, status)
        self.archive.record_event("evaluated", program_id=pid, island=island,
                                  detail={"stage": "train", "fitness": evaluation.fitness, "status": status,
                                          "node": node[:12],
                                          "elapsed_s": round(self.budget.seconds, 3)})
        previous_best = self.stats.best_by_island.get(island)
        fitness = evaluation.fitness
        if result.status in (AddStatus.NEW_CELL, AddStatus.IMPROVED) and fitness is not None and (
            previous_best is None or fitness > previous_best
        ):
            self.stats.best_by_island[island] = fitness
            await self._validate(pid, code)
        best_overall = max(self.stats.best_by_island.values(), default=0.0)
        self.stats.history.append((self.budget.spent.evaluations, best_overall))
        if self.archive.maybe_migrate():
            self._refresh_best()
        if self.archive.maybe_reset():
            self._refresh_best()
        self._on_change(self)


def apply_proposal(parent_code: str, text: str, full_rewrite: bool) -> tuple[str, Rejection | None, list[str]]:
    """Turn a mutator's answer into the child program.

    Returns (child code, rejection or None, reasons of blocks that failed while others
    applied). A full rewrite must keep everything outside the EVOLVE-BLOCKs."""
    if not text.strip():
        return parent_code, Rejection("no_op", "the mutator proposed no change"), []
    rewrite = parse_full_rewrite(text) if full_rewrite or "<<<<<<<" not in text else None
    if rewrite is not None:
        problem = check_full_rewrite(parent_code, rewrite)
        if problem:
            return parent_code, Rejection("diff_failed", f"full rewrite refused: {problem}"), []
        return rewrite, None, []
    try:
        blocks = parse_blocks(text)
    except Exception as exc:
        return parent_code, Rejection("diff_failed", str(exc).splitlines()[0]), []
    result = apply_edits(parent_code, blocks)
    reasons = [f"block {f.index + 1}: {f.reason}" for f in result.failures]
    if result.applied == 0:
        return parent_code, Rejection("diff_failed", "; ".join(reasons[:3]) or "no block applied"), []
    return result.code, None, reasons[:3]


def proposal_evaluations(archive: Any) -> list[dict[str, Any]]:
    """The ``evaluated`` events of proposals' full train evaluations, in order (the
    archive also logs ``evaluated`` for smoke and test records; those are left out)."""
    return [e for e in archive.events(kind="evaluated") if (e.get("detail") or {}).get("stage") == "train"]


def _as_outcome(ctx: Any) -> ContextOutcome:
    return ContextOutcome(ctx.context_id, dict(ctx.metrics) if ctx.metrics else None, ctx.positions, None)

"""Evaluate one generator program on a set of contexts.

The pipeline per evaluation: one sandboxed child runs ``generate`` for every context
(its LLM calls proxied to the ``persona`` role of the client), the respondent answers
each context's questionnaire for every persona, answers become positions ``Z``
(N x K in [0, 1], NaN where an axis got no answer) and ``Z`` is scored on the six
metrics. A failure in one context is recorded on that context; it never aborts the
others or raises to the caller.

Missing data is recorded and scored by one documented rule, never silently (see
docs/SCORING.md and :mod:`metrics.incomplete`): a program may return k <= n personas (a
short population) and a persona may be unplaced on an axis (NaN); the context is scored by
:func:`metrics.evaluate_incomplete` with the n asked for, so neither can raise a score.
The counts are on :class:`ContextOutcome` (``n_asked``, ``n_returned``, ``n_placed``,
``empty``) and, when the population is incomplete, also in its ``metrics`` dict under
:data:`COUNT_KEYS` (so they reach the archive's ``metrics_extra`` column).

A persona whose text addresses the respondent (:mod:`generators.screening`) is not placed
and scored as missing by the same rule; their number is ``ContextOutcome.addressed`` and
the metrics key :data:`~generators.screening.ADDRESSED_KEY` (absent when 0). A context where
every persona did so is an error naming the count.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

import metrics
from generators.context import Context
from generators.llm.allowance import Allowance, AllowanceClient
from generators.llm.completion_client import CompletionClient
from generators.llm.errors import BudgetExceeded
from generators.positions import positions as answers_to_positions
from generators.respondent import Respondent
from generators.sandbox import GenerationJob, SandboxLimits, run_generator_async
from generators.screening import ADDRESSED_KEY, all_addressed_error, answer_screened
from generators.sim_binding import bind_evaluation

#: Extra keys of ``ContextOutcome.metrics`` for an incomplete population: personas asked
#: for (n), returned (k) and placed on every axis. Absent when all n are there and placed.
COUNT_KEYS: tuple[str, str, str] = ("personas_asked", "personas_returned", "personas_placed")


@dataclass(frozen=True)
class EvalSettings:
    """``n`` personas per context; ``mc_samples`` Monte Carlo points of the metrics;
    ``limits`` of the sandbox; ``parallel`` contexts generated at once in the sandbox."""

    n: int = 25
    mc_samples: int = 10_000
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    parallel: int = 4


@dataclass(frozen=True)
class ContextOutcome:
    """Result of one program on one context.

    ``metrics`` holds the six metrics (None on failure), ``positions`` the N x K matrix,
    ``personas`` the persona dicts, ``error`` a one-line failure, ``detail`` the useful
    traceback for the mutator, ``tokens`` the persona-role tokens spent (prompt +
    completion), ``calls`` the persona-role LLM calls the program made and ``prompts`` the
    distinct prompt templates among them (digits masked; behaviour descriptors), ``missing`` questionnaire
    answers that could not be parsed, ``wall_s`` the seconds spent on the respondent and metrics for this
    context (the shared sandbox time is in :attr:`ProgramOutcome.sandbox_s`), ``addressed`` the
    personas whose text addressed the respondent (not placed, scored as missing).
    """

    context_id: str
    metrics: dict[str, float] | None
    positions: np.ndarray | None
    personas: list[dict[str, Any]] | None
    error: str | None = None
    detail: str | None = None
    tokens: int = 0
    missing: int = 0
    wall_s: float = 0.0
    n_asked: int = 0
    n_returned: int = 0
    n_placed: int = 0
    empty: int = 0
    addressed: int = 0
    calls: int = 0
    prompts: int = 0

    @property
    def complete(self) -> bool:
        """True when all n personas were returned and placed on every axis."""
        return self.n_asked > 0 and self.n_placed == self.n_asked

    @property
    def population_note(self) -> str:
        """``"k of n personas"`` (plus ``", p placed on every axis"`` when some are not, and
        ``", a addressed the respondent"`` when some text did)."""
        note = f"{self.n_returned} of {self.n_asked} personas"
        note += f", {self.n_placed} placed on every axis" if self.n_placed < self.n_returned else ""
        return note + (f", {self.addressed} addressed the respondent" if self.addressed else "")


def population_counts(Z: np.ndarray, n: int) -> dict[str, int]:
    """The :data:`COUNT_KEYS` of positions ``Z`` (k x K, NaN = unplaced) asked as n personas."""
    c = metrics.completeness(Z, n)
    return {"personas_asked": c.asked, "personas_returned": c.returned, "personas_placed": c.placed}


@dataclass(frozen=True)
class ProgramOutcome:
    """``budget_cut``: some LLM call of this evaluation was refused because its
    :class:`~generators.llm.allowance.Allowance` was spent (the contexts it hit carry a
    ``budget:`` error)."""

    contexts: list[ContextOutcome]
    sandbox_s: float
    respondent_s: float
    metrics_s: float
    budget_cut: bool = False


_DIGITS = re.compile(r"\d+")

BUDGET_CUT_ERROR = "budget: the run's LLM allowance for this evaluation ran out"
"""Error of a context whose LLM calls were refused by the evaluation's allowance."""


def scrub_text(value: Any) -> Any:
    """``value`` with every string made encodable as UTF-8 (lone surrogates such as
    ``"\\ud800"`` become ``"?"``), recursively through lists and dicts. Program output
    passes through this before it is printed or stored."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [scrub_text(v) for v in value]
    if isinstance(value, dict):
        return {scrub_text(k) if isinstance(k, str) else k: scrub_text(v) for k, v in value.items()}
    return value


def call_seed(base: int, *parts: Any) -> int:
    """A deterministic 63-bit seed from ``base`` and any labels (stable across processes)."""
    digest = hashlib.sha256(repr((base,) + parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class PersonaLLMHandler:
    """Serves the sandbox's LLM requests through the client's ``persona`` role.

    Each prompt is one call with its own deterministic seed derived from the evaluation
    seed, the job's context id (``job_keys[job]``; the job index when not given) and a
    per-job call counter, so a re-run is reproducible, two identical prompts in one program
    still get independent samples, and the seeds of a context do not depend on which other
    contexts share the evaluation (common random numbers across programs and stages).
    Counts tokens per job.
    """

    def __init__(self, client: CompletionClient, *, seed: int, job_keys: Sequence[str] | None = None) -> None:
        self._client = client
        self._seed = seed
        self._keys = list(job_keys) if job_keys is not None else None
        self._calls: dict[int, int] = {}
        self._templates: dict[int, set[str]] = {}
        self.tokens: dict[int, int] = {}
        self.cut_jobs: set[int] = set()
        """Jobs with a call refused by the budget (see :class:`generators.llm.allowance.AllowanceClient`)."""

    async def __call__(
        self,
        prompts: list[str],
        *,
        system: str | None,
        temperature: float | None,
        max_tokens: int | None,
        job_index: int,
    ) -> list[str]:
        start = self._calls.get(job_index, 0)
        self._calls[job_index] = start + len(prompts)
        self._templates.setdefault(job_index, set()).update(_DIGITS.sub("#", p) for p in prompts)

        async def one(i: int, prompt: str) -> str:
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": prompt}
            ]
            try:
                completion = await self._client.acomplete(
                    "persona",
                    messages,
                    temperature=temperature,
                    max_tokens=max_tokens,
                    seed=self._call_seed(job_index, start + i),
                )
            except BudgetExceeded:
                self.cut_jobs.add(job_index)
                raise
            self.tokens[job_index] = (
                self.tokens.get(job_index, 0) + completion.prompt_tokens + completion.completion_tokens
            )
            return completion.text

        return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts))))

    def calls(self, job_index: int) -> int:
        """LLM calls asked by job ``job_index`` so far."""
        return self._calls.get(job_index, 0)

    def templates(self, job_index: int) -> int:
        """Distinct prompts (digits masked) job ``job_index`` sent so far."""
        return len(self._templates.get(job_index, ()))

    def _call_seed(self, job_index: int, counter: int) -> int:
        if self._keys is not None and 0 <= job_index < len(self._keys):
            return call_seed(self._seed, "llm", self._keys[job_index], counter)
        return call_seed(self._seed, job_index, counter)


async def evaluate_program(
    code: str,
    contexts: Sequence[Context],
    *,
    client: CompletionClient,
    respondent: Respondent,
    settings: EvalSettings = EvalSettings(),
    seed: int = 0,
    allowance: Allowance | None = None,
    screen: bool = True,
) -> ProgramOutcome:
    """Run ``code`` on every context and score each population.

    ``seed`` drives, per context ``c``, the program's ``rng`` (``call_seed(seed, "rng", c)``),
    the persona-role call seeds (``call_seed(seed, "llm", c, i)`` for the i-th call) and the
    respondent (``call_seed(seed, "resp", c)``): a context draws the same seeds whatever
    other contexts share the evaluation, so two programs evaluated with one ``seed`` are
    compared on common random numbers. The metrics' Monte Carlo points use seed 0 so all
    programs are scored on the same points. Never raises for a failing program: errors are per context.
    ``allowance`` bounds the LLM calls / dollars of this whole evaluation (persona and
    respondent roles together); a context whose calls were refused gets the error
    :data:`BUDGET_CUT_ERROR` and no metrics, and ``budget_cut`` is set.
    Personas whose text addresses the respondent are not placed (:mod:`generators.screening`);
    ``screen=False`` turns that off, for a bench's "detector off" arm only.
    """
    client, respondent = bind_evaluation(client, respondent)  # sim text reads only in this evaluation
    limited: AllowanceClient | None = None
    if allowance is not None and not allowance.unlimited:
        limited = AllowanceClient(client, allowance)
        if getattr(respondent, "client", None) is client:
            respondent = copy.copy(respondent)
            respondent.client = limited  # type: ignore[attr-defined]
        client = limited
    handler = PersonaLLMHandler(client, seed=seed, job_keys=[ctx.id for ctx in contexts])
    jobs = [
        GenerationJob(context=ctx.public_dict(), n=settings.n, seed=call_seed(seed, "rng", ctx.id))
        for ctx in contexts
    ]
    t0 = time.perf_counter()
    results = await run_generator_async(
        code, jobs, llm=handler, limits=settings.limits, parallel=settings.parallel
    )
    sandbox_s = time.perf_counter() - t0

    async def score(index: int, ctx: Context) -> tuple[ContextOutcome, float, float]:
        result = results[index]
        personas = None if result.personas is None else scrub_text(result.personas)  # printable, storable
        tokens = handler.tokens.get(index, 0)
        if index in handler.cut_jobs:
            return (
                ContextOutcome(
                    ctx.id, None, None, personas, error=BUDGET_CUT_ERROR, detail=result.error, tokens=tokens
                ),
                0.0,
                0.0,
            )
        if personas is None:
            return (
                ContextOutcome(
                    ctx.id,
                    None,
                    None,
                    None,
                    error=result.error or "generation failed",
                    detail=result.detail,
                    tokens=tokens,
                ),
                0.0,
                0.0,
            )
        n_returned = len(personas)
        if not 1 <= n_returned <= settings.n:
            return (
                ContextOutcome(
                    ctx.id,
                    None,
                    None,
                    personas,
                    error=f"generate() returned {n_returned} personas, expected 1 to {settings.n}",
                    tokens=tokens,
                    n_asked=settings.n,
                    n_returned=n_returned,
                ),
                0.0,
                0.0,
            )
        r0 = time.perf_counter()
        try:
            screened = await answer_screened(
                respondent, personas, ctx, seed=call_seed(seed, "resp", ctx.id), screen=screen
            )
            placed = answers_to_positions(screened.answers, ctx)
        except BudgetExceeded:
            return (
                ContextOutcome(
                    ctx.id,
                    None,
                    None,
                    personas,
                    error=BUDGET_CUT_ERROR,
                    tokens=tokens,
                    n_asked=settings.n,
                    n_returned=n_returned,
                ),
                time.perf_counter() - r0,
                0.0,
            )
        except Exception as exc:  # a respondent failure is this context's error, not the run's
            return (
                ContextOutcome(
                    ctx.id,
                    None,
                    None,
                    personas,
                    error=f"respondent failed: {type(exc).__name__}: {exc}".splitlines()[0],
                    tokens=tokens,
                    n_asked=settings.n,
                    n_returned=n_returned,
                ),
                time.perf_counter() - r0,
                0.0,
            )
        r1 = time.perf_counter()
        unasked = screened.addressed  # rows never sent: not counted as unparsed answers or empty cells
        counts: dict[str, Any] = dict(
            n_asked=settings.n,
            n_returned=n_returned,
            n_placed=int((~np.isnan(placed.Z).any(axis=1)).sum()),
            empty=int(placed.empty) - unasked * ctx.k,
            addressed=unasked,
        )
        missing = int(placed.missing) - unasked * int(screened.answers.values.shape[1])
        try:
            if screened.addressed == n_returned:
                raise ValueError(all_addressed_error(n_returned))
            scores = metrics.evaluate_incomplete(
                placed.Z, n=settings.n, mc_samples=settings.mc_samples, seed=0
            )
        except ValueError as exc:  # e.g. no persona placed on every axis
            return (
                ContextOutcome(
                    ctx.id,
                    None,
                    placed.Z,
                    personas,
                    error=f"metrics: {exc}",
                    tokens=tokens,
                    missing=missing,
                    **counts,
                ),
                r1 - r0,
                time.perf_counter() - r1,
            )
        scores = dict(scores)
        if counts["n_placed"] < settings.n:
            scores.update(population_counts(placed.Z, settings.n))
        if screened.addressed:
            scores[ADDRESSED_KEY] = screened.addressed
        r2 = time.perf_counter()
        return (
            ContextOutcome(
                ctx.id, scores, placed.Z, personas, tokens=tokens, missing=missing, wall_s=r2 - r0, **counts
            ),
            r1 - r0,
            r2 - r1,
        )

    scored = await asyncio.gather(*(score(i, ctx) for i, ctx in enumerate(contexts)))
    return ProgramOutcome(
        contexts=[
            dataclasses.replace(s[0], calls=handler.calls(i), prompts=handler.templates(i))
            for i, s in enumerate(scored)
        ],
        sandbox_s=sandbox_s,
        respondent_s=sum(s[1] for s in scored),
        metrics_s=sum(s[2] for s in scored),
        budget_cut=bool(limited is not None and limited.cut),
    )


def mean_metrics(outcomes: Sequence[ContextOutcome]) -> dict[str, float] | None:
    """Mean of each metric over the contexts that succeeded (None if none did)."""
    ok = [o.metrics for o in outcomes if o.metrics]
    if not ok:
        return None
    means = metrics.aggregate(ok)["mean"]
    assert isinstance(means, dict)
    return {name: float(value) for name, value in means.items()}


def tokens_per_persona(outcomes: Sequence[ContextOutcome], n: int) -> float:
    """Persona-role tokens spent per persona, averaged over the contexts that ran."""
    ran = [o for o in outcomes if o.personas is not None or o.tokens]
    if not ran or n <= 0:
        return 0.0
    return float(sum(o.tokens for o in ran)) / (len(ran) * n)

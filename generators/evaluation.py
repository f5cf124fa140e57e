"""Evaluate one generator program on a set of contexts.

The pipeline per evaluation: one sandboxed child runs ``generate`` for every context
(its LLM calls proxied to the ``persona`` role of the client), the respondent answers
each context's questionnaire for every persona, answers become positions ``Z``
(N x K in [0, 1]) and ``Z`` is scored on the six metrics. A failure in one context is
recorded on that context; it never aborts the others or raises to the caller.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

import metrics
from generators.context import Context
from generators.positions import positions as answers_to_positions
from generators.respondent import Respondent
from generators.sandbox import GenerationJob, SandboxLimits, run_generator_async


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
    completion), ``missing`` questionnaire answers that could not be parsed,
    ``wall_s`` the seconds spent on the respondent and metrics for this context (the
    shared sandbox time is in :attr:`ProgramOutcome.sandbox_s`).
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


@dataclass(frozen=True)
class ProgramOutcome:
    contexts: list[ContextOutcome]
    sandbox_s: float
    respondent_s: float
    metrics_s: float


def call_seed(base: int, *parts: Any) -> int:
    """A deterministic 63-bit seed from ``base`` and any labels (stable across processes)."""
    digest = hashlib.sha256(repr((base,) + parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class PersonaLLMHandler:
    """Serves the sandbox's LLM requests through the client's ``persona`` role.

    Each prompt is one call with its own deterministic seed derived from the evaluation
    seed, the job and a per-job call counter, so a re-run is reproducible while two
    identical prompts in one program still get independent samples. Counts tokens per job.
    """

    def __init__(self, client: Any, *, seed: int) -> None:
        self._client = client
        self._seed = seed
        self._calls: dict[int, int] = {}
        self.tokens: dict[int, int] = {}

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

        async def one(i: int, prompt: str) -> str:
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": prompt}
            ]
            completion = await self._client.acomplete(
                "persona",
                messages,
                temperature=temperature,
                max_tokens=max_tokens,
                seed=call_seed(self._seed, job_index, start + i),
            )
            self.tokens[job_index] = (
                self.tokens.get(job_index, 0) + completion.prompt_tokens + completion.completion_tokens
            )
            return completion.text

        return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts))))


async def evaluate_program(
    code: str,
    contexts: Sequence[Context],
    *,
    client: Any,
    respondent: Respondent,
    settings: EvalSettings = EvalSettings(),
    seed: int = 0,
) -> ProgramOutcome:
    """Run ``code`` on every context and score each population.

    ``seed`` drives the program's ``rng`` (per context), the LLM call seeds and the
    respondent; the metrics' Monte Carlo points use seed 0 so all programs are scored
    on the same points. Never raises for a failing program: errors are per context.
    """
    handler = PersonaLLMHandler(client, seed=seed)
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
        tokens = handler.tokens.get(index, 0)
        if result.personas is None:
            return (
                ContextOutcome(ctx.id, None, None, None, error=result.error or "generation failed",
                               detail=result.detail, tokens=tokens),
                0.0,
                0.0,
            )
        r0 = time.perf_counter()
        try:
            answers = await respondent.answer(result.personas, ctx, seed=call_seed(seed, "resp", ctx.id))
            placed = answers_to_positions(answers, ctx)
        except Exception as exc:  # a respondent failure is this context's error, not the run's
            return (
                ContextOutcome(ctx.id, None, None, result.personas,
                               error=f"respondent failed: {type(exc).__name__}: {exc}".splitlines()[0],
                               tokens=tokens),
                time.perf_counter() - r0,
                0.0,
            )
        r1 = time.perf_counter()
        try:
            scores = metrics.evaluate(np.clip(placed.Z, 0.0, 1.0), mc_samples=settings.mc_samples, seed=0)
        except ValueError as exc:  # e.g. fewer than 2 personas placed
            return (
                ContextOutcome(ctx.id, None, placed.Z, result.personas, error=f"metrics: {exc}",
                               tokens=tokens, missing=int(placed.missing)),
                r1 - r0,
                time.perf_counter() - r1,
            )
        r2 = time.perf_counter()
        return (
            ContextOutcome(ctx.id, dict(scores), placed.Z, result.personas, tokens=tokens,
                           missing=int(placed.missing), wall_s=r2 - r0),
            r1 - r0,
            r2 - r1,
        )

    scored = await asyncio.gather(*(score(i, ctx) for i, ctx in enumerate(contexts)))
    return ProgramOutcome(
        contexts=[s[0] for s in scored],
        sandbox_s=sandbox_s,
        respondent_s=sum(s[1] for s in scored),
        metrics_s=sum(s[2] for s in scored),
    )


def mean_metrics(outcomes: Sequence[ContextOutcome]) -> dict[str, float] | None:
    """Mean of each metric over the contexts that succeeded (None if none did)."""
    ok = [o.metrics for o in outcomes if o.metrics]
    if not ok:
        return None
    return {name: float(value) for name, value in metrics.aggregate(ok)["mean"].items()}


def tokens_per_persona(outcomes: Sequence[ContextOutcome], n: int) -> float:
    """Persona-role tokens spent per persona, averaged over the contexts that ran."""
    ran = [o for o in outcomes if o.personas is not None or o.tokens]
    if not ran or n <= 0:
        return 0.0
    return float(sum(o.tokens for o in ran)) / (len(ran) * n)


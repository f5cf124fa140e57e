"""Common random numbers (issue 13, item 1): a context's seeds depend on the evaluation
seed and the context id only, not on which other contexts share the evaluation."""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np

from evolve.execution.workers import WorkerSpec, build_worker_state
from generators.context_loader import resolve_contexts
from generators.evaluation import EvalSettings, PersonaLLMHandler, call_seed, evaluate_program
from generators.seeds import load_seed


def test_a_context_scores_the_same_alone_or_with_others_and_another_seed_differs():
    spec = WorkerSpec(settings=EvalSettings(n=8, mc_samples=500))
    client, respondent = build_worker_state(spec)
    a, b = resolve_contexts(["esports_community", "hospital_night_shift"])
    code = load_seed("sobol")

    def run(contexts, seed):
        out = asyncio.run(
            evaluate_program(
                code, contexts, client=client, respondent=respondent, settings=spec.settings, seed=seed
            )
        )
        return {o.context_id: o for o in out.contexts}

    together = run([a, b], 11)
    alone = run([b], 11)
    assert together[b.id].metrics is not None
    assert np.array_equal(together[b.id].positions, alone[b.id].positions)
    assert together[b.id].metrics == alone[b.id].metrics
    other = run([b], 12)
    assert not np.array_equal(other[b.id].positions, alone[b.id].positions)


def test_persona_call_seeds_are_keyed_by_context_id():
    class Recorder:
        seeds: list[int] = []

        async def acomplete(self, role, messages, *, temperature, max_tokens, seed):
            Recorder.seeds.append(seed)
            return type("C", (), {"text": "x", "prompt_tokens": 1, "completion_tokens": 1})()

    handler = PersonaLLMHandler(Recorder(), seed=5, job_keys=["ctx_a", "ctx_b"])
    asyncio.run(handler(["p", "q"], system=None, temperature=None, max_tokens=None, job_index=1))
    assert Recorder.seeds == [call_seed(5, "llm", "ctx_b", 0), call_seed(5, "llm", "ctx_b", 1)]

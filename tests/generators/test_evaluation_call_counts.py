"""The persona-role calls and prompt templates an evaluation records (strategy descriptors)."""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from evolve.execution.workers import WorkerSpec, build_worker_state
from evolve.loop.scoring import descriptors_of
from generators.context_loader import resolve_contexts
from generators.evaluation import EvalSettings, PersonaLLMHandler, evaluate_program
from generators.seeds import load_seed


class Echo:
    async def acomplete(self, role, messages, *, temperature, max_tokens, seed):
        return type("C", (), {"text": "x", "prompt_tokens": 2, "completion_tokens": 3})()


def test_handler_counts_calls_and_templates_per_job_with_digits_masked():
    handler = PersonaLLMHandler(Echo(), seed=0)
    asyncio.run(
        handler(
            ["persona 1 of 9", "persona 2 of 9", "a rebel"],
            system=None,
            temperature=None,
            max_tokens=None,
            job_index=0,
        )
    )
    asyncio.run(handler(["persona 10 of 12"], system=None, temperature=None, max_tokens=None, job_index=0))
    assert handler.calls(0) == 4 and handler.templates(0) == 2
    assert handler.calls(1) == 0 and handler.templates(1) == 0
    assert handler.tokens[0] == 4 * 5


def test_an_evaluation_records_calls_and_the_descriptors_read_them():
    spec = WorkerSpec(settings=EvalSettings(n=6, mc_samples=500))
    client, respondent = build_worker_state(spec)
    contexts = resolve_contexts(["esports_community"])
    got = {}
    for name in ("naive", "batch"):
        out = asyncio.run(
            evaluate_program(
                load_seed(name),
                contexts,
                client=client,
                respondent=respondent,
                settings=spec.settings,
                seed=3,
            )
        )
        (o,) = out.contexts
        assert o.metrics is not None and o.calls >= 1 and 1 <= o.prompts <= o.calls
        got[name] = descriptors_of(out.contexts, n=6)
        assert got[name]["calls_per_context"] == o.calls
        assert got[name]["personas_per_call"] == o.n_returned / o.calls
        assert got[name]["text_length"] > 0
    assert got["naive"]["calls_per_context"] != got["batch"]["calls_per_context"]

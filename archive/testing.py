"""Synthetic candidates for tests and benchmarks (no LLM, no metrics package needed)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .records import (
    METRIC_NAMES,
    Candidate,
    ContextResult,
    DescriptorSpec,
    EvaluationRecord,
    MutationInfo,
    ProgramRecord,
)

SYNTHETIC_DESCRIPTORS: tuple[DescriptorSpec, ...] = (
    DescriptorSpec("tail_share", 0.0, 1.0, 10),
    DescriptorSpec("llm_tokens_per_persona", 10.0, 10_000.0, 8, log=True),
)
"""The grid of :func:`synthetic_candidate`'s default descriptor values (fixed ranges): an
archive that stores synthetic candidates declares it (``ArchiveConfig(descriptors=...)``)."""


def synthetic_code(i: int, *, body_lines: int = 20) -> str:
    """A distinct, parseable generator program of roughly ``body_lines`` lines."""
    lines = [f'"""Synthetic generator #{i}."""', "", "def generate(context, n, llm, rng):"]
    lines += [f"    x{j} = {i} * {j} + rng.random()  # step {j}" for j in range(body_lines)]
    lines.append("    return [{'name': f'p{k}', 'description': 'synthetic'} for k in range(n)]")
    return "\n".join(lines) + "\n"


def synthetic_personas(n: int, *, chars: int = 300) -> list[dict[str, str]]:
    """``n`` persona dicts with ~``chars`` characters of description each."""
    text = ("A synthetic persona with opinions on everything. " * (chars // 48 + 1))[:chars]
    return [{"name": f"Persona {k}", "description": text, "age": str(20 + k)} for k in range(n)]


def synthetic_candidate(
    i: int,
    rng: np.random.Generator,
    *,
    contexts: int = 30,
    personas: int = 25,
    axes: int = 4,
    island: int = 0,
    parent_id: str | None = None,
    generation: int = 0,
    persona_dicts: Sequence[dict[str, str]] | None = None,
    descriptors: dict[str, float] | None = None,
    fitness: float | None = None,
    code: str | None = None,
) -> Candidate:
    """A fully evaluated synthetic candidate (train stage); positions uniform in [0,1]; its
    descriptor values (unless given) are for :data:`SYNTHETIC_DESCRIPTORS`."""
    ctxs = []
    for c in range(contexts):
        z = rng.random((personas, axes))
        m = {name: float(rng.random()) for name in METRIC_NAMES}
        ctxs.append(
            ContextResult(
                f"ctx{c:02d}", m, z, personas=persona_dicts, tokens=int(rng.integers(100, 5000)), wall_s=0.1
            )
        )
    f = float(rng.random()) if fitness is None else fitness
    ev = EvaluationRecord("train", ctxs, f, {name: float(rng.random()) for name in METRIC_NAMES}, wall_s=1.0)
    if descriptors is None:
        descriptors = {
            "tail_share": float(rng.random()),
            "llm_tokens_per_persona": float(10 ** rng.uniform(1, 4)),
        }
    prog = ProgramRecord(
        code=code if code is not None else synthetic_code(i),
        parent_id=parent_id,
        island=island,
        generation=generation,
        mutation=None if parent_id is None else MutationInfo("synthetic", model="sim", diff="--- a\n+++ b\n"),
        label="seed:synthetic" if parent_id is None else None,
    )
    return Candidate(prog, ev, descriptors)

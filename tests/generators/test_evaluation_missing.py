"""evaluate_program with in-process fakes: short populations and unanswered axes are
recorded (k of n, placed, NaN positions) and scored by the worst-completion rule; the
counts reach the archive."""

from __future__ import annotations

import asyncio
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import metrics
from generators import evaluation
from generators.context_loader import context_from_dict
from generators.evaluation import COUNT_KEYS, EvalSettings, evaluate_program
from generators.respondent import Answers, item_layout

CTX = context_from_dict(
    {
        "id": "fake_ctx",
        "description": "A fake setting.",
        "scale": {"min": 1, "max": 5},
        "axes": [
            {
                "name": f"axis{j}",
                "description": "d",
                "low": "lo",
                "high": "hi",
                "items": [{"text": f"item {j}a", "reverse": False}, {"text": f"item {j}b", "reverse": True}],
            }
            for j in range(2)
        ],
    }
)
MC = 500


@pytest.fixture(autouse=True, scope="module")
def _isolated_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERSONA_EVOLVE_CACHE_DIR", str(tmp_path_factory.mktemp("calibration")))
        yield


class PosRespondent:
    """Answers so that each persona lands exactly at its ``pos`` field (None = no answer)."""

    async def answer(self, personas, context, *, seed):
        _, axis, rev = item_layout(context)
        lo, hi = context.scale_min, context.scale_max
        values = np.full((len(personas), len(axis)), np.nan)
        for i, p in enumerate(personas):
            for c, (j, r) in enumerate(zip(axis, rev)):
                z = p["pos"][j]
                if z is not None:
                    v = lo + z * (hi - lo)
                    values[i, c] = lo + hi - v if r else v
        return Answers(values, axis, rev, lo, hi)


def run(monkeypatch, personas, n):
    async def fake_run(code, jobs, *, llm, limits, parallel):
        return [SimpleNamespace(personas=personas, error=None, detail=None) for _ in jobs]

    monkeypatch.setattr(evaluation, "run_generator_async", fake_run)
    out = asyncio.run(
        evaluate_program(
            "x", [CTX], client=None, respondent=PosRespondent(), settings=EvalSettings(n=n, mc_samples=MC)
        )
    )
    return out.contexts[0]


def people(Z):
    return [
        {
            "name": f"p{i}",
            "description": "d",
            "pos": [None if (v is None or math.isnan(v)) else float(v) for v in row],
        }
        for i, row in enumerate(Z)
    ]


def test_full_population_scores_as_before_with_no_extra_keys(monkeypatch):
    Z = np.random.default_rng(0).random((6, 2))
    o = run(monkeypatch, people(Z), 6)
    assert (o.n_asked, o.n_returned, o.n_placed, o.empty) == (6, 6, 6, 0) and o.complete
    assert tuple(o.metrics) == metrics.METRIC_NAMES
    assert o.metrics == pytest.approx(metrics.evaluate(o.positions, mc_samples=MC))
    assert o.population_note == "6 of 6 personas"


def test_short_population_is_recorded_and_scored_by_the_rule(monkeypatch):
    Z = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    o = run(monkeypatch, people(Z), 8)
    assert (o.n_asked, o.n_returned, o.n_placed) == (8, 3, 3) and not o.complete
    assert o.population_note == "3 of 8 personas"
    assert o.positions.shape == (3, 2) and o.error is None
    assert {k: o.metrics[k] for k in COUNT_KEYS} == {
        "personas_asked": 8,
        "personas_returned": 3,
        "personas_placed": 3,
    }
    six = {k: o.metrics[k] for k in metrics.METRIC_NAMES}
    assert six == metrics.evaluate_incomplete(Z, n=8, mc_samples=MC)
    assert six["min_pairwise_distance"] == 0.0


def test_an_unanswered_axis_is_nan_never_half(monkeypatch):
    Z = np.array([[0.1, 0.2], [0.9, np.nan], [0.4, 0.8], [0.7, 0.3]])
    o = run(monkeypatch, people(Z), 4)
    assert np.isnan(o.positions[1, 1]) and not np.isnan(np.delete(o.positions, 1, axis=0)).any()
    assert (o.n_returned, o.n_placed, o.empty) == (4, 3, 1)
    assert o.population_note == "4 of 4 personas, 3 placed on every axis"
    assert o.metrics["personas_placed"] == 3
    filled = np.nan_to_num(o.positions, nan=0.5)  # the old silent fallback
    for name in metrics.METRIC_NAMES:
        a, b = o.metrics[name], metrics.evaluate(filled, mc_samples=MC)[name]
        assert (a <= b + 1e-12) if metrics.HIGHER_IS_BETTER[name] else (a >= b - 1e-12), name


def test_no_persona_placed_is_the_contexts_error(monkeypatch):
    o = run(monkeypatch, people([[0.2, None], [None, 0.3]]), 4)
    assert o.metrics is None and o.error.startswith("metrics: no persona has a position on every axis")
    assert (o.n_returned, o.n_placed) == (2, 0)


@pytest.mark.parametrize("count", [0, 5])
def test_zero_or_too_many_personas_is_an_error(monkeypatch, count):
    o = run(monkeypatch, people(np.full((count, 2), 0.5)), 4)
    assert o.metrics is None and o.error == f"generate() returned {count} personas, expected 1 to 4"


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_short_fitness_never_beats_the_same_population_padded_to_full(data):
    n = data.draw(st.integers(3, 8))
    k = data.draw(st.integers(1, n - 1))
    full = data.draw(arrays(np.float64, (n, 2), elements=st.sampled_from(np.linspace(0, 1, 9))))
    with pytest.MonkeyPatch.context() as mp:
        short = run(mp, people(full[:k]), n)
        whole = run(mp, people(full), n)
    for objective in (
        "coverage",
        {
            "coverage": 1.0,
            "mean_pairwise_distance": 0.5,
            "dispersion": 1.0,
            "min_pairwise_distance": 1.0,
            "kl_divergence": 0.3,
        },
    ):
        assert metrics.fitness(short.metrics, objective) <= metrics.fitness(whole.metrics, objective) + 1e-12


def test_counts_reach_the_archive(tmp_path, monkeypatch):
    from archive import Archive
    from archive.records import ArchiveConfig, Candidate, ProgramRecord
    from evolve.loop.scoring import to_record

    o = run(monkeypatch, people([[0.1, 0.2], [0.8, np.nan], [0.5, 0.9]]), 5)
    arch = Archive.create(
        url_or_path=tmp_path / "a.db", config=ArchiveConfig(islands=1), run_config={}, seed=0
    )
    rec = to_record("train", [o], objective="coverage")
    res = arch.add(
        [
            Candidate(
                ProgramRecord("def generate(context, n, llm, rng):\n    return []\n", None, 0, 0),
                rec,
                {"tail_share": 0.5, "llm_tokens_per_persona": 100.0},
            )
        ]
    )[0]
    stored = arch.evaluations(res.program_id)[0].contexts[0]
    assert {k: stored.metrics[k] for k in COUNT_KEYS} == {
        "personas_asked": 5,
        "personas_returned": 3,
        "personas_placed": 2,
    }
    assert stored.positions.shape == (3, 2) and np.isnan(stored.positions[1, 1])
    assert stored.metrics["coverage"] == pytest.approx(o.metrics["coverage"])
    arch.close()

"""Descriptor bins from data: calibrated from the first evaluations, frozen, stored, stable on resume."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archive.core as core
from archive import Archive, ArchiveConfig
from archive.calibration import PAD, calibrated_specs, data_range, rebin
from archive.records import DescriptorSpec, EliteView, declared_spec
from archive.testing import synthetic_candidate

ROOT = Path(__file__).resolve().parents[2]


def _config(after: int = 6, islands: int = 2) -> ArchiveConfig:
    return ArchiveConfig(
        islands=islands,
        calibrate_after=after,
        descriptors=(
            declared_spec("centre_distance", bins=5),
            declared_spec("llm_tokens_per_persona", bins=4),
        ),
    )


def _cand(i: int, dist: float, tokens: float, fitness: float, island: int = 0):
    return synthetic_candidate(
        i,
        np.random.default_rng(i),
        contexts=2,
        personas=3,
        axes=2,
        island=island,
        fitness=fitness,
        descriptors={"centre_distance": dist, "llm_tokens_per_persona": tokens},
    )


def _specs(a: Archive) -> list[tuple]:
    return [(d.name, d.low, d.high, d.bins, d.log, d.calibrate) for d in a.config.descriptors]


def test_ranges_come_from_the_first_evaluations_and_are_stored(tmp_path):
    db = tmp_path / "a.db"
    rng = np.random.default_rng(0)
    dists = rng.uniform(0.2, 0.4, 6)
    toks = 10 ** rng.uniform(2, 3, 6)
    with Archive.create(url_or_path=db, config=_config(), run_config={}, seed=0) as a:
        provisional = _specs(a)
        for i in range(5):
            a.add([_cand(i, dists[i], toks[i], 0.1 * i, island=i % 2)])
        assert a.config.calibrated_at is None and _specs(a) == provisional
        a.add([_cand(5, dists[5], toks[5], 0.5, island=1)])
        assert a.config.calibrated_at == 6
        dist, tok = a.config.descriptors
        span = dists.max() - dists.min()
        assert dist.low == pytest.approx(dists.min() - PAD * span) and dist.high == pytest.approx(
            dists.max() + PAD * span
        )
        lspan = np.log10(toks.max()) - np.log10(toks.min())
        assert np.log10(tok.low) == pytest.approx(np.log10(toks.min()) - PAD * lspan)
        assert np.log10(tok.high) == pytest.approx(np.log10(toks.max()) + PAD * lspan)
        assert tok.log and dist.calibrate and tok.calibrate
        calibrated = _specs(a)
        assert calibrated != provisional
        # every program placed so far sits in a cell of the new grid, so with 6 spread values
        # more cells are filled than the provisional range gave
        elites = a.grid().elites
        assert {e.program_id for e in elites} >= {a.top(1)[0].id}
        events = a.events(kind="bins_calibrated")
        assert len(events) == 1 and events[0]["detail"]["at"] == 6
        for j in range(6, 12):  # later programs never move the bins
            a.add([_cand(j, 0.9, 5.0, 0.9, island=0)])
        assert _specs(a) == calibrated
    with Archive.open(url_or_path=db, readonly=True) as r:
        assert _specs(r) == calibrated and r.config.calibrated_at == 6
    with Archive.open(url_or_path=db) as w:  # resume: same bins, no second calibration
        assert _specs(w) == calibrated
        w.add([_cand(99, 0.3, 300.0, 0.2)])
        assert _specs(w) == calibrated and len(w.events(kind="bins_calibrated")) == 1


def test_different_data_give_different_ranges(tmp_path):
    got = []
    for k, scale in enumerate((0.1, 0.5)):
        with Archive.create(
            url_or_path=tmp_path / f"{k}.db", config=_config(after=4), run_config={}, seed=0
        ) as a:
            for i in range(4):
                a.add([_cand(i, scale + 0.01 * i, 100.0 * (1 + i), 0.1 * i)])
            got.append(a.config.descriptors[0])
    assert got[0].high < got[1].low


def test_calibration_rebins_every_placed_program_best_per_cell(tmp_path):
    with Archive.create(
        url_or_path=tmp_path / "a.db", config=_config(after=8, islands=1), run_config={}, seed=0
    ) as a:
        # provisional centre_distance bins are [0, 1] in 5: all of these share bin 1
        values = [0.20, 0.21, 0.22, 0.23, 0.24, 0.25, 0.26, 0.27]
        fits = [0.5, 0.1, 0.7, 0.2, 0.3, 0.9, 0.4, 0.6]
        for i, (v, f) in enumerate(zip(values, fits)):
            a.add([_cand(i, v, 100.0, f)])
        elites = a.grid().elites
        assert a.config.calibrated_at == 8
        spec = a.config.descriptors[0]
        bins = {_bin(spec, v) for v in values}
        assert len(bins) > 1 and len(elites) == len(bins)  # spread over the calibrated bins
        for e in elites:
            assert e.fitness == max(f for v, f in zip(values, fits) if _bin(spec, v) == e.cell[0])


def _bin(spec: DescriptorSpec, v: float) -> int:
    from archive.binning import bin_index

    return bin_index(spec, v)[0]


def test_resume_calibrates_a_run_killed_between_the_add_and_the_calibration(tmp_path, monkeypatch):
    db = tmp_path / "a.db"
    monkeypatch.setattr(core, "calibration_due", lambda config, clock: False)  # the process dies first
    with Archive.create(url_or_path=db, config=_config(after=4), run_config={}, seed=0) as a:
        for i in range(4):
            a.add([_cand(i, 0.2 + 0.05 * i, 50.0 * (i + 1), 0.1 * i)])
        assert a.config.calibrated_at is None
    monkeypatch.undo()
    with Archive.open(url_or_path=db) as w:
        assert w.config.calibrated_at == 4
        first = _specs(w)
    with Archive.open(url_or_path=db) as w:
        assert _specs(w) == first and len(w.events(kind="bins_calibrated")) == 1


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from archive import Archive, ArchiveConfig
    from archive.records import declared_spec
    from archive.testing import synthetic_candidate

    cfg = ArchiveConfig(islands=2, calibrate_after=6, descriptors=(
        declared_spec("centre_distance", bins=5), declared_spec("llm_tokens_per_persona", bins=4)))
    a = Archive.create(url_or_path=sys.argv[1], config=cfg, run_config={}, seed=0)
    rng = np.random.default_rng(0)
    print("ready", flush=True)
    for i in range(100000):
"""
    '        d = {"centre_distance": float(rng.uniform(0.1, 0.5)), '
    '"llm_tokens_per_persona": float(10 ** rng.uniform(1, 3))}'
    """
        a.add([synthetic_candidate(i, rng, contexts=2, personas=3, axes=2, island=i % 2, descriptors=d)])
        print(i, flush=True)
    """
)


def test_a_killed_run_resumes_with_its_frozen_bins(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    db = tmp_path / "k.db"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    done, deadline = -1, time.time() + 120
    while done < 12 and time.time() < deadline:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        done = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    con = sqlite3.connect(db)
    import json

    stored = json.loads(con.execute("SELECT detail FROM events WHERE kind='bins_calibrated'").fetchone()[0])
    con.close()
    with Archive.open(url_or_path=db) as a:
        assert a.config.calibrated_at == 6
        assert a.config.to_dict()["descriptors"] == stored["descriptors"]
        cells = {(e.island, e.cell) for e in a.grid().elites}
        a.add([_cand(10**6, 0.3, 100.0, 0.99)])
        assert a.config.to_dict()["descriptors"] == stored["descriptors"]
        assert all(len(c) == 2 for _, c in cells)


def test_an_archive_from_before_calibration_opens_with_its_fixed_bins(tmp_path):
    db = tmp_path / "old.db"
    fixed = ArchiveConfig(
        islands=1,
        descriptors=(
            DescriptorSpec("tail_share", 0.0, 1.0, 10),
            DescriptorSpec("llm_tokens_per_persona", 10.0, 1e4, 8, log=True),
        ),
    )
    with Archive.create(url_or_path=db, config=fixed, run_config={}, seed=0) as a:
        a.add([synthetic_candidate(0, np.random.default_rng(0), contexts=2, personas=3, axes=2)])
    old = fixed.to_dict()
    del old["calibrate_after"], old["calibrated_at"]
    for d in old["descriptors"]:
        del d["calibrate"]
    con = sqlite3.connect(db)
    import json

    con.execute("UPDATE runs SET archive_config = ?", (json.dumps(old),))
    con.commit()
    con.close()
    with Archive.open(url_or_path=db) as a:
        assert a.config.calibrated_at is None and not any(d.calibrate for d in a.config.descriptors)
        assert a.config.descriptors == fixed.descriptors
        a.add([synthetic_candidate(1, np.random.default_rng(1), contexts=2, personas=3, axes=2)])
        assert a.events(kind="bins_calibrated") == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30), st.booleans())
def test_data_range_covers_the_data_inside_the_bounds(values, log):
    spec = declared_spec("centre_distance" if not log else "llm_tokens_per_persona", bins=4)
    vals = [v * 1000 + 1 for v in values] if log else values
    lo, hi = data_range(spec, vals)
    assert lo < hi
    if not log:
        assert 0.0 <= lo <= min(vals) + 1e-12 and max(vals) - 1e-12 <= hi <= 1.0
    else:
        assert 0 < lo <= min(vals) * (1 + 1e-9) and hi >= max(vals) * (1 - 1e-9)


def test_data_range_without_usable_values_keeps_the_provisional_range():
    spec = declared_spec("llm_tokens_per_persona", bins=4)
    assert data_range(spec, [0.0, float("nan")]) is None
    assert calibrated_specs((spec,), [{"llm_tokens_per_persona": 0.0}]) == (spec,)
    fixed = DescriptorSpec("llm_tokens_per_persona", 10.0, 100.0, 4, log=True)
    assert calibrated_specs((fixed,), [{"llm_tokens_per_persona": 5000.0}]) == (fixed,)


def test_rebin_keeps_the_best_per_cell_and_prefers_incumbents_on_ties():
    cfg = ArchiveConfig(islands=2, descriptors=(DescriptorSpec("centre_distance", 0.0, 1.0, 2),))
    e = lambda isl, pid, f, v, m=None: EliteView(isl, (), pid, f, {"centre_distance": v}, m, 0)  # noqa: E731
    old = [e(0, "seed", 0.5, 0.1), e(1, "seed", 0.5, 0.1, m=0)]
    placed = [
        e(0, "a", 0.5, 0.2),
        e(0, "b", 0.7, 0.9),
        e(1, "c", 0.4, 0.3),
        e(5, "x", 9.0, 0.1),
        EliteView(0, (), "bad", 9.0, {}, None, 0),
    ]
    got = {(g.island, g.cell): g for g in rebin(cfg, old, placed)}
    assert got[(0, (0,))].program_id == "seed" and got[(0, (1,))].program_id == "b"
    assert got[(1, (0,))].program_id == "seed" and got[(1, (0,))].migrant_from == 0
    assert len(got) == 3


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"low": 0.1}, "both low and high"),
    ],
)
def test_declared_spec_errors_are_one_line(kwargs, fragment):
    with pytest.raises(ValueError) as exc:
        declared_spec("centre_distance", bins=3, **kwargs)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(ValueError, match="unknown descriptor 'nope'"):
        declared_spec("nope", bins=3)

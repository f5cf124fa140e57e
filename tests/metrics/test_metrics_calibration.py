"""Radius calibration and its memory / disk caches (corruption, staleness, atomic writes)."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from metrics import calibration as cal_mod
from metrics.calibration import (
    CACHE_ENV_VAR,
    N_SCRAMBLES,
    base_radius,
    cache_dir,
    cache_path,
    calibrate,
    clear_memory_cache,
    load_cached,
    unit_ball_volume,
)

MC = 512
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache directory and an empty memory cache; counts real computations."""
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path))
    clear_memory_cache()
    calls = []
    real = cal_mod.compute_calibration

    def counting(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(cal_mod, "compute_calibration", counting)
    yield tmp_path, calls
    clear_memory_cache()


def test_unit_ball_volume_and_base_radius():
    assert unit_ball_volume(1) == pytest.approx(2.0)
    assert unit_ball_volume(2) == pytest.approx(math.pi)
    assert unit_ball_volume(3) == pytest.approx(4 * math.pi / 3)
    assert unit_ball_volume(4) == pytest.approx(math.pi**2 / 2)
    assert base_radius(25, 2) == pytest.approx(math.sqrt(1 / (25 * math.pi)))
    assert base_radius(10, 1) == pytest.approx(0.05)
    # N balls of radius r0 have total volume 1
    assert 7 * unit_ball_volume(5) * base_radius(7, 5) ** 5 == pytest.approx(1.0)


def test_calibration_fields(cache):
    c = calibrate(25, 3, mc_samples=MC, seed=0)
    assert (c.n, c.k, c.mc_samples, c.seed) == (25, 3, MC, 0)
    assert len(c.scramble_multipliers) == N_SCRAMBLES
    assert all(1.0 <= m <= 10.0 for m in c.scramble_multipliers)
    assert c.multiplier == float(np.median(c.scramble_multipliers))
    assert c.r0 == base_radius(25, 3)
    assert c.radius == pytest.approx(c.multiplier * c.r0)
    assert 1.2 < c.multiplier < 3.0  # a Sobol set needs balls somewhat larger than r0


def test_binary_search_finds_smallest_multiplier_within_tolerance():
    rng = np.random.default_rng(0)
    nearest = rng.random(1000) * 0.3
    r0 = 0.1
    m = cal_mod._smallest_multiplier(nearest, r0)
    exact = np.sort(nearest)[989] / r0  # 990 of 1000 must be strictly below m * r0
    assert exact < m <= exact + cal_mod.MULTIPLIER_TOL
    assert cal_mod._smallest_multiplier(np.zeros(10), r0) == 1.0
    assert cal_mod._smallest_multiplier(np.full(10, 5.0), r0) == 10.0  # capped


def test_memory_cache_computes_once(cache):
    _, calls = cache
    a = calibrate(20, 2, mc_samples=MC, seed=1)
    b = calibrate(20, 2, mc_samples=MC, seed=1)
    assert a is b
    assert len(calls) == 1
    calibrate(20, 2, mc_samples=MC, seed=2)  # another key
    assert len(calls) == 2


def test_disk_cache_is_written_and_reused(cache):
    tmp, calls = cache
    a = calibrate(30, 4, mc_samples=MC, seed=0)
    path = cache_path(30, 4, mc_samples=MC, seed=0)
    assert path.parent == tmp and path.exists()
    doc = json.loads(path.read_text())
    assert {"format_version", "key", "checksum", "result"} <= set(doc)
    assert doc["key"]["n"] == 30 and doc["key"]["k"] == 4
    clear_memory_cache()
    b = calibrate(30, 4, mc_samples=MC, seed=0)
    assert b == a
    assert len(calls) == 1  # loaded from disk, not recomputed
    assert [p.name for p in tmp.iterdir()] == [path.name]  # no temporary files left behind


def _rewrite(path: Path, mutate) -> None:
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc))


def _reseal(doc: dict) -> None:
    doc["checksum"] = cal_mod._checksum({k: doc[k] for k in ("format_version", "key", "result")})


def _garbage(path: Path, other: Path) -> None:
    path.write_bytes(b"\x00\xffnot json")


def _truncated(path: Path, other: Path) -> None:
    path.write_text(path.read_text()[:40])


def _tampered_value(path: Path, other: Path) -> None:
    _rewrite(path, lambda d: d["result"].update(multiplier=d["result"]["multiplier"] + 0.5))


def _stale_version(path: Path, other: Path) -> None:
    def mutate(d):
        d["format_version"] = cal_mod.FORMAT_VERSION + 1
        _reseal(d)

    _rewrite(path, mutate)


def _stale_library(path: Path, other: Path) -> None:
    def mutate(d):
        d["key"]["scipy"] = "0.0.1"
        _reseal(d)

    _rewrite(path, mutate)


def _other_key(path: Path, other: Path) -> None:
    path.write_text(other.read_text())  # a valid file, for another N


def _implausible_but_sealed(path: Path, other: Path) -> None:
    def mutate(d):
        d["result"]["radius"] = 123.0
        _reseal(d)

    _rewrite(path, mutate)


def _not_an_object(path: Path, other: Path) -> None:
    path.write_text("[1, 2, 3]")


@pytest.mark.parametrize(
    "corrupt",
    [
        _garbage,
        _truncated,
        _tampered_value,
        _stale_version,
        _stale_library,
        _other_key,
        _implausible_but_sealed,
        _not_an_object,
    ],
)
def test_corrupt_stale_or_mismatching_file_is_detected_and_rebuilt(cache, corrupt, caplog):
    tmp, calls = cache
    good = calibrate(25, 2, mc_samples=MC, seed=0)
    calibrate(26, 2, mc_samples=MC, seed=0)
    path = cache_path(25, 2, mc_samples=MC, seed=0)
    good_bytes = path.read_bytes()
    corrupt(path, cache_path(26, 2, mc_samples=MC, seed=0))
    assert path.read_bytes() != good_bytes

    assert load_cached(25, 2, mc_samples=MC, seed=0) is None  # never trusted
    clear_memory_cache()
    n_before = len(calls)
    with caplog.at_level(logging.DEBUG, logger="metrics.calibration"):
        rebuilt = calibrate(25, 2, mc_samples=MC, seed=0)
    assert len(calls) == n_before + 1  # recomputed
    assert rebuilt == good
    assert load_cached(25, 2, mc_samples=MC, seed=0) == good  # file rewritten, valid again
    assert "rebuilding" in caplog.text
    assert not [r for r in caplog.records if "rebuilding" in r.getMessage() and r.levelno >= logging.WARNING]


def test_unwritable_cache_dir_only_warns(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(CACHE_ENV_VAR, str(blocker / "sub"))
    clear_memory_cache()
    with caplog.at_level(logging.WARNING, logger="metrics.calibration"):
        c = calibrate(12, 2, mc_samples=MC, seed=0)
    assert c.n == 12
    assert "cannot write" in caplog.text
    clear_memory_cache()


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "persona-evolve" / "calibration"
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x"


def test_calibrate_rejects_bad_keys(cache):
    for bad in ({"n": 0, "k": 2}, {"n": 5, "k": 0}, {"n": True, "k": 2}, {"n": 5.0, "k": 2}):
        with pytest.raises(ValueError):
            calibrate(bad["n"], bad["k"], mc_samples=MC)
    with pytest.raises(ValueError, match="mc_samples"):
        calibrate(5, 2, mc_samples=0)


def test_concurrent_processes_share_the_cache(tmp_path):
    """Two processes calibrating the same key at once leave one valid file, no tmp files."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from metrics import calibrate; "
        "c = calibrate(40, 3, mc_samples=4000, seed=0); print(repr(c.radius))"
    )
    env = {"PATH": "/usr/bin:/bin", CACHE_ENV_VAR: str(tmp_path), "HOME": str(tmp_path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(REPO)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    radii = {o[0].strip() for o in outs}
    assert len(radii) == 1
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [cache_path(40, 3, mc_samples=4000, seed=0).name]  # no tmp leftovers
    doc = json.loads(files[0].read_text())
    assert repr(doc["result"]["radius"]) == radii.pop()


def test_cache_files_of_other_library_versions_do_not_collide(cache, monkeypatch):
    """Two installs with another numpy (e.g. the Concordia venv) keep files of their own."""
    import metrics.calibration as calibration

    here = cache_path(25, 2, mc_samples=MC, seed=0)
    monkeypatch.setattr(calibration.np, "__version__", "0.0.0-other")
    there = cache_path(25, 2, mc_samples=MC, seed=0)
    assert here != there and here.parent == there.parent
    assert here.name.startswith("calibration-") and "-n25-k2-" in here.name

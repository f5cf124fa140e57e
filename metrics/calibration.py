"""Coverage radius calibration, with an in-memory and an on-disk cache.

For N personas in K dimensions the coverage radius is ``r = m * r0`` where

* ``r0 = (1 / (N * V_K)) ** (1 / K)`` — the radius at which N balls have total volume 1
  (``V_K`` is the volume of the unit K-ball, ``pi**(K/2) / Gamma(K/2 + 1)``);
* ``m`` is the smallest multiplier in [1, 10] (binary search, tolerance 0.01) at which a
  scrambled Sobol set of N points covers 99 % of the MC points (the same MC points
  ``evaluate`` uses: ``mc_samples`` uniform points from ``seed``), taken as the median over
  16 scrambles (Sobol seeds 0..15) because one scramble alone moves ``m`` by up to 15 %.

So a well-spread population scores coverage ~0.99 by construction, whatever N and K.

Caches. A calibration depends on (N, K, mc_samples, seed) and on the numpy/scipy versions
(random streams and Sobol scrambling may change between releases). It is computed once per
process (memory dict) and stored on disk as JSON in :func:`cache_dir`
(``$PERSONA_EVOLVE_CACHE_DIR`` if set, else ``~/.cache/persona-evolve/calibration/``).
Each file holds a format version, its full key and a SHA-256 checksum of its content; a file
that does not parse, has another version or key, a wrong checksum or implausible values is
ignored, recomputed and overwritten — never trusted. Writes go to a temporary file in the
same directory followed by ``os.replace``, so concurrent processes (Ray workers) sharing the
directory only ever read complete files. An unwritable cache directory costs a warning, not
an error.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import math
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from scipy.stats import qmc

from ._validate import validate_mc_samples, validate_seed
from .coverage import coverage_from_distances, mc_points, nearest_distances

__all__ = [
    "Calibration",
    "CACHE_ENV_VAR",
    "FORMAT_VERSION",
    "TARGET_COVERAGE",
    "N_SCRAMBLES",
    "MULTIPLIER_BOUNDS",
    "MULTIPLIER_TOL",
    "unit_ball_volume",
    "base_radius",
    "sobol_points",
    "calibrate",
    "compute_calibration",
    "load_cached",
    "cache_dir",
    "cache_path",
    "clear_memory_cache",
]

log = logging.getLogger(__name__)

#: Environment variable overriding the on-disk cache directory.
CACHE_ENV_VAR = "PERSONA_EVOLVE_CACHE_DIR"
#: Version of the on-disk file format; bump it whenever the algorithm or layout changes.
FORMAT_VERSION = 1
#: Coverage a scrambled Sobol set of N points must reach at the calibrated radius.
TARGET_COVERAGE = 0.99
#: Number of Sobol scrambles (seeds 0..N_SCRAMBLES-1) whose median multiplier is used.
N_SCRAMBLES = 16
#: Search interval for the multiplier m.
MULTIPLIER_BOUNDS = (1.0, 10.0)
#: Binary-search tolerance on m.
MULTIPLIER_TOL = 0.01


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """The coverage radius for one (n, k, mc_samples, seed).

    ``radius = multiplier * r0`` in the units of Z (unit cube side = 1);
    ``scramble_multipliers`` are the 16 per-scramble multipliers whose median is ``multiplier``.
    """

    n: int
    k: int
    mc_samples: int
    seed: int
    r0: float
    multiplier: float
    radius: float
    scramble_multipliers: tuple[float, ...]


_memory: dict[tuple[int, int, int, int], Calibration] = {}
_memory_lock = threading.Lock()


def unit_ball_volume(k: int) -> float:
    """Volume of the unit ball in k dimensions: pi**(k/2) / Gamma(k/2 + 1)."""
    return math.exp(0.5 * k * math.log(math.pi) - math.lgamma(0.5 * k + 1.0))


def base_radius(n: int, k: int) -> float:
    """r0 = (1 / (n * V_k)) ** (1 / k): the radius at which n k-balls have total volume 1."""
    return (1.0 / (n * unit_ball_volume(k))) ** (1.0 / k)


_SOBOL_TAKES_RNG = "rng" in inspect.signature(qmc.Sobol.__init__).parameters


def sobol_points(n: int, k: int, scramble_seed: int) -> np.ndarray:
    """The first n points of a scrambled Sobol sequence in [0, 1)^k for ``scramble_seed``.

    Draws the next power of two with ``random_base2`` and keeps the first n rows — the
    same points ``Sobol.random(n)`` returns, without its balance-properties warning (and
    without touching the process-wide warning filters).
    """
    rng = np.random.default_rng(scramble_seed)
    sampler = qmc.Sobol(k, scramble=True, **({"rng": rng} if _SOBOL_TAKES_RNG else {"seed": rng}))
    m = max(0, math.ceil(math.log2(n)))
    return sampler.random_base2(m)[:n]


def _smallest_multiplier(nearest: np.ndarray, r0: float) -> float:
    """Smallest m in MULTIPLIER_BOUNDS (to MULTIPLIER_TOL, by bisection) with
    coverage(m * r0) >= TARGET_COVERAGE for the given nearest-point distances."""
    lo, hi = MULTIPLIER_BOUNDS

    def reaches(m: float) -> bool:
        return coverage_from_distances(nearest, m * r0) >= TARGET_COVERAGE - 1e-12

    if reaches(lo):
        return lo
    if not reaches(hi):
        log.warning(
            "Sobol set does not reach coverage %.2f at multiplier %.1f; using %.1f", TARGET_COVERAGE, hi, hi
        )
        return hi
    while hi - lo > MULTIPLIER_TOL:
        mid = 0.5 * (lo + hi)
        if reaches(mid):
            hi = mid
        else:
            lo = mid
    return hi


def compute_calibration(n: int, k: int, *, mc_samples: int, seed: int) -> Calibration:
    """Compute (no cache) the calibration for n personas in k dimensions."""
    r0 = base_radius(n, k)
    mc = mc_points(mc_samples, k, seed)
    per_scramble = tuple(
        _smallest_multiplier(nearest_distances(sobol_points(n, k, s), mc), r0) for s in range(N_SCRAMBLES)
    )
    multiplier = float(np.median(per_scramble))
    return Calibration(
        n=n,
        k=k,
        mc_samples=mc_samples,
        seed=seed,
        r0=r0,
        multiplier=multiplier,
        radius=multiplier * r0,
        scramble_multipliers=per_scramble,
    )


def cache_dir() -> Path:
    """The on-disk cache directory: ``$PERSONA_EVOLVE_CACHE_DIR`` if set and non-empty,
    else ``~/.cache/persona-evolve/calibration``. Read at every call."""
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "persona-evolve" / "calibration"


def cache_path(n: int, k: int, *, mc_samples: int, seed: int) -> Path:
    """Path of the cache file for this key (the file may not exist). The name carries a
    digest of the whole key, library versions included, so two installs (e.g. another
    numpy) keep files of their own instead of overwriting each other's."""
    key = json.dumps(_file_key(n, k, mc_samples, seed), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    return cache_dir() / f"calibration-v{FORMAT_VERSION}-n{n}-k{k}-m{mc_samples}-s{seed}-{digest}.json"


def _file_key(n: int, k: int, mc_samples: int, seed: int) -> dict[str, Any]:
    return {
        "n": n,
        "k": k,
        "mc_samples": mc_samples,
        "seed": seed,
        "target_coverage": TARGET_COVERAGE,
        "n_scrambles": N_SCRAMBLES,
        "multiplier_bounds": list(MULTIPLIER_BOUNDS),
        "multiplier_tol": MULTIPLIER_TOL,
        "mc_points": "numpy.random.default_rng(seed).random((mc_samples, k))",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def _checksum(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _body(cal: Calibration) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "key": _file_key(cal.n, cal.k, cal.mc_samples, cal.seed),
        "result": {
            "r0": cal.r0,
            "multiplier": cal.multiplier,
            "radius": cal.radius,
            "scramble_multipliers": list(cal.scramble_multipliers),
        },
    }


def _parse(text: str, n: int, k: int, mc_samples: int, seed: int) -> Calibration:
    """Parse and check a cache file; raise ValueError saying why it is not trusted."""
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"format version {doc.get('format_version')!r} != {FORMAT_VERSION}")
    if doc.get("key") != _file_key(n, k, mc_samples, seed):
        raise ValueError("key does not match (other N/K/mc_samples/seed, algorithm or library version)")
    body = {name: doc.get(name) for name in ("format_version", "key", "result")}
    if doc.get("checksum") != _checksum(body):
        raise ValueError("checksum mismatch")
    res = doc["result"]
    per = tuple(float(x) for x in res["scramble_multipliers"])
    r0, multiplier, radius = float(res["r0"]), float(res["multiplier"]), float(res["radius"])
    lo, hi = MULTIPLIER_BOUNDS
    if (
        len(per) != N_SCRAMBLES
        or not all(lo <= x <= hi for x in per)
        or multiplier != float(np.median(per))
        or r0 != base_radius(n, k)
        or not math.isclose(radius, multiplier * r0, rel_tol=1e-12)
    ):
        raise ValueError("implausible values")
    return Calibration(
        n=n,
        k=k,
        mc_samples=mc_samples,
        seed=seed,
        r0=r0,
        multiplier=multiplier,
        radius=radius,
        scramble_multipliers=per,
    )


def load_cached(n: int, k: int, *, mc_samples: int, seed: int) -> Calibration | None:
    """The on-disk calibration for this key, or None when absent or not trustworthy
    (corrupt, stale version, other key, bad checksum, implausible values)."""
    path = cache_path(n, k, mc_samples=mc_samples, seed=seed)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot read calibration cache %s: %s", path, exc)
        return None
    try:
        return _parse(data.decode("utf-8"), n, k, mc_samples, seed)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # incl. UnicodeDecodeError
        # housekeeping, never a command's output: the file is rebuilt right away
        log.debug("ignoring calibration cache %s (%s); rebuilding it", path, exc)
        return None


def _store(cal: Calibration) -> None:
    """Write the calibration atomically (tmp file in the same directory + os.replace)."""
    path = cache_path(cal.n, cal.k, mc_samples=cal.mc_samples, seed=cal.seed)
    body = _body(cal)
    doc = dict(body, checksum=_checksum(body))
    tmp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as fh:
            tmp_name = fh.name
            json.dump(doc, fh, sort_keys=True, indent=1, allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        log.warning("cannot write calibration cache %s: %s (continuing without it)", path, exc)
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def calibrate(n: int, k: int, *, mc_samples: int = 10_000, seed: int = 0) -> Calibration:
    """The calibration for n personas in k dimensions, from memory, else disk, else computed
    (and then stored in both). Deterministic for a given key and library versions."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1; got {n!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1; got {k!r}")
    key = (int(n), int(k), validate_mc_samples(mc_samples), validate_seed(seed))
    cal = _memory.get(key)
    if cal is not None:
        return cal
    with _memory_lock:
        cal = _memory.get(key)
        if cal is None:
            n_, k_, m_, s_ = key
            cal = load_cached(n_, k_, mc_samples=m_, seed=s_)
            if cal is None:
                cal = compute_calibration(n_, k_, mc_samples=m_, seed=s_)
                _store(cal)
            _memory[key] = cal
    return cal


def clear_memory_cache() -> None:
    """Forget in-process calibrations (the disk cache is untouched)."""
    with _memory_lock:
        _memory.clear()

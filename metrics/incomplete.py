"""Scoring a population with missing data: NaN coordinates and short populations.

Two things can be missing when a population of ``n`` personas was asked for:

* a **coordinate**: a persona was not answered at all on an axis, so its position there is
  NaN (see :func:`generators.positions.positions`);
* a **persona**: the program returned only ``k < n`` personas (a short population).

Both are scored by one rule, the **worst completion**: the ``n - k`` absent personas are
treated as ``n - k`` rows of NaN, and each metric takes the *worst* value it could have over
all ways of filling every NaN cell with a value in [0, 1]. So missing data can never raise a
score: for every filling ``F`` of the missing cells, every metric of the incomplete
population is no better than ``metrics.evaluate(F)`` (and, for a complete population, it is
exactly ``metrics.evaluate``). Per metric (``P`` = the ``p`` rows with every coordinate
known, the *placed* personas):

* ``coverage`` (up) — share of MC points within the radius calibrated for **n** (not p) of
  a placed persona. Exact worst case: an unknown persona may duplicate a placed one.
* ``convex_hull_volume`` (up) — volume of the hull of P (0 when p <= K); NaN when the hull
  policy skips n points (:func:`metrics.hull_skipped` with n). Exact worst case.
* ``min_pairwise_distance`` (up) — 0.0 whenever p < n (an unknown persona may sit on a
  placed one). Exact worst case.
* ``mean_pairwise_distance`` (up) — the sum of P's pairwise distances divided by the
  number of pairs among **n**: ``mean(P) * p(p-1) / (n(n-1))`` (0 when p < 2). A lower
  bound of the worst case (it counts every pair involving an unknown persona as distance
  0), so still never better than any filling.
* ``dispersion`` (down) — largest MC-point distance to the nearest placed persona. Exact
  worst case.
* ``kl_divergence`` (down) — per axis, the known values of that axis (partial rows count
  here) are binned as usual and the axis's ``m`` missing cells all go to the one bin that
  makes KL largest (KL is convex in the counts, so the maximum is at such a vertex); mean
  over axes. Exact worst case.

A row with some but not all coordinates is not placed for the geometric metrics (its known
coordinates still count for KL); treating its unknown cells as free over the whole row is a
relaxation, so the guarantee holds. Monotonicity follows: NaN-ing a cell or dropping a
persona enlarges the set of fillings, so no metric can get better.

At least one placed persona is required; with none, :func:`evaluate_incomplete` raises
``ValueError`` (the evaluator records it as that context's error, which scores fitness 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ._validate import validate_mc_samples, validate_positions, validate_seed
from .calibration import calibrate
from .coverage import coverage_from_distances, dispersion_from_distances, mc_points, nearest_distances
from .distribution import N_BINS, SMOOTHING
from .geometry import convex_hull_volume, hull_skipped, mean_pairwise_distance

__all__ = ["Completeness", "completeness", "evaluate_incomplete", "worst_case_kl"]


@dataclass(frozen=True)
class Completeness:
    """How complete a population is. ``asked``: n personas asked for; ``returned``: k rows
    given; ``placed``: rows with every coordinate known; ``missing_cells``: NaN cells among
    the k rows (the n - k absent personas are not counted here)."""

    asked: int
    returned: int
    placed: int
    missing_cells: int

    @property
    def complete(self) -> bool:
        """True when all n personas are there with every coordinate."""
        return self.placed == self.asked


def completeness(Z: object, n: int | None = None) -> Completeness:
    """The :class:`Completeness` of ``Z`` (k x K, NaN allowed) asked as ``n`` personas
    (default: k). Raises ``ValueError`` for an invalid Z or k > n."""
    Zf = validate_positions(Z, min_rows=1, allow_nan=True)
    k = Zf.shape[0]
    n = k if n is None else int(n)
    if k > n:
        raise ValueError(f"Z has {k} personas but only n = {n} were asked for")
    nan = np.isnan(Zf)
    return Completeness(
        asked=n, returned=k, placed=int((~nan.any(axis=1)).sum()), missing_cells=int(nan.sum())
    )


def _kl_rows(counts: np.ndarray, n: int, bins: int, smoothing: float) -> np.ndarray:
    """KL(P || Uniform) of each row of bin ``counts`` (rows summing to n), as in
    :func:`metrics.distribution.per_axis_kl`."""
    p = counts / n + smoothing
    p = p / p.sum(axis=-1, keepdims=True)
    return np.maximum(np.sum(p * np.log(p * bins), axis=-1), 0.0)


def worst_case_kl(Z: np.ndarray, n: int, *, bins: int = N_BINS, smoothing: float = SMOOTHING) -> float:
    """Mean over axes of the largest per-axis KL divergence over all fillings of the axis's
    missing cells (NaN cells plus the ``n - k`` absent rows) with values in [0, 1]."""
    k, K = Z.shape
    out = np.empty(K)
    eye = np.eye(bins)
    for j in range(K):
        col = Z[:, j]
        known = col[~np.isnan(col)]
        idx = np.minimum((known * bins).astype(np.intp), bins - 1)
        counts = np.bincount(idx, minlength=bins).astype(np.float64)
        m = n - known.size
        if m == 0:
            out[j] = float(_kl_rows(counts[None, :], n, bins, smoothing)[0])
        else:
            out[j] = float(_kl_rows(counts[None, :] + m * eye, n, bins, smoothing).max())
    return float(out.mean())


def evaluate_incomplete(
    Z: object, *, n: int | None = None, mc_samples: int = 10_000, seed: int = 0
) -> dict[str, float]:
    """The six metrics of a population with missing data, by the worst-completion rule
    (module docstring): ``Z`` is k x K in [0, 1] with NaN for unknown coordinates, asked as
    ``n`` personas (default k; k <= n, n >= 2). Keys and units as :func:`metrics.evaluate`;
    equal to it when every coordinate of all n personas is known.

    Guarantee: no metric is better than that metric of any completion of ``Z`` to n
    complete rows (up-metrics <=, down-metrics >=; same MC points and radius). Raises
    ``ValueError`` for an invalid Z or argument, k > n, n < 2, or no fully placed persona.
    """
    Zf = validate_positions(Z, min_rows=1, allow_nan=True)
    mc_samples = validate_mc_samples(mc_samples)
    seed = validate_seed(seed)
    k, K = Zf.shape
    n = k if n is None else int(n)
    if k > n:
        raise ValueError(f"Z has {k} personas but only n = {n} were asked for")
    if n < 2:
        raise ValueError(f"n = {n}; need at least 2 personas")
    placed_mask = ~np.isnan(Zf).any(axis=1)
    P = Zf[placed_mask]
    p = P.shape[0]
    if p == n:
        from .scoring import evaluate  # complete: exactly the ordinary metrics

        return evaluate(P, mc_samples=mc_samples, seed=seed)
    if p == 0:
        raise ValueError(f"no persona has a position on every axis (0 of {n} placed)")
    cal = calibrate(n, K, mc_samples=mc_samples, seed=seed)
    nearest = nearest_distances(P, mc_points(mc_samples, K, seed), tree=cKDTree(P))
    hull = float("nan") if hull_skipped(n, K) is not None else convex_hull_volume(P)
    mean_pd = mean_pairwise_distance(P) * (p * (p - 1)) / (n * (n - 1)) if p >= 2 else 0.0
    return {
        "coverage": coverage_from_distances(nearest, cal.radius),
        "convex_hull_volume": hull,
        "min_pairwise_distance": 0.0,
        "mean_pairwise_distance": float(mean_pd),
        "dispersion": dispersion_from_distances(nearest),
        "kl_divergence": worst_case_kl(Zf, n),
    }

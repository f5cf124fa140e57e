"""The six diversity metrics of a persona population, radius calibration, and behaviour
descriptors. Depends on numpy and scipy only.

Public API::

    evaluate(Z, *, mc_samples=10_000, seed=0) -> dict[str, float]   # the six metrics
    fitness(scores, objective="coverage") -> float                  # higher is better
    to_higher_is_better(name, value) -> float                       # 1/(1+x) for down metrics
    aggregate(list_of_score_dicts) -> dict                          # mean/std/min/max/n/n_valid
    METRIC_NAMES, HIGHER_IS_BETTER
    calibrate(n, k, *, mc_samples=10_000, seed=0) -> Calibration    # cached coverage radius
    hull_skipped(n, k) -> str | None, HULL_MAX_DIM, HULL_MAX_POINTS   # hull size policy
    tail_share(Z, *, low=0.1, high=0.9), llm_tokens_per_persona(total_tokens, n_personas),
    DESCRIPTORS                                                     # behaviour descriptors
    evaluate_incomplete(Z, *, n=None, mc_samples=10_000, seed=0)    # NaN cells / short populations
    completeness(Z, n=None) -> Completeness                          # asked / returned / placed
    references(n, k, *, mc_samples=10_000, seeds=8) -> References    # floor and random reference
    mean_references(shapes, *, mc_samples=10_000, seeds=8)          # averaged over contexts

Hull policy: ``convex_hull_volume`` is NaN (not 0) when it is not computed: K > 8, or N
above ``HULL_MAX_POINTS[K]``; see :mod:`metrics.geometry`.

Missing data (NaN coordinates, fewer personas than asked): the worst-completion rule of
:mod:`metrics.incomplete` — no metric is ever better than with any filling of the gaps.
Noise floor and random reference per (n, K): :mod:`metrics.references`. See docs/SCORING.md.
"""

from .calibration import Calibration, calibrate
from .descriptors import DESCRIPTORS, Descriptor, llm_tokens_per_persona, tail_share
from .geometry import HULL_MAX_DIM, HULL_MAX_POINTS, hull_skipped
from .incomplete import Completeness, completeness, evaluate_incomplete
from .names import HIGHER_IS_BETTER, METRIC_NAMES
from .references import RANDOM_SEEDS, References, mean_references, references
from .scoring import Objective, aggregate, evaluate, fitness, to_higher_is_better

__all__ = [
    "evaluate",
    "fitness",
    "to_higher_is_better",
    "aggregate",
    "Objective",
    "METRIC_NAMES",
    "HIGHER_IS_BETTER",
    "calibrate",
    "Calibration",
    "hull_skipped",
    "HULL_MAX_DIM",
    "HULL_MAX_POINTS",
    "tail_share",
    "llm_tokens_per_persona",
    "DESCRIPTORS",
    "Descriptor",
    "evaluate_incomplete",
    "completeness",
    "Completeness",
    "references",
    "mean_references",
    "References",
    "RANDOM_SEEDS",
]

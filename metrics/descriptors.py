"""Behaviour descriptors of a generator program, for the MAP-Elites archive.

One registry, :data:`DESCRIPTORS`, declares every descriptor once: the function computing
it, how it is read from an evaluation (:meth:`Descriptor.of`, over the evaluation's
:class:`ContextSample` s), its natural bounds and a provisional range with its scale (a run
bins on the provisional range only until its bins are calibrated from data, see
``archive.calibration``). :func:`program_descriptors` computes every descriptor an
evaluation allows.

Population behaviour after the respondent (a population is N personas x K axes in [0, 1];
per evaluation, the mean over contexts that placed personas):

* ``tail_share`` — share of personas with an axis strictly outside [0.1, 0.9];
* ``outer_share`` — share of personas with an axis in the outer fifth of its range at
  either end (strictly outside [0.2, 0.8]);
* ``centre_distance`` — mean Euclidean distance from the cube's centre, divided by the
  largest possible (sqrt(K)/2), in [0, 1]; an unanswered cell counts as the centre;
* ``axis_correlation`` — mean |Pearson r| over axis pairs, in [0, 1] (0 with one axis).

Cost and strategy (per context that ran, means over contexts):

* ``llm_tokens_per_persona`` — persona-role LLM tokens per persona asked;
* ``calls_per_context`` — persona-role LLM calls;
* ``personas_per_call`` — personas returned per call (the batch size; returned personas
  when the program made no call);
* ``prompt_templates`` — distinct prompts sent, digits masked (a program that varies only
  a number in its prompt sends one template);
* ``text_length`` — characters of persona text (what the respondent reads).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._validate import validate_positions

__all__ = [
    "tail_share",
    "outer_share",
    "centre_distance",
    "axis_correlation",
    "llm_tokens_per_persona",
    "ContextSample",
    "Descriptor",
    "DESCRIPTORS",
    "program_descriptors",
]


def tail_share(Z: object, *, low: float = 0.1, high: float = 0.9) -> float:
    """Share in [0, 1] of personas (rows of ``Z``, N >= 1, values in [0, 1]) with at least
    one axis value ``< low`` or ``> high``. NaN cells (axes with no answer) are ignored:
    they never make a persona a tail persona, and the persona still counts in N. Raises
    ``ValueError`` for a bad Z or bounds."""
    lo, hi = float(low), float(high)
    if not (0.0 <= lo < hi <= 1.0):
        raise ValueError(f"tail_share needs 0 <= low < high <= 1; got low={low!r}, high={high!r}")
    Zf = validate_positions(Z, min_rows=1, allow_nan=True)
    with np.errstate(invalid="ignore"):
        return float(np.mean(np.any((Zf < lo) | (Zf > hi), axis=1)))


def outer_share(Z: object) -> float:
    """Share in [0, 1] of personas with an axis in the outer fifth at either end
    (``< 0.2`` or ``> 0.8``); NaN cells ignored as in :func:`tail_share`."""
    return tail_share(Z, low=0.2, high=0.8)


def centre_distance(Z: object) -> float:
    """Mean over personas of the Euclidean distance from the centre (0.5, ..., 0.5),
    divided by sqrt(K)/2 (a corner's distance): 0 = every persona at the centre, 1 = every
    persona at a corner. A NaN cell counts as the centre (no stated displacement)."""
    Zf = validate_positions(Z, min_rows=1, allow_nan=True)
    d = np.nan_to_num(Zf - 0.5, nan=0.0)
    return float(np.mean(np.sqrt(np.sum(d * d, axis=1))) / (math.sqrt(Zf.shape[1]) / 2.0))


FLAT = 1e-12
"""An axis whose values span at most this is constant for :func:`axis_correlation`."""


def axis_correlation(Z: object) -> float:
    """Mean |Pearson r| in [0, 1] over the K(K-1)/2 axis pairs, each over the personas
    answered on both axes; a pair with fewer than 3 such personas or a constant axis (spread
    at most :data:`FLAT`) counts 0 (no measurable dependence). 0.0 when K = 1."""
    Zf = validate_positions(Z, min_rows=1, allow_nan=True)
    k = Zf.shape[1]
    if k < 2:
        return 0.0
    rs: list[float] = []
    for i in range(k):
        for j in range(i + 1, k):
            ok = ~(np.isnan(Zf[:, i]) | np.isnan(Zf[:, j]))
            a, b = Zf[ok, i], Zf[ok, j]
            if a.size < 3 or np.ptp(a) <= FLAT or np.ptp(b) <= FLAT:
                rs.append(0.0)
                continue
            r = float(np.corrcoef(a, b)[0, 1])
            rs.append(min(abs(r), 1.0) if math.isfinite(r) else 0.0)
    return float(np.mean(rs))


def llm_tokens_per_persona(total_tokens: float, n_personas: int) -> float:
    """``total_tokens / n_personas``: LLM tokens spent per persona (>= 0).

    Raises ``ValueError`` when ``total_tokens`` is negative or not finite, or when
    ``n_personas`` is not an integer >= 1.
    """
    t = float(total_tokens)
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"total_tokens must be a finite number >= 0; got {total_tokens!r}")
    if isinstance(n_personas, bool) or not isinstance(n_personas, numbers.Integral) or n_personas < 1:
        raise ValueError(f"n_personas must be an integer >= 1; got {n_personas!r}")
    return t / int(n_personas)


@dataclass(frozen=True, kw_only=True)
class ContextSample:
    """What one context of an evaluation shows about the program that wrote it.

    ``positions``: the N x K positions in [0, 1] (NaN allowed; None when nothing was
    placed); ``asked``: personas asked (n); ``returned``: personas returned; ``tokens``:
    persona-role LLM tokens; ``calls``/``prompts``: persona-role calls and distinct prompt
    templates sent (None when not recorded, e.g. a stored evaluation); ``text_chars``: mean
    characters of persona text (None when the texts are not at hand).
    """

    positions: np.ndarray | None
    asked: int
    returned: int
    tokens: int = 0
    calls: int | None = None
    prompts: int | None = None
    text_chars: float | None = None


def _population(fn: Callable[[np.ndarray], float]) -> Callable[[Sequence[ContextSample]], float | None]:
    def of(samples: Sequence[ContextSample]) -> float | None:
        vals = [fn(s.positions) for s in samples if s.positions is not None and np.asarray(s.positions).size]
        return float(np.mean(vals)) if vals else None

    return of


def _per_context(
    get: Callable[[ContextSample], float | None],
) -> Callable[[Sequence[ContextSample]], float | None]:
    def of(samples: Sequence[ContextSample]) -> float | None:
        vals = [get(s) for s in samples]
        if not vals or any(v is None for v in vals):
            return None
        return float(np.mean([float(v) for v in vals if v is not None]))

    return of


def _tokens(s: ContextSample) -> float | None:
    return llm_tokens_per_persona(s.tokens, s.asked) if s.asked >= 1 else None


def _per_call(s: ContextSample) -> float | None:
    return None if s.calls is None else s.returned / max(s.calls, 1)


def _calls(s: ContextSample) -> float | None:
    return None if s.calls is None else float(s.calls)


def _prompts(s: ContextSample) -> float | None:
    return None if s.prompts is None else float(s.prompts)


def _chars(s: ContextSample) -> float | None:
    return s.text_chars


@dataclass(frozen=True, kw_only=True)
class Descriptor:
    """A behaviour descriptor: ``fn`` computes it on its own inputs; ``of`` reads it from an
    evaluation's context samples (None when they do not allow it). ``bounds``: the values it
    can take (None at an open end); ``low``/``high``/``log``: the provisional range and
    scale a grid bins on before calibration (or whenever a config gives no range)."""

    name: str
    fn: Callable[..., float]
    of: Callable[[Sequence[ContextSample]], float | None]
    low: float
    high: float
    log: bool
    bounds: tuple[float | None, float | None]
    kind: str
    description: str

    def __call__(self, *args: Any, **kwargs: Any) -> float:
        return self.fn(*args, **kwargs)

    def bin(self, value: float, n_bins: int) -> int:
        """Index in [0, n_bins) of ``value``'s bin; values are clipped into [low, high]
        first, so out-of-range values land in the end bins. Raises ``ValueError`` for NaN."""
        if n_bins < 1:
            raise ValueError(f"n_bins must be >= 1; got {n_bins!r}")
        v = float(value)
        if math.isnan(v):
            raise ValueError(f"{self.name} value is NaN; cannot bin it")
        v = min(max(v, self.low), self.high)
        if self.log:
            frac = (math.log(v) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        else:
            frac = (v - self.low) / (self.high - self.low)
        return min(int(frac * n_bins), n_bins - 1)


def _d(
    name: str,
    fn: Callable[..., float],
    of: Callable[[Sequence[ContextSample]], float | None],
    *,
    low: float,
    high: float,
    log: bool = False,
    bounds: tuple[float | None, float | None],
    kind: str,
    description: str,
) -> Descriptor:
    return Descriptor(
        name=name,
        fn=fn,
        of=of,
        low=low,
        high=high,
        log=log,
        bounds=bounds,
        kind=kind,
        description=description,
    )


DESCRIPTORS: Mapping[str, Descriptor] = MappingProxyType(
    {
        d.name: d
        for d in (
            _d(
                "tail_share",
                tail_share,
                _population(tail_share),
                low=0.0,
                high=1.0,
                bounds=(0.0, 1.0),
                kind="population",
                description="share of personas with at least one axis outside [0.1, 0.9]",
            ),
            _d(
                "outer_share",
                outer_share,
                _population(outer_share),
                low=0.0,
                high=1.0,
                bounds=(0.0, 1.0),
                kind="population",
                description="share of personas with an axis in the outer fifth (outside [0.2, 0.8])",
            ),
            _d(
                "centre_distance",
                centre_distance,
                _population(centre_distance),
                low=0.0,
                high=1.0,
                bounds=(0.0, 1.0),
                kind="population",
                description="mean distance of a persona from the centre, as a share of a corner's",
            ),
            _d(
                "axis_correlation",
                axis_correlation,
                _population(axis_correlation),
                low=0.0,
                high=1.0,
                bounds=(0.0, 1.0),
                kind="population",
                description="mean |Pearson r| over axis pairs",
            ),
            _d(
                "llm_tokens_per_persona",
                llm_tokens_per_persona,
                _per_context(_tokens),
                low=1.0,
                high=1e6,
                log=True,
                bounds=(0.0, None),
                kind="cost",
                description="LLM tokens spent per persona (cost), log scale",
            ),
            _d(
                "calls_per_context",
                float,
                _per_context(_calls),
                low=0.0,
                high=50.0,
                bounds=(0.0, None),
                kind="strategy",
                description="persona-role LLM calls per context",
            ),
            _d(
                "personas_per_call",
                float,
                _per_context(_per_call),
                low=0.0,
                high=50.0,
                bounds=(0.0, None),
                kind="strategy",
                description="personas returned per LLM call (batch size)",
            ),
            _d(
                "prompt_templates",
                float,
                _per_context(_prompts),
                low=0.0,
                high=50.0,
                bounds=(0.0, None),
                kind="strategy",
                description="distinct prompts sent per context, digits masked",
            ),
            _d(
                "text_length",
                float,
                _per_context(_chars),
                low=10.0,
                high=1e5,
                log=True,
                bounds=(0.0, None),
                kind="text",
                description="characters of persona text (name and description)",
            ),
        )
    }
)


def program_descriptors(
    samples: Sequence[ContextSample], *, names: Sequence[str] | None = None
) -> dict[str, float]:
    """Every descriptor of :data:`DESCRIPTORS` (or of ``names``) that ``samples`` (the
    contexts of one evaluation that ran) allow, name -> value; a descriptor whose inputs are
    missing is left out. Raises ``KeyError`` for an unknown name."""
    out: dict[str, float] = {}
    for name in names if names is not None else list(DESCRIPTORS):
        v = DESCRIPTORS[name].of(samples)
        if v is not None and math.isfinite(v):
            out[name] = float(v)
    return out

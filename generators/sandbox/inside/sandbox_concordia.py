"""Concordia inside the sandbox: a ``LanguageModel`` over the program's ``llm`` proxy, and
the driver that runs a Concordia persona generator class as ``generate(context, n, llm, rng)``.

Imported (as the top-level module ``sandbox_concordia``) by the sandbox child in the
``concordia`` profile, before confinement; it imports nothing of the project. Every model
call of the class goes through the ``llm`` proxy, so the response cache, budgets, token
accounting and keys stay in the parent.

* :class:`SandboxLanguageModel` — Concordia's ``LanguageModel`` protocol:
  ``sample_text(prompt, *, max_tokens, terminators, temperature, top_p, top_k, timeout,
  seed)`` -> one ``llm.complete`` call (``max_tokens`` capped at :data:`MAX_TOKENS_CAP`; the
  reply is cut before the first terminator; ``top_p``, ``top_k``, ``timeout`` and ``seed``
  are not forwarded: the proxy carries none of them, and the parent derives each call's
  seed from the evaluation seed), and ``sample_choice(prompt, responses, *, seed)`` -> one
  call asking for one of the responses, matched back (exact, then prefix, then the first
  response mentioned); no match raises Concordia's ``InvalidResponseError``.
* :func:`drive` — stage 1 (``generate_diverse_persona_characteristics``), then stage 2
  (``generate_single_persona_memories``) for every persona concurrently, in lock step
  (:class:`Lockstep`): the stage-2 threads' calls are gathered into one ``complete_many``
  per round, in persona order, so the parent serves them concurrently while the call order,
  and so every call's seed, is the same on every run.
* :func:`install_compat` — ``concordia.contrib.persona_generators.quasi_monte_carlo`` for
  releases of gdm-concordia that lack it (2.4.0 predates the paper's modules): persona-evolve's
  own ``generate_sobol_points(dimension_ranges, dimensions, num_points)`` (scrambled Sobol
  points as dicts, seeded from the job's ``rng``).
"""

from __future__ import annotations

import json
import math
import random
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping, Sequence

try:  # the concordia profile has gdm-concordia; unit tests on 3.11 run without it
    from concordia.language_model import language_model as _lm

    _Base: type = _lm.LanguageModel
    InvalidResponseError: type = _lm.InvalidResponseError
except ImportError:  # pragma: no cover - exercised by the 3.11 unit tests
    _lm = None
    _Base = object

    class InvalidResponseError(Exception):  # type: ignore[no-redef]
        """Stand-in for ``concordia.language_model.language_model.InvalidResponseError``."""


MAX_TOKENS_CAP = 16_384
"""Largest ``max_tokens`` forwarded to the model (the paper's generators ask for 5000 per
persona in one call, more than most models can return)."""

_local = threading.local()


class Lockstep:
    """Runs the model calls of several worker threads in rounds: each round waits until every
    registered worker has either a pending call or finished, then sends the pending calls as
    one ``complete_many`` per distinct (system, temperature, max_tokens), in worker order.
    Calls from threads that are not registered workers go straight to ``llm``."""

    def __init__(self, llm: Any, workers: int) -> None:
        self._llm = llm
        self._cond = threading.Condition()
        self._active = set(range(workers))
        self._pending: dict[int, tuple[str, tuple[Any, ...]]] = {}
        self._results: dict[int, tuple[bool, Any]] = {}
        self._flushing = False

    def call(
        self, prompt: str, *, system: str | None, temperature: float | None, max_tokens: int | None
    ) -> str:
        worker = getattr(_local, "worker", None)
        if worker is None or getattr(_local, "lockstep", None) is not self:
            return self._llm.complete(prompt, system=system, temperature=temperature, max_tokens=max_tokens)
        with self._cond:
            self._pending[worker] = (prompt, (system, temperature, max_tokens))
            self._maybe_flush()
            while worker not in self._results:
                self._cond.wait()
            ok, value = self._results.pop(worker)
        if not ok:
            raise value
        return value

    def finish(self, worker: int) -> None:
        with self._cond:
            self._active.discard(worker)
            self._maybe_flush()

    def _maybe_flush(self) -> None:
        # called with the lock held; the caller that completes the round sends it
        if self._flushing or not self._pending or len(self._pending) < len(self._active):
            return
        batch = sorted(self._pending.items())
        self._pending = {}
        self._flushing = True
        self._cond.release()
        try:
            results = self._send(batch)
        finally:
            self._cond.acquire()
            self._flushing = False
        self._results.update(results)
        self._cond.notify_all()
        self._maybe_flush()

    def _send(self, batch: list[tuple[int, tuple[str, tuple[Any, ...]]]]) -> dict[int, tuple[bool, Any]]:
        groups: dict[tuple[Any, ...], list[tuple[int, str]]] = {}
        for worker, (prompt, key) in batch:
            groups.setdefault(key, []).append((worker, prompt))
        out: dict[int, tuple[bool, Any]] = {}
        for (system, temperature, max_tokens), members in groups.items():
            try:
                texts = self._llm.complete_many(
                    [p for _, p in members], system=system, temperature=temperature, max_tokens=max_tokens
                )
                out.update({w: (True, t) for (w, _), t in zip(members, texts)})
            except Exception as exc:  # noqa: BLE001 - re-raised in each caller's thread
                out.update({w: (False, exc) for w, _ in members})
        return out


def _cut(text: str, terminators: Sequence[str]) -> str:
    cut = len(text)
    for term in terminators or ():
        if term:
            at = text.find(term)
            if 0 <= at < cut:
                cut = at
    return text[:cut]


class SandboxLanguageModel(_Base):  # type: ignore[misc, valid-type]
    """Concordia ``LanguageModel`` whose calls go through the sandbox's ``llm`` proxy."""

    def __init__(
        self, llm: Any, *, lockstep: Lockstep | None = None, max_tokens_cap: int = MAX_TOKENS_CAP
    ) -> None:
        self._llm = llm
        self.lockstep = lockstep
        self._cap = int(max_tokens_cap)
        self.calls = 0

    def _complete(self, prompt: str, *, temperature: float | None, max_tokens: int | None) -> str:
        self.calls += 1
        if max_tokens is not None:
            max_tokens = max(1, min(int(max_tokens), self._cap))
        temperature = None if temperature is None else float(temperature)
        if self.lockstep is not None:
            return self.lockstep.call(
                str(prompt), system=None, temperature=temperature, max_tokens=max_tokens
            )
        return self._llm.complete(str(prompt), temperature=temperature, max_tokens=max_tokens)

    def sample_text(
        self,
        prompt: str,
        *,
        max_tokens: int = 5000,
        terminators: Sequence[str] = (),
        temperature: float = 1.0,
        top_p: float = 0.95,
        top_k: int = 64,
        timeout: float = 60,
        seed: int | None = None,
    ) -> str:
        """One completion of ``prompt``, cut before the first of ``terminators``."""
        return _cut(self._complete(prompt, temperature=temperature, max_tokens=max_tokens), terminators)

    def sample_choice(
        self, prompt: str, responses: Sequence[str], *, seed: int | None = None
    ) -> tuple[int, str, Mapping[str, Any]]:
        """(index, response, info) of the response the model picks among ``responses``."""
        responses = [str(r) for r in responses]
        if not responses:
            raise InvalidResponseError("sample_choice: no responses to choose from")
        ask = f"{prompt}\nRespond with exactly one of the following options and nothing else: " + ", ".join(
            responses
        )
        reply = self._complete(ask, temperature=0.0, max_tokens=64)
        index = match_choice(reply, responses)
        if index is None:
            raise InvalidResponseError(
                f"sample_choice: the reply {reply[:80]!r} names none of {responses[:8]}"
            )
        return index, responses[index], {"reply": reply}


def match_choice(reply: str, responses: Sequence[str]) -> int | None:
    """Index of the response ``reply`` picks: an exact match (case and outer punctuation
    ignored), else a response the reply starts with, else the earliest response mentioned as
    a word; None if none."""
    strip = "()[]{}.:;\"'` \n"
    clean = reply.strip().lower()
    lowered = [r.strip().lower() for r in responses]
    for i, r in enumerate(lowered):
        if clean.strip(strip) == r.strip(strip):
            return i
    for i, r in sorted(enumerate(lowered), key=lambda x: -len(x[1])):
        if r and (
            clean.startswith(r + " ")
            or clean.startswith(r + ")")
            or clean.startswith(r + ".")
            or clean.startswith(r + ":")
        ):
            return i
    import re

    best = None
    for i, r in enumerate(lowered):
        if not r:
            continue
        m = re.search(r"(?<![\w])" + re.escape(r) + r"(?![\w])", clean)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), i)
    return best[1] if best else None


# ---- the quasi-Monte-Carlo module of the paper's generators (compat) ---------------------


def _sobol_points(
    dimension_ranges: Mapping[str, Sequence[float]], dimensions: Sequence[str], num_points: int
) -> list[dict[str, float]]:
    """``num_points`` scrambled Sobol points over the ranges of ``dimensions``, as dicts
    ``{dimension: value}``; the scramble is seeded from the running job's ``rng``."""
    import numpy as np
    from scipy.stats import qmc

    dims = list(dimensions)
    if not dims or num_points <= 0:
        return []
    rng = getattr(_local, "rng", None)
    seed = int(rng.integers(2**31)) if rng is not None else None
    sampler = qmc.Sobol(d=len(dims), scramble=True, seed=seed)
    sample = sampler.random_base2(max(0, math.ceil(math.log2(int(num_points)))))[: int(num_points)]
    lows = np.array([float(dimension_ranges[d][0]) for d in dims])
    highs = np.array([float(dimension_ranges[d][1]) for d in dims])
    scaled = lows + sample * (highs - lows)
    return [{d: float(v) for d, v in zip(dims, row)} for row in scaled]


def install_compat() -> list[str]:
    """Register persona-evolve's stand-in for ``concordia.contrib.persona_generators.
    quasi_monte_carlo`` when the installed gdm-concordia lacks it. Returns the modules added."""
    added: list[str] = []
    if "concordia" not in sys.modules:
        try:
            import concordia.contrib  # noqa: F401
        except ImportError:
            return added
    try:
        import concordia.contrib.persona_generators.quasi_monte_carlo  # noqa: F401

        return added
    except ImportError:
        pass
    import concordia.contrib as contrib

    package = sys.modules.get("concordia.contrib.persona_generators")
    if package is None:
        package = types.ModuleType("concordia.contrib.persona_generators")
        package.__path__ = []  # a namespace with no files: nothing else is importable from it
        package.__doc__ = "persona-evolve stand-in (this gdm-concordia release lacks the paper's modules)"
        sys.modules[package.__name__] = package
        contrib.persona_generators = package  # type: ignore[attr-defined]
        added.append(package.__name__)
    qmc_module = types.ModuleType("concordia.contrib.persona_generators.quasi_monte_carlo")
    qmc_module.__doc__ = "persona-evolve's own generate_sobol_points (same call shape as Concordia's)."
    qmc_module.generate_sobol_points = _sobol_points  # type: ignore[attr-defined]
    sys.modules[qmc_module.__name__] = qmc_module
    package.quasi_monte_carlo = qmc_module  # type: ignore[attr-defined]
    added.append(qmc_module.__name__)
    return added


if _lm is not None:
    install_compat()


# ---- the driver ------------------------------------------------------------------------


def axis_line(axis: Any) -> str:
    """How an axis is described to a Concordia generator in the initial context."""
    return f"- {axis.name}: {axis.description} (low = {axis.low}; high = {axis.high})"


def initial_context(context: Any) -> str:
    """The ``initial_context`` given to stage 1: the setting, then one line per axis with
    its poles (the ``diversity_axes`` themselves are the bare axis names)."""
    lines = [str(context.description), "", "The diversity axes (0 = low end, 1 = high end):"]
    lines += [axis_line(a) for a in context.axes]
    return "\n".join(lines)


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


def describe(characteristics: Mapping[str, Any], memories: Sequence[str]) -> str:
    """A persona's ``description``: its memories (what Concordia injects into the agent),
    then its characteristics other than ``name`` and the shared ``initial_context``."""
    parts = [str(m).strip() for m in memories if str(m).strip()]
    traits = [
        f"{k}: {_render(v)}"
        for k, v in characteristics.items()
        if k not in ("name", "initial_context") and _render(v).strip()
    ]
    if traits:
        parts.append("Characteristics: " + "; ".join(traits))
    return "\n\n".join(parts)


def _jsonable(value: Any, depth: int = 0) -> Any:
    if depth > 16:
        return str(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        try:
            return _jsonable(value.item(), depth + 1)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v, depth + 1) for v in value]
    return str(value)


def drive(
    generator_class: Callable[..., Any], context: Any, n: int, llm: Any, rng: Any, *, workers: int = 12
) -> list[dict[str, Any]]:
    """Run a Concordia persona generator class as ``generate(context, n, llm, rng)``.

    ``generator_class(model)`` is built with a :class:`SandboxLanguageModel`; stage 1 gets
    :func:`initial_context`, the bare axis names and ``n``; stage 2 runs per persona
    concurrently (lock step, in waves of ``workers`` threads: the sandbox allows 64 tasks). Each persona:
    ``name`` from its characteristics (``Persona i`` when absent, recorded in ``concordia.name_missing``),
    ``description`` from :func:`describe`, and the raw ``characteristics`` (without the
    shared ``initial_context``) and ``memories`` as extra fields. More characteristics than
    ``n`` are cut to ``n`` and fewer are a short population; either way every persona
    records ``concordia.stage1_returned`` (how many stage 1 returned) and ``n_requested``.
    Raises ValueError when stage 1 returns no persona (or not a list of dicts).
    """
    _local.rng = rng
    seed = int(rng.integers(2**31))
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except Exception:  # noqa: BLE001 - best effort for programs using global state
        pass
    model = SandboxLanguageModel(llm)
    generator = generator_class(model)
    axes = [a.name for a in context.axes]
    chars = generator.generate_diverse_persona_characteristics(
        initial_context=initial_context(context), diversity_axes=axes, num_personas=int(n)
    )
    if not isinstance(chars, list) or not all(isinstance(c, Mapping) for c in chars):
        raise ValueError(f"stage 1 returned {type(chars).__name__}, expected a list of dicts")
    returned = len(chars)
    if not chars:
        raise ValueError("stage 1 (generate_diverse_persona_characteristics) returned no persona")
    if returned != n:
        print(f"concordia: stage 1 returned {returned} personas, {n} were asked for", file=sys.stderr)
    chars = [dict(c) for c in chars[:n]]
    memories: list[Any] = [None] * len(chars)
    width = max(1, min(int(workers), len(chars)))
    with ThreadPoolExecutor(max_workers=width) as pool:
        for start in range(0, len(chars), width):  # waves of `width` personas, each in lock step
            wave = list(range(start, min(start + width, len(chars))))
            lockstep = Lockstep(llm, len(wave))
            model.lockstep = lockstep

            def stage2(slot: int, lockstep: Lockstep = lockstep, wave: list[int] = wave) -> Any:
                _local.worker, _local.lockstep, _local.rng = slot, lockstep, rng
                try:
                    return generator.generate_single_persona_memories(chars[wave[slot]])
                finally:
                    _local.worker = _local.lockstep = None
                    lockstep.finish(slot)

            for slot, result in enumerate(pool.map(stage2, range(len(wave)))):
                memories[wave[slot]] = result
    model.lockstep = None
    personas = []
    for i, (char, mems) in enumerate(zip(chars, memories)):
        mems = [str(m) for m in mems] if isinstance(mems, (list, tuple)) else ([str(mems)] if mems else [])
        raw = {k: v for k, v in char.items() if k != "initial_context"}
        name = char.get("name")
        missing = not (isinstance(name, str) and name.strip())
        description = describe(char, mems) or (str(name) if not missing else f"Persona {i + 1}")
        personas.append(
            {
                "name": f"Persona {i + 1}" if missing else name.strip(),
                "description": description,
                "characteristics": _jsonable(raw),
                "memories": mems,
                "concordia": {
                    "stage1_returned": returned,
                    "n_requested": int(n),
                    "name_missing": missing,
                    "model_calls": model.calls,
                },
            }
        )
    return personas

"""LLMClient: the one entry point for every LLM call of persona-evolve.

One client serves all roles (``mutator``, ``persona``, ``respondent``, ``author``), each with
its own :class:`ModelConfig`. It owns retries with exponential backoff and jitter, the
response cache, per-role token / cost accounting, budget caps and a concurrency bound.
A role whose model is ``"sim"`` is answered by a :class:`SimBackend` without litellm.

Threading model: all calls execute on one process-wide event loop running in a daemon
thread (see :mod:`generators.llm.loop`). ``acomplete`` may be awaited from any event loop;
``complete`` / ``complete_many`` block the calling thread and work whether or not that
thread (or another one) runs an event loop — inside async code prefer ``acomplete`` so the
caller's loop is not blocked.
"""

from __future__ import annotations

import asyncio
import copy
import os
import random
import re
import time
import weakref
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from generators.tokens import estimate_messages_tokens, estimate_tokens

from .accounting import Accountant, CallRecord, RoleUsage
from .backend import call_litellm, import_litellm, request_kwargs
from .cache import CachedResponse, ResponseCache, cache_key
from .config import ROLES, SIM_MODEL, Budget, ModelConfig, resolve_models
from .errors import LLMError, is_retriable, one_line
from .loop import shared_loop

__all__ = ["Completion", "SimBackend", "LLMClient", "build_client", "MAX_BACKOFF_S"]

T = TypeVar("T")

MAX_BACKOFF_S = 60.0
"""Upper bound in seconds of one backoff sleep (Retry-After headers included)."""

_LITELLM_PREFIX = re.compile(r"^litellm\.\w+:\s*")


@dataclass(frozen=True)
class Completion:
    """The result of one call.

    Attributes:
        text: the assistant message ("" if the provider returned no content).
        model: the role's configured model string (``"sim"`` for the simulated world).
        role: the calling role.
        prompt_tokens: prompt tokens (provider usage; sim: estimated, see tokens.py).
        completion_tokens: completion tokens (same sources).
        cost_usd: cost in US dollars of this call (0 for cache hits, sim, and unpriced models).
        cached: answered from the response cache.
        latency_s: wall time in seconds, retries and backoff included.
        cost_known: False when litellm has no price for the model.
    """

    text: str
    model: str
    role: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cached: bool
    latency_s: float
    cost_known: bool = True


@runtime_checkable
class SimBackend(Protocol):
    """The simulated world's answerer for roles whose model is ``"sim"``."""

    def respond(self, role: str, messages: list[dict[str, str]], *, seed: int | None = None) -> str:
        """Answer ``messages`` as ``role``; deterministic given ``seed``."""
        ...


def _chat(prompt: str, system: str | None) -> list[dict[str, str]]:
    msgs = [] if system is None else [{"role": "system", "content": system}]
    msgs.append({"role": "user", "content": prompt})
    return msgs


def _check_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence) or not messages:
        raise ValueError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping) or "role" not in m or "content" not in m:
            raise ValueError(f"messages[{i}] must be a dict with 'role' and 'content', got {m!r:.80}")
        out.append(dict(m))
    return out


def _retry_after_s(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        value = headers.get("retry-after")
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


class LLMClient:
    """Client for all roles; see the module docstring for the threading model.

    Args:
        models: role -> :class:`ModelConfig` or model string; missing roles use ``"sim"``.
        cache: response cache for litellm calls (None or ``ResponseCache.disabled()``: off).
        max_concurrency: most provider calls in flight at once (per client).
        max_retries: extra attempts after a transient error (rate limit, timeout,
            connection, 5xx); 4 means at most 5 attempts.
        backoff_base_s: first backoff in seconds; attempt k sleeps
            ``backoff_base_s * 2**k * U(0.5, 1.5)`` (at least any Retry-After, at most 60 s).
        budget: caps on calls / USD / tokens; exceeding raises :class:`BudgetExceeded`.
        sim_backend: answers ``"sim"`` roles; default ``generators.sim.SimLLM()`` (lazy).
    """

    def __init__(
        self,
        *,
        models: Mapping[str, ModelConfig | str],
        cache: ResponseCache | None = None,
        max_concurrency: int = 16,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        budget: Budget | None = None,
        sim_backend: SimBackend | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if backoff_base_s < 0:
            raise ValueError(f"backoff_base_s must be >= 0 seconds, got {backoff_base_s}")
        self.models: dict[str, ModelConfig] = resolve_models(models)
        self.cache: ResponseCache = cache if cache is not None else ResponseCache.disabled()
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.budget: Budget = budget or Budget()
        self._sim = sim_backend
        self._acct = Accountant(budget=self.budget, models={r: c.model for r, c in self.models.items()})
        self._sems: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._rng = random.Random()
        self._in_flight = 0
        self.max_in_flight = 0
        """Highest number of provider calls observed in flight at once (for diagnostics)."""

    # ----------------------------------------------------------------- public API
    async def acomplete(
        self,
        role: str,
        messages: list[dict[str, str]],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        """One chat completion for ``role``; awaitable from any event loop.

        ``temperature`` / ``max_tokens`` override the role's config for this call; ``seed``
        is passed to the provider (dropped where unsupported) and is part of the cache key.
        Raises :class:`LLMError` (one line naming role and model) or :class:`BudgetExceeded`.
        """
        coro = self._one(role, messages, temperature=temperature, max_tokens=max_tokens, seed=seed)
        return await self._on_llm_loop(coro)

    async def acomplete_many(
        self,
        role: str,
        list_of_messages: Sequence[list[dict[str, str]]],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> list[Completion]:
        """Many completions concurrently (at most ``max_concurrency`` in flight), in input order.

        All calls run to completion; if any failed, the first failure (in input order) is
        raised afterwards, so accounting is complete either way.
        """
        coro = self._many(role, list_of_messages, temperature=temperature, max_tokens=max_tokens, seed=seed)
        return await self._on_llm_loop(coro)

    def complete(
        self,
        role: str,
        prompt: str,
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> str:
        """Blocking convenience: the text answering ``prompt`` (with optional ``system``).

        Safe from any thread, with or without an event loop running in it or elsewhere
        (the call runs on the process-wide LLM loop). Blocks the calling thread.
        """
        coro = self._one(
            role, _chat(prompt, system), temperature=temperature, max_tokens=max_tokens, seed=seed
        )
        return self._run_sync(coro).text

    def complete_many(
        self,
        role: str,
        prompts: Sequence[str],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> list[str]:
        """Blocking convenience: answers to ``prompts``, run concurrently, in input order."""
        lists = [_chat(p, system) for p in prompts]
        coro = self._many(role, lists, temperature=temperature, max_tokens=max_tokens, seed=seed)
        return [c.text for c in self._run_sync(coro)]

    def usage(self) -> dict[str, RoleUsage]:
        """Totals per role (every role present, zeros if unused)."""
        return self._acct.usage()

    def drain_records(self) -> list[CallRecord]:
        """Per-call records since the last drain (then cleared), for the ``llm_calls`` table."""
        return self._acct.drain_records()

    @property
    def sim_backend(self) -> SimBackend:
        """The backend answering roles whose model is ``"sim"`` (created on first use)."""
        return self._sim_backend()

    def with_sim_backend(self, backend: SimBackend) -> LLMClient:
        """A view of this client whose ``"sim"`` roles are answered by ``backend``.

        The view shares everything else with this client: models, response cache, budget,
        accounting (its calls appear in this client's :meth:`usage` and
        :meth:`drain_records`) and the concurrency bound. Used to give one evaluation its
        own authenticated sim world (:func:`generators.sim_binding.bind_evaluation`).
        """
        view = copy.copy(self)
        view._sim = backend
        return view

    @property
    def spent(self) -> tuple[int, float, int]:
        """(provider calls, USD, tokens) counted against the budget so far."""
        return self._acct.spent

    # ------------------------------------------------------------------ plumbing
    async def _on_llm_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        runner = shared_loop()
        if asyncio.get_running_loop() is runner.loop:
            return await coro
        return await asyncio.wrap_future(runner.submit(coro))

    def _run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        runner = shared_loop()
        if runner.in_loop_thread():
            coro.close()
            raise LLMError(
                "complete() called on the LLM loop thread (it would deadlock); await acomplete() instead"
            )
        return runner.submit(coro).result()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self._sems.get(loop)
        if sem is None:
            sem = self._sems[loop] = asyncio.Semaphore(self.max_concurrency)
        return sem

    def _sim_backend(self) -> SimBackend:
        if self._sim is None:
            from generators.sim import SimLLM  # lazy: the sim world is another package

            self._sim = SimLLM()
        return self._sim

    def _config(self, role: str) -> ModelConfig:
        try:
            return self.models[role]
        except KeyError:
            raise ValueError(f"unknown LLM role {role!r}; expected one of {list(ROLES)}") from None

    async def _many(
        self, role: str, list_of_messages: Sequence[list[dict[str, str]]], **params: Any
    ) -> list[Completion]:
        self._config(role)
        results = await asyncio.gather(
            *(self._one(role, m, **params) for m in list_of_messages), return_exceptions=True
        )
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return list(results)  # type: ignore[arg-type]

    async def _one(
        self,
        role: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        temperature: float | None,
        max_tokens: int | None,
        seed: int | None,
    ) -> Completion:
        cfg = self._config(role)
        msgs = _check_messages(messages)
        if cfg.is_sim:
            return self._sim_call(role, msgs, seed)
        return await self._litellm_call(
            role, cfg, msgs, temperature=temperature, max_tokens=max_tokens, seed=seed
        )

    def _sim_call(self, role: str, msgs: list[dict[str, str]], seed: int | None) -> Completion:
        self._acct.reserve()
        t0 = time.perf_counter()
        pt = estimate_messages_tokens(msgs)
        try:
            text = self._sim_backend().respond(role, msgs, seed=seed)
        except Exception as e:
            err = f"LLM call failed (role={role}, model={SIM_MODEL}): {type(e).__name__}: {one_line(e)}"
            self._acct.record(CallRecord(role, SIM_MODEL, pt, 0, 0.0, time.perf_counter() - t0, False, err))
            raise LLMError(err) from e
        ct = estimate_tokens(text)
        latency = time.perf_counter() - t0
        self._acct.record(CallRecord(role, SIM_MODEL, pt, ct, 0.0, latency, False))
        return Completion(text, SIM_MODEL, role, pt, ct, 0.0, False, latency)

    def _backoff_s(self, attempt: int, exc: BaseException) -> float:
        delay = self.backoff_base_s * (2**attempt) * self._rng.uniform(0.5, 1.5)
        hint = _retry_after_s(exc)
        if hint is not None:
            delay = max(delay, hint)
        return min(delay, MAX_BACKOFF_S)

    async def _litellm_call(
        self,
        role: str,
        cfg: ModelConfig,
        msgs: list[dict[str, str]],
        *,
        temperature: float | None,
        max_tokens: int | None,
        seed: int | None,
    ) -> Completion:
        t0 = time.perf_counter()
        temperature = cfg.temperature if temperature is None else temperature
        max_tokens = cfg.max_tokens if max_tokens is None else max_tokens
        params = {"temperature": temperature, "max_tokens": max_tokens, "api_base": cfg.api_base}
        params.update({f"extra.{k}": v for k, v in cfg.extra.items() if k != "api_key"})
        key = cache_key(cfg.model, msgs, params, seed) if self.cache.enabled else ""
        hit = self.cache.get(key) if key else None
        if hit is not None:
            latency = time.perf_counter() - t0
            self._acct.record(
                CallRecord(role, cfg.model, hit.prompt_tokens, hit.completion_tokens, 0.0, latency, True)
            )
            return Completion(
                hit.text, cfg.model, role, hit.prompt_tokens, hit.completion_tokens, 0.0, True, latency
            )

        kwargs = request_kwargs(
            cfg, msgs, temperature=temperature, max_tokens=max_tokens, seed=seed, role=role
        )
        self._acct.reserve()
        import_litellm()  # before any litellm exception can be classified
        retries = 0
        async with self._semaphore():
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            try:
                while True:
                    try:
                        raw = await call_litellm(kwargs)
                        break
                    except asyncio.CancelledError:
                        raise
                    except Exception as e:
                        transient = is_retriable(e)
                        if transient and retries < self.max_retries:
                            await asyncio.sleep(self._backoff_s(retries, e))
                            retries += 1
                            continue
                        msg = _LITELLM_PREFIX.sub("", one_line(e))
                        if not msg.startswith(type(e).__name__):
                            msg = f"{type(e).__name__}: {msg}"
                        head = f"after {retries + 1} attempts " if transient else ""
                        err = f"LLM call failed {head}(role={role}, model={cfg.model}): {msg}"
                        err = one_line(err, 400)
                        latency = time.perf_counter() - t0
                        self._acct.record(
                            CallRecord(role, cfg.model, 0, 0, 0.0, latency, False, err, True, retries)
                        )
                        raise LLMError(err) from e
            finally:
                self._in_flight -= 1

        latency = time.perf_counter() - t0
        if key:
            self.cache.put(
                key,
                CachedResponse(raw.text, cfg.model, raw.prompt_tokens, raw.completion_tokens, raw.cost_usd),
            )
        self._acct.record(
            CallRecord(
                role,
                cfg.model,
                raw.prompt_tokens,
                raw.completion_tokens,
                raw.cost_usd,
                latency,
                False,
                None,
                raw.cost_known,
                retries,
            )
        )
        return Completion(
            raw.text,
            cfg.model,
            role,
            raw.prompt_tokens,
            raw.completion_tokens,
            raw.cost_usd,
            False,
            latency,
            raw.cost_known,
        )

    def __repr__(self) -> str:
        roles = ", ".join(f"{r}={c.model}" for r, c in self.models.items())
        return f"LLMClient({roles}, cache={self.cache!r}, max_concurrency={self.max_concurrency})"


def build_client(
    models: Mapping[str, ModelConfig | str],
    *,
    cache_path: str | os.PathLike[str] | None = None,
    budget: Budget | None = None,
    max_concurrency: int = 16,
    sim_backend: SimBackend | None = None,
) -> LLMClient:
    """An :class:`LLMClient` with a response cache at ``cache_path`` (none if None);
    ``sim_backend`` answers the roles on ``sim`` (default: the default world's ``SimLLM``)."""
    cache = ResponseCache(cache_path) if cache_path is not None else None
    return LLMClient(
        models=models, cache=cache, budget=budget, max_concurrency=max_concurrency, sim_backend=sim_backend
    )

"""Pre-flight: one minimal call per distinct model a command will use, before it starts.

A run that cannot reach its model should say so in seconds, in one line naming the role,
the model and the cause, not minutes later as an empty archive. :func:`preflight` sends
one tiny completion (``max_tokens=1``, no retries, a short timeout) per distinct
(model, api_base, key variable) among the given roles, all at once; roles on ``sim`` need
none. Causes are named plainly: a missing environment variable, authentication refused,
unknown model, connection refused, timeout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import time
from collections.abc import Mapping
from typing import Any

from .accounting import CallRecord
from .config import ModelConfig
from .errors import LLMError, one_line

__all__ = ["PreflightError", "preflight", "describe_failure", "PREFLIGHT_TIMEOUT_S"]

PREFLIGHT_TIMEOUT_S = 15.0
"""Seconds one pre-flight call may take (connection and answer) before it is a failure."""


class PreflightError(LLMError):
    """A model of the command cannot be used; the message is one line: role, model, cause."""


def describe_failure(exc: BaseException, cfg: ModelConfig, timeout_s: float) -> str:
    """A short cause for a failed call: authentication, unknown model, connection, timeout..."""
    from .backend import import_litellm

    litellm = import_litellm()
    import openai

    where = f" at {cfg.api_base}" if cfg.api_base else ""
    key = f" (key from ${cfg.api_key_env})" if cfg.api_key_env else ""
    detail = _PREFIX.sub("", one_line(exc, 400))[:160]
    low = str(exc).lower()
    if "missing credentials" in low or "api_key client option" in low or "no api key" in low:
        return (
            f"no API key{key or ' (name the variable holding it: api_key_env in run.toml, or --api-key-env)'}"
        )
    if any(m in low for m in _CONNECTION_MARKS) or _caused_by_connection(exc):
        return f"cannot connect{where} (connection refused or unreachable)"
    if isinstance(exc, (litellm.AuthenticationError, openai.AuthenticationError)):
        return f"authentication refused{key}: {detail}"
    if isinstance(exc, (litellm.NotFoundError, openai.NotFoundError)):
        return f"unknown model{where}: {detail}"
    if isinstance(exc, (litellm.Timeout, openai.APITimeoutError, asyncio.TimeoutError, TimeoutError)):
        return f"no answer within {timeout_s:g} s{where} (timeout)"
    if isinstance(exc, (litellm.APIConnectionError, openai.APIConnectionError, ConnectionError)):
        return f"cannot connect{where} (connection refused or unreachable): {detail}"
    if isinstance(exc, (litellm.PermissionDeniedError, openai.PermissionDeniedError)):
        return f"permission denied{key}: {detail}"
    if isinstance(exc, (litellm.RateLimitError, openai.RateLimitError)):
        return f"rate limited or out of quota: {detail}"
    if isinstance(exc, (litellm.BadRequestError, openai.BadRequestError)):
        if "llm provider not provided" in low or "provider" in low and "not" in low:
            return (
                f"unknown provider or model string (write provider/model, e.g. openai/gpt-4o-mini): {detail}"
            )
        return f"request refused: {detail}"
    return f"{type(exc).__name__}: {detail}"


_CONNECTION_MARKS = (
    "connection error",
    "connection refused",
    "cannot connect to host",
    "connect call failed",
)
"""Texts that mean the server could not be reached, whatever exception class a provider
wraps them in (e.g. litellm's ``hosted_vllm`` reports aiohttp's as an InternalServerError)."""

_PREFIX = re.compile(r"^(?:(?:litellm\.)?\w+(?:Error|Exception|Timeout):\s*|OpenAIException\s*-\s*)+")


def _caused_by_connection(exc: BaseException) -> bool:
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 8:
        if isinstance(cur, (ConnectionError, OSError)) or type(cur).__name__ in (
            "ConnectError",
            "APIConnectionError",
        ):
            return True
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return False


async def _ping(cfg: ModelConfig, timeout_s: float) -> tuple[CallRecord | None, str | None]:
    """(record of the call or None, failure cause or None) for one model."""
    from .backend import call_litellm, import_litellm, request_kwargs

    if cfg.api_key_env and not os.environ.get(cfg.api_key_env):
        return None, f"environment variable {cfg.api_key_env} is not set"
    import_litellm()
    kwargs = request_kwargs(
        cfg,
        [{"role": "user", "content": "Reply with the word ok."}],
        temperature=None,
        max_tokens=1,
        seed=None,
        role="preflight",
    )
    kwargs["timeout"] = min(float(cfg.timeout_s), timeout_s)
    t0 = time.perf_counter()
    try:
        raw = await asyncio.wait_for(call_litellm(kwargs), timeout_s + 2.0)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a named cause
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return None, describe_failure(exc, cfg, timeout_s)
    record = CallRecord(
        "",
        cfg.model,
        raw.prompt_tokens,
        raw.completion_tokens,
        raw.cost_usd,
        time.perf_counter() - t0,
        False,
        None,
        raw.cost_known,
        0,
    )
    return record, None


def preflight(
    models: Mapping[str, ModelConfig], *, timeout_s: float = PREFLIGHT_TIMEOUT_S
) -> list[dict[str, Any]]:
    """Check every non-sim model of ``models`` (role -> config) with one tiny call each.

    Roles sharing a model (same model string, api_base and key variable) share the call.
    Returns the call records (one per distinct model, role = the first role using it) for
    the ``llm_calls`` table. Raises :class:`PreflightError`, one line naming every failing
    role and model and the cause, e.g. ``pre-flight failed: role persona, model
    openai/gpt-4o-mini: environment variable OPENAI_API_KEY is not set``.
    """
    groups: dict[tuple[str, str | None, str | None], list[str]] = {}
    configs: dict[tuple[str, str | None, str | None], ModelConfig] = {}
    for role, cfg in models.items():
        if cfg.is_sim:
            continue
        key = (cfg.model, cfg.api_base, cfg.api_key_env)
        groups.setdefault(key, []).append(role)
        configs.setdefault(key, cfg)
    if not groups:
        return []

    async def all_pings() -> list[tuple[CallRecord | None, str | None]]:
        return list(await asyncio.gather(*(_ping(configs[k], timeout_s) for k in groups)))

    results = _run(all_pings())
    failures, records = [], []
    for (key, roles), (record, cause) in zip(groups.items(), results):
        label = f"role{'s' if len(roles) > 1 else ''} {', '.join(roles)}, model {key[0]}"
        if cause is not None:
            failures.append(f"{label}: {cause}")
        elif record is not None:
            records.append(dataclasses.asdict(record) | {"role": roles[0]})
    if failures:
        raise PreflightError(one_line("pre-flight failed: " + "; ".join(failures), 600))
    return records


def _run(coro: Any) -> Any:
    """Run ``coro`` to completion whether or not this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from .loop import shared_loop

    return shared_loop().submit(coro).result()

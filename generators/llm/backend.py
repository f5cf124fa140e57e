"""The litellm side of the client: lazy import, one request, usage and cost extraction.

litellm is imported on first use only (it takes seconds), after setting
``LITELLM_LOCAL_MODEL_COST_MAP=True`` so the import never touches the network, and with
its debug output silenced.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generators.tokens import estimate_messages_tokens, estimate_tokens

from .config import ModelConfig
from .errors import LLMError

__all__ = ["RawResponse", "import_litellm", "request_kwargs", "call_litellm"]

_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx")


def import_litellm() -> Any:
    """Import and quiet litellm (local cost map, no debug info, loggers at WARNING)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    # pydantic warns once, at litellm's first call, about a litellm TypedDict: harmless noise.
    warnings.filterwarnings("ignore", message=r".*is using the `ReadOnly` qualifier", category=UserWarning)
    litellm.suppress_debug_info = True
    litellm.set_verbose = False
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return litellm


@dataclass(frozen=True)
class RawResponse:
    """What one successful provider call produced: text, tokens, cost in USD."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cost_known: bool


def request_kwargs(
    cfg: ModelConfig,
    messages: list[dict[str, str]],
    *,
    temperature: float | None,
    max_tokens: int | None,
    seed: int | None,
    role: str,
) -> dict[str, Any]:
    """The kwargs for ``litellm.acompletion`` (None values omitted; litellm's own retries off).

    ``drop_params=True`` lets litellm drop parameters a provider does not support (e.g. seed).
    The API key is read from ``os.environ[cfg.api_key_env]`` now; a missing variable raises
    :class:`LLMError`.
    """
    kw: dict[str, Any] = {
        "model": cfg.model,
        "messages": messages,
        "timeout": cfg.timeout_s,
        "max_retries": 0,
        "drop_params": True,
    }
    optional = {"api_base": cfg.api_base, "temperature": temperature, "max_tokens": max_tokens, "seed": seed}
    kw.update({k: v for k, v in optional.items() if v is not None})
    if cfg.api_key_env:
        key = os.environ.get(cfg.api_key_env)
        if not key:
            raise LLMError(
                (
                    f"LLM call failed (role={role}, model={cfg.model}): environment variable "
                    f"{cfg.api_key_env} is not set"
                )
            )
        kw["api_key"] = key
    elif cfg.api_base and not os.environ.get("OPENAI_API_KEY"):
        # A local OpenAI-compatible server (vLLM, llama.cpp, a stub) needs no key, but the
        # OpenAI client refuses to send a request without one: send a placeholder.
        kw["api_key"] = LOCAL_PLACEHOLDER_KEY
    kw.update(cfg.extra)
    return kw


LOCAL_PLACEHOLDER_KEY = "sk-no-key"


def _usage_tokens(resp: Any, messages: list[dict[str, str]], text: str) -> tuple[int, int]:
    usage = getattr(resp, "usage", None)
    pt = getattr(usage, "prompt_tokens", None) if usage is not None else None
    ct = getattr(usage, "completion_tokens", None) if usage is not None else None
    return (
        int(pt) if pt is not None else estimate_messages_tokens(messages),
        int(ct) if ct is not None else estimate_tokens(text),
    )


def _cost(litellm: Any, resp: Any) -> tuple[float, bool]:
    try:
        cost = litellm.completion_cost(completion_response=resp)
    except Exception:
        return 0.0, False
    if cost is None:
        return 0.0, False
    return float(cost), True


async def call_litellm(kwargs: Mapping[str, Any]) -> RawResponse:
    """One ``litellm.acompletion`` call (no retry here); provider errors propagate unchanged."""
    litellm = import_litellm()
    resp = await litellm.acompletion(**kwargs)
    text = resp.choices[0].message.content or ""
    pt, ct = _usage_tokens(resp, list(kwargs["messages"]), text)
    cost, known = _cost(litellm, resp)
    return RawResponse(text=text, prompt_tokens=pt, completion_tokens=ct, cost_usd=cost, cost_known=known)

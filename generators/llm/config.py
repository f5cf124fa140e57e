"""Configuration of the LLM layer: roles, per-role model settings and budget caps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ROLES", "SIM_MODEL", "ModelConfig", "Budget", "resolve_models"]

ROLES: tuple[str, ...] = ("mutator", "persona", "respondent", "author")
"""Every LLM call is made on behalf of one of these roles; each role has its own model."""

SIM_MODEL = "sim"
"""Model name selecting the simulated world (no litellm call, no network)."""


@dataclass(frozen=True)
class ModelConfig:
    """Model settings of one role: which model it uses and how (the ``[models]`` entries of
    ``evolve.config`` are this type).

    Attributes:
        model: litellm model string (``openai/gpt-4o-mini``, ``anthropic/...``, ``ollama/...``,
            ``hosted_vllm/...``) or ``"sim"`` for the simulated world.
        api_base: base URL of an OpenAI-compatible server (e.g. ``http://127.0.0.1:8000/v1``).
        temperature: default sampling temperature (provider default when None).
        max_tokens: default cap on completion tokens (provider default when None).
        timeout_s: per-request timeout in seconds, passed to litellm.
        api_key_env: NAME of an environment variable holding the API key; read at call time.
            Keys never appear in configs, cache keys or logs.
        extra: further keyword arguments passed verbatim to ``litellm.acompletion``
            (tests use ``{"mock_response": "hello"}``). Included in the response-cache key,
            except ``api_key``. Left out of the hash (a dict), so a config holding it can key a dict.
    """

    model: str = SIM_MODEL
    api_base: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    timeout_s: float = 60.0
    api_key_env: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError(f"ModelConfig.model must be a non-empty string, got {self.model!r}")
        if self.timeout_s <= 0:
            raise ValueError(f"ModelConfig.timeout_s must be > 0 seconds, got {self.timeout_s}")
        if self.max_tokens is not None and self.max_tokens <= 0:
            raise ValueError(f"ModelConfig.max_tokens must be > 0, got {self.max_tokens}")

    @property
    def is_sim(self) -> bool:
        """True when this role uses the simulated world instead of litellm."""
        return self.model == SIM_MODEL


@dataclass(frozen=True)
class Budget:
    """Caps on spending, checked before each call; None means no cap.

    Attributes:
        max_calls: provider calls (litellm or sim; cache hits are free and not counted).
            Exact even under concurrency (a call reserves its slot before it starts).
        max_cost_usd: total cost in US dollars of provider calls.
        max_tokens: total prompt + completion tokens of provider calls (sim: estimated).

    Cost and tokens are known only after a call returns, so calls already in flight when a
    cap is reached may overshoot it by at most ``max_concurrency`` calls.
    """

    max_calls: int | None = None
    max_cost_usd: float | None = None
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_calls", "max_cost_usd", "max_tokens"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"Budget.{name} must be >= 0, got {value}")


def resolve_models(models: Mapping[str, ModelConfig | str]) -> dict[str, ModelConfig]:
    """Normalise a role -> model mapping: strings become ``ModelConfig(model=...)``.

    Roles absent from ``models`` get ``ModelConfig()`` (the sim world). Unknown role names
    raise ``ValueError``.
    """
    unknown = sorted(set(models) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown LLM role(s) {unknown}; expected a subset of {list(ROLES)}")
    out: dict[str, ModelConfig] = {}
    for role in ROLES:
        spec = models.get(role, ModelConfig())
        if isinstance(spec, str):
            spec = ModelConfig(model=spec)
        elif not isinstance(spec, ModelConfig):
            raise TypeError(f"model for role {role!r} must be ModelConfig or str, got {type(spec).__name__}")
        out[role] = spec
    return out

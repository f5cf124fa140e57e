"""The LLM layer of persona-evolve: one litellm-based client for every call.

Importing this package is cheap: litellm is imported on the first real call.

    from generators.llm import LLMClient, ModelConfig, ResponseCache, Budget
    client = LLMClient(models={"mutator": ModelConfig(model="openai/gpt-4o-mini",
                                                     api_key_env="OPENAI_API_KEY"),
                               "persona": "sim", "respondent": "sim", "author": "sim"},
                       cache=ResponseCache("runs/cache.sqlite"), budget=Budget(max_cost_usd=5.0))
    text = client.complete("mutator", "Improve this program ...")
    client.usage()["mutator"].cost_usd   # USD
"""

from generators.tokens import estimate_messages_tokens, estimate_tokens

from .accounting import CallRecord, RoleUsage
from .cache import CachedResponse, ResponseCache, cache_key
from .client import Completion, LLMClient, SimBackend, build_client
from .config import ROLES, SIM_MODEL, Budget, ModelConfig, resolve_models
from .errors import BudgetExceeded, LLMError, is_retriable

__all__ = [
    "ROLES",
    "SIM_MODEL",
    "Budget",
    "BudgetExceeded",
    "CachedResponse",
    "CallRecord",
    "Completion",
    "LLMClient",
    "LLMError",
    "ModelConfig",
    "ResponseCache",
    "RoleUsage",
    "SimBackend",
    "build_client",
    "cache_key",
    "estimate_messages_tokens",
    "estimate_tokens",
    "is_retriable",
    "resolve_models",
]

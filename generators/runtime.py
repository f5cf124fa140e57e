"""Runtime types a generator program sees (re-exported from the sandbox's own copy).

The single source of truth is :mod:`generators.sandbox.inside.sandbox_runtime`, which the
sandbox child imports as a top-level module without importing this project.
"""

from generators.sandbox.inside.sandbox_runtime import (  # noqa: F401
    LLM,
    AxisView,
    ContextView,
    GeneratorOutputError,
    LLMUnavailable,
    validate_personas,
)

__all__ = ["LLM", "AxisView", "ContextView", "GeneratorOutputError", "LLMUnavailable", "validate_personas"]

"""Token estimation for calls whose provider reports no usage (the ``sim`` backend).

The estimator is deliberately simple and documented rather than exact: English text
averages about 4 characters per token with OpenAI-style BPE tokenizers, so
``estimate_tokens(text) = ceil(len(text) / 4)``; chat formatting adds
``MESSAGE_OVERHEAD_TOKENS`` per message.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

__all__ = ["CHARS_PER_TOKEN", "MESSAGE_OVERHEAD_TOKENS", "estimate_tokens", "estimate_messages_tokens"]

CHARS_PER_TOKEN = 4
"""Characters per token assumed by :func:`estimate_tokens`."""

MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens added per chat message for role and delimiters (OpenAI chat format uses 3-4)."""


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text``: ``ceil(len(text) / 4)``; 0 for the empty string."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_messages_tokens(messages: Iterable[Mapping[str, object]]) -> int:
    """Estimated prompt tokens of a chat: per message ``estimate_tokens(content) + 4``."""
    return sum(estimate_tokens(str(m.get("content") or "")) + MESSAGE_OVERHEAD_TOKENS for m in messages)

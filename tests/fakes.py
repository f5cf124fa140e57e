"""The test suite's one set of fake LLM clients (no network, no litellm).

* :class:`ScriptedClient` -- the synchronous ``complete(role, prompt, *, system)`` surface of
  :class:`generators.llm.LLMClient` (context drafting, ``contexts draft``): scripted replies
  in order, the last one repeated;
* :class:`FunctionClient` -- the asynchronous ``acomplete_many`` surface (the LLM respondent):
  each reply computed from the messages, the seed and the call's ordinal.

Both record every call in ``calls`` so a test can check what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence


class ScriptedClient:
    """Returns ``replies`` in order (the last one again once they run out) and records each
    call as ``(role, prompt, system)``."""

    def __init__(self, replies: Sequence[str]) -> None:
        if not replies:
            raise ValueError("ScriptedClient needs at least one reply")
        self.replies = list(replies)
        self.calls: list[tuple[str, str, str | None]] = []

    def complete(self, role: str, prompt: str, *, system: str | None = None) -> str:
        self.calls.append((role, prompt, system))
        return self.replies[min(len(self.calls), len(self.replies)) - 1]


@dataclass(frozen=True)
class Completion:
    """The one field of a completion the callers read."""

    text: str


class FunctionClient:
    """Replies ``reply(messages, seed, call_ordinal)`` to each conversation of a batch (the
    ordinal counts batches from 1) and records each batch as ``(role, list_of_messages, seed)``."""

    def __init__(self, reply: Callable[[list[dict[str, Any]], int | None, int], str]) -> None:
        self.reply = reply
        self.calls: list[tuple[str, list[Any], int | None]] = []

    async def acomplete_many(
        self,
        role: str,
        list_of_messages: list[Any],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> list[Completion]:
        self.calls.append((role, list_of_messages, seed))
        return [Completion(self.reply(m, seed, len(self.calls))) for m in list_of_messages]

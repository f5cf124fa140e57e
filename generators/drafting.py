"""Drafting a new context (questionnaire) from a free-text description with an LLM.

The ``author`` role is asked for one context JSON object; the reply is parsed (code
fences and surrounding prose are tolerated), validated with
:func:`generators.context_loader.context_from_dict`, and on failure the problems are fed
back for up to ``retries`` further attempts.

The prompt always contains the two lines ``DESCRIPTION: <description>`` and
``AXES: <K>`` on their own lines; the simulated author (model ``sim``) parses exactly those.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from generators.context import Context
from generators.context_loader import AXES_MAX, AXES_MIN, ContextError, context_from_dict

__all__ = [
    "AUTHOR_SYSTEM",
    "AuthorClient",
    "build_draft_prompt",
    "build_repair_prompt",
    "draft_context",
    "extract_json_object",
]

AUTHOR_SYSTEM = (
    "You are a survey methodologist who writes short psychometric questionnaires for "
    "simulating diverse populations. You answer with one JSON object and nothing else."
)

_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\r?\n(.*?)```", re.DOTALL)
_MAX_ECHO_CHARS = 6000


class AuthorClient(Protocol):
    """What drafting needs from an LLM client (e.g. :class:`generators.llm.LLMClient`)."""

    def complete(self, role: str, prompt: str, *, system: str | None = None) -> str: ...


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _check_request(description: str, axes: int) -> str:
    line = _one_line(description)
    if not line:
        raise ContextError("draft: description must be a non-empty string")
    if isinstance(axes, bool) or not isinstance(axes, int) or not AXES_MIN <= axes <= AXES_MAX:
        raise ContextError(f"draft: axes must be an integer in {AXES_MIN}..{AXES_MAX}, got {axes!r}")
    return line


def build_draft_prompt(description: str, axes: int) -> str:
    """The author prompt for a context with ``axes`` diversity axes.

    ``description`` is collapsed to one line. The prompt ends with the lines
    ``DESCRIPTION: <description>`` and ``AXES: <K>``. Raises :class:`ContextError` if the
    description is empty or ``axes`` is outside 2..6.
    """
    line = _check_request(description, axes)
    example = {
        "id": "airline_rebooking_desk",
        "description": "Passengers at an airline rebooking desk after a storm cancelled flights.",
        "scale": {"min": 1, "max": 5},
        "axes": [
            {
                "name": "distrust_airline",
                "description": "Whether they believe the airline is doing its honest best",
                "low": "trusts the airline to fix things",
                "high": "assumes the airline is lying",
                "items": [
                    {"text": "The airline has seats and just won't give them to me.", "reverse": False},
                    {"text": "The staff are doing all they can in a bad situation.", "reverse": True},
                    {"text": "They blame the weather to avoid paying compensation.", "reverse": False},
                ],
            }
        ],
    }
    return "\n".join(
        [
            "Write a questionnaire context for simulating a diverse population of people in the "
            "setting described below.",
            "",
            "Return ONE JSON object with exactly these fields:",
            '- "id": short identifier, lowercase letters, digits, "_" or "-" only.',
            '- "description": two or three sentences describing the setting and who is in it.',
            '- "scale": {"min": 1, "max": 5} (a Likert agreement scale).',
            f'- "axes": a list of exactly {axes} diversity axes. Each axis has "name" (snake_case), '
            '"description" (what the trait is), "low" and "high" (short phrases describing the '
            'person at each pole), and "items": 3 to 6 first-person statements '
            '{"text": ..., "reverse": true|false}.',
            "",
            "Rules:",
            "- Axes must be independent traits, not two phrasings of one trait.",
            "- Both poles of every axis must describe people who really exist in this setting, "
            "including uncomfortable or adversarial ones.",
            '- An item with "reverse": false is one a person at the HIGH pole agrees with; '
            '"reverse": true is one a person at the LOW pole agrees with. Make about a third of '
            "the items of each axis reverse-coded.",
            "- Items are concrete statements a respondent can rate from disagree to agree; no "
            "double negatives, no two statements in one item, no duplicates.",
            "- No fields other than the ones above. Answer with the JSON object only.",
            "",
            "Example of the format (one axis shown):",
            json.dumps(example, indent=2),
            "",
            f"DESCRIPTION: {line}",
            f"AXES: {axes}",
        ]
    )


def build_repair_prompt(base_prompt: str, reply: str, problems: list[str]) -> str:
    """The follow-up prompt after an invalid reply: the original request, the reply
    (truncated to 6,000 characters) and the list of problems to fix."""
    echo = reply if len(reply) <= _MAX_ECHO_CHARS else reply[:_MAX_ECHO_CHARS] + "\n...[truncated]"
    return "\n".join(
        [
            base_prompt,
            "",
            "Your previous answer was:",
            echo,
            "",
            "It has these problems:",
            *(f"- {p}" for p in problems),
            "",
            "Return the corrected context as one JSON object only.",
        ]
    )


def extract_json_object(text: str, *, source: str = "<reply>") -> Any:
    """The first JSON object found in an LLM reply.

    Looks inside Markdown code fences first (``json``-tagged ones before untagged ones),
    then at every ``{`` in the text. Raises :class:`ContextError`
    (``source: $: ...``) if no JSON object can be decoded.
    """
    decoder = json.JSONDecoder()
    candidates: list[str] = []
    fences = _FENCE_RE.findall(text)
    candidates += [body for tag, body in fences if tag.lower() == "json"]
    candidates += [body for tag, body in fences if tag.lower() != "json"]
    candidates.append(text)
    first_error: json.JSONDecodeError | None = None
    for chunk in candidates:
        for match in re.finditer(r"\{", chunk):
            try:
                value, _ = decoder.raw_decode(chunk, match.start())
            except json.JSONDecodeError as exc:
                if first_error is None:
                    first_error = exc
                continue
            except RecursionError:  # a reply nested too deeply is not a context
                continue
            if isinstance(value, dict):
                return value
    if first_error is not None:
        raise ContextError(
            f"{source}: $: reply is not valid JSON (line {first_error.lineno}:{first_error.colno}: "
            f"{first_error.msg})"
        )
    raise ContextError(f"{source}: $: reply contains no JSON object")


def _attempt(reply: str, axes: int, source: str) -> tuple[Context | None, list[str]]:
    try:
        data = extract_json_object(reply, source=source)
        ctx = context_from_dict(data, source=source)
    except ContextError as exc:
        return None, exc.problems
    if ctx.k != axes:
        return None, [f"{source}: $.axes: expected {axes} axes as requested, got {ctx.k}"]
    return ctx, []


def draft_context(
    description: str,
    *,
    axes: int,
    client: AuthorClient,
    model_label: str,
    retries: int = 2,
) -> Context:
    """Ask the ``author`` role of ``client`` for a context with ``axes`` axes.

    ``client`` is any object with ``complete(role, prompt, *, system=None) -> str``.
    ``model_label`` names the model in error messages and in ``Context.source``
    (``<draft:LABEL>``). After an invalid reply the problems are fed back, at most
    ``retries`` times (so ``retries + 1`` calls in all). Returns the validated context
    (``split`` None). Raises :class:`ContextError` with every problem of the last attempt,
    each line prefixed ``<draft:LABEL attempt N>``. Errors of the client itself propagate.
    """
    base = build_draft_prompt(description, axes)
    prompt = base
    problems: list[str] = []
    for attempt in range(1, retries + 2):
        source = f"<draft:{model_label} attempt {attempt}>"
        reply = client.complete("author", prompt, system=AUTHOR_SYSTEM)
        if not isinstance(reply, str):
            reply = "" if reply is None else str(reply)
        ctx, problems = _attempt(reply, axes, source)
        if ctx is not None:
            return Context(
                id=ctx.id,
                description=ctx.description,
                scale_min=ctx.scale_min,
                scale_max=ctx.scale_max,
                axes=ctx.axes,
                split=None,
                source=f"<draft:{model_label}>",
            )
        prompt = build_repair_prompt(base, reply, problems)
    raise ContextError(problems)

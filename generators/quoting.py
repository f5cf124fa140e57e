"""Untrusted text as delimited data inside a prompt: a fence the text cannot close.

Text a program produced (a persona, a program's code, an error line) is shown to a model
between two fence lines that carry a tag derived from the text itself::

    <<<BEGIN PERSONA 3f9a0c1d2e4b5a69>>>
    ...the text...
    <<<END PERSONA 3f9a0c1d2e4b5a69>>>

The tag is 16 hex digits of a BLAKE2b digest of (label, text, counter); the counter rises
until neither fence line occurs in the text, so the text can never contain its own closing
line (content-hashed, so the same text always gets the same prompt: reproducible seeds and
cache hits). With ``neutralise=True`` (persona text, error lines) every ``<<<`` and ``>>>``
run in the text is broken up first, so the text cannot even imitate a fence of another
tag. Code is shown verbatim (``neutralise=False``): a SEARCH block must match it exactly;
the tag alone keeps it inside its fence.

Pure and stdlib-only: the simulated world imports :func:`unquote` to find a persona in the
respondent's prompt (:mod:`generators.sim.answering`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Mapping

__all__ = ["CODE", "ERRORS", "EXCERPT", "PERSONA", "fence_lines", "neutralise", "quote", "unquote"]

PERSONA = "PERSONA"
"""Label of a persona description shown to the respondent."""
CODE = "CODE"
"""Label of a program's code shown to the mutator."""
ERRORS = "ERRORS"
"""Label of error lines a program's evaluation produced, shown to the mutator."""
EXCERPT = "EXCERPT"
"""Label of an excerpt of a program's output or a child's code, shown to the mutator."""

_LABEL_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
_RUN_RE = re.compile(r"<<<|>>>")


def _check_label(label: str) -> None:
    if not _LABEL_RE.match(label):
        raise ValueError(f"quoting: a label is 1-32 upper-case letters, digits or _, got {label!r}")


def neutralise(text: str) -> str:
    """``text`` with every ``<<<`` / ``>>>`` run broken up (``<< <`` / ``> >>``) until none
    is left, so it cannot imitate a fence line. Other characters are unchanged."""
    while _RUN_RE.search(text):
        text = text.replace("<<<", "<< <").replace(">>>", "> >>")
    return text


def fence_lines(text: str, label: str) -> tuple[str, str]:
    """The (opening, closing) fence lines for ``text`` under ``label``: neither occurs in
    ``text``. Raises ``ValueError`` for a malformed label."""
    _check_label(label)
    counter = 0
    while True:
        tag = hashlib.blake2b(
            f"{label}\0{counter}\0{text}".encode("utf-8", "replace"), digest_size=8
        ).hexdigest()
        opening, closing = f"<<<BEGIN {label} {tag}>>>", f"<<<END {label} {tag}>>>"
        if opening not in text and closing not in text:
            return opening, closing
        counter += 1


def quote(text: str, label: str, *, neutralise_runs: bool = True) -> str:
    """``text`` between its fence lines (three lines or more, no trailing newline).

    ``neutralise_runs``: break up ``<<<``/``>>>`` in the text first (:func:`neutralise`);
    pass False for code that must be shown verbatim."""
    body = neutralise(text) if neutralise_runs else text
    opening, closing = fence_lines(body, label)
    return f"{opening}\n{body}\n{closing}"


def unquote(message: str, label: str) -> tuple[str, str] | None:
    """The first block quoted under ``label`` in ``message``: ``(inner text, message with
    the block removed)``, or None when there is none (or its closing line is missing)."""
    _check_label(label)
    m = re.search(rf"<<<BEGIN {label} ([0-9a-f]{{16}})>>>\n", message)
    if m is None:
        return None
    closing = f"\n<<<END {label} {m.group(1)}>>>"
    end = message.find(closing, m.end())
    if end < 0:
        return None
    inner = message[m.end() : end]
    return inner, message[: m.start()] + message[end + len(closing) :]


def persona_text(persona: Mapping[str, Any]) -> str:
    """The only thing a respondent reads of a persona: ``name`` and ``description``."""
    return f"{persona.get('name', '')}\n{persona.get('description', '')}"

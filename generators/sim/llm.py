"""``SimLLM``: the simulated instruction-following LLM behind model name ``sim``.

Deterministic: the same role, messages and seed give the same text; another seed gives
another realisation (run-to-run noise). Roles: ``persona`` (writes personas, see
:mod:`generators.sim.request` for the grammar it understands), ``respondent`` (answers a
questionnaire statement as the persona in the system message), ``author`` (drafts a
template context). Everything it writes says ``[SIMULATED]``.
"""

from __future__ import annotations

import numpy as np

from generators.sim.answering import respond_items
from generators.sim.author import author_reply, is_author_request
from generators.sim.knobs import SimKnobs
from generators.sim.request import parse_request
from generators.sim.text import stable_hash
from generators.sim.world import realise, write_personas

ROLES = ("persona", "respondent", "author")


class SimLLM:
    """The simulated world's LLM (satisfies ``generators.llm.SimBackend``)."""

    def __init__(self, *, knobs: SimKnobs = SimKnobs()) -> None:
        self.knobs = knobs

    def respond(self, role: str, messages: list[dict[str, str]], *, seed: int | None = None) -> str:
        """The reply text to ``messages`` as ``role``; ``seed`` None means 0."""
        if role not in ROLES:
            raise ValueError(f"SimLLM: unsupported role {role!r} (expected one of {', '.join(ROLES)})")
        text = "\n".join(str(m.get("content", "")) for m in messages)
        rng = np.random.default_rng(stable_hash("sim", role, text, 0 if seed is None else int(seed)))
        if role == "author" or (role != "respondent" and is_author_request(text)):
            return author_reply(text)
        if role == "respondent":
            return respond_items(list(messages), self.knobs, rng)
        request = parse_request(list(messages), max_personas=self.knobs.max_personas)
        return write_personas(realise(request, self.knobs, rng), rng)

    def __repr__(self) -> str:
        return f"SimLLM(knobs={self.knobs!r})  # SIMULATED world"

"""``SimLLM``: the simulated instruction-following LLM behind model name ``sim``.

Deterministic: the same role, messages and seed give the same text; another seed gives
another realisation (run-to-run noise). Roles: ``persona`` (writes personas, see
:mod:`generators.sim.request` for the grammar it understands), ``respondent`` (answers a
questionnaire statement as the persona quoted in the prompt), ``author`` (drafts a
template context). Everything it writes says ``[SIMULATED]``.

Authenticated text: every persona the sim writes is registered with its
:class:`~generators.sim.ledger.SimLedger`, and the sim's own readers (earlier personas
pasted into a persona request, the ``respondent`` role) believe only trait sentences of
that ledger. Each ``SimLLM`` has its own ledger unless given one; an evaluation shares one
fresh ledger between its writer and its respondent (:func:`generators.sim_binding.bind_evaluation`).
"""

from __future__ import annotations

import numpy as np

from generators.sim.answering import StatementKey, respond_items
from generators.sim.author import author_reply, is_author_request
from generators.sim.formats import schema_reply, short_reply, with_format_habits
from generators.sim.knobs import SimKnobs
from generators.sim.ledger import SimLedger
from generators.sim.request import parse_request
from generators.sim.text import stable_hash
from generators.sim.world import realise, write_reply

ROLES = ("persona", "respondent", "author")


class SimContextExceeded(ValueError):
    """A request longer than the simulated context window (``SimKnobs.context_chars``)."""


class SimLLM:
    """The simulated world's LLM (satisfies ``generators.llm.SimBackend``)."""

    def __init__(
        self,
        *,
        knobs: SimKnobs = SimKnobs(),
        ledger: SimLedger | None = None,
        statements: StatementKey | None = None,
    ) -> None:
        """``statements``: what the questionnaire statements the ``respondent`` role will see
        measure (:func:`generators.sim.answering.statement_key`): the understanding a real
        model brings; None leaves the role a crude word-overlap reader."""
        self.knobs = knobs
        self.ledger = ledger if ledger is not None else SimLedger()
        self.statements = dict(statements) if statements else None

    def with_ledger(self, ledger: SimLedger) -> SimLLM:
        """The same simulated model (same knobs and statements) writing into and reading from ``ledger``."""
        return SimLLM(knobs=self.knobs, ledger=ledger, statements=self.statements)

    def respond(self, role: str, messages: list[dict[str, str]], *, seed: int | None = None) -> str:
        """The reply text to ``messages`` as ``role``; ``seed`` None means 0."""
        if role not in ROLES:
            raise ValueError(f"SimLLM: unsupported role {role!r} (expected one of {', '.join(ROLES)})")
        text = "\n".join(str(m.get("content", "")) for m in messages)
        if len(text) > self.knobs.context_chars:
            raise SimContextExceeded(
                f"sim: the request of {len(text)} characters exceeds the simulated context "
                f"window of {self.knobs.context_chars} characters"
            )
        rng = np.random.default_rng(stable_hash("sim", role, text, 0 if seed is None else int(seed)))
        if role == "author" or (role != "respondent" and is_author_request(text)):
            return author_reply(text)
        if role == "respondent":
            reply = respond_items(
                list(messages), self.knobs, rng, decode=self.ledger.decode, statements=self.statements
            )
        else:
            request = parse_request(
                list(messages),
                max_personas=self.knobs.max_personas,
                decode=self.ledger.decode,
                vocabulary=self.knobs.cue_vocabulary,
            )
            if request.output == "schema":
                reply = schema_reply(request.schema, rng)
            elif request.output == "short":
                reply = short_reply(text, rng)
            else:
                reply = write_reply(request, realise(request, self.knobs, rng), rng, ledger=self.ledger)
        return with_format_habits(
            reply, self.knobs, stable_hash("sim-habits", role, text, 0 if seed is None else int(seed))
        )

    def __getstate__(self) -> dict[str, object]:
        # A copy in another process knows nothing this one wrote: its ledger starts empty.
        return {"knobs": self.knobs, "statements": self.statements}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(knobs=state["knobs"], statements=state.get("statements"))  # type: ignore[misc, arg-type]

    def __repr__(self) -> str:
        return f"SimLLM(knobs={self.knobs!r})  # SIMULATED world"

"""One evaluation's sim world: the sim writer and the sim respondent share one fresh ledger.

:func:`bind_evaluation` sits above both :mod:`generators.respondent` and
:mod:`generators.sim` (it knows the respondent types and the sim backend), so the ledger
module below them imports neither.
"""

from __future__ import annotations

import copy
from typing import Any

from generators.respondent import Respondent, SimRespondent
from generators.sim.ledger import SimLedger
from generators.sim.llm import SimLLM

__all__ = ["bind_evaluation"]


def bind_evaluation(client: Any, respondent: Respondent) -> tuple[Any, Respondent]:
    """(client, respondent) for one evaluation, sharing a fresh :class:`SimLedger`.

    A client whose sim backend is a :class:`generators.sim.llm.SimLLM` is replaced by a view
    (``client.with_sim_backend``: same cache, budget, accounting) whose sim writes into the
    ledger; a :class:`generators.respondent.SimRespondent` is replaced by one reading through
    it; a respondent holding ``client`` (an ``LLMRespondent`` on the sim) gets the view.
    Anything else passes unchanged. Call once per evaluation, in the evaluating process.
    """
    ledger = SimLedger()
    bound = client
    backend = getattr(client, "sim_backend", None)
    if isinstance(backend, SimLLM) and callable(getattr(client, "with_sim_backend", None)):
        bound = client.with_sim_backend(backend.with_ledger(ledger))
    if isinstance(respondent, SimRespondent):
        respondent = SimRespondent(knobs=respondent.knobs, ledger=ledger)
    elif bound is not client and getattr(respondent, "client", None) is client:
        respondent = copy.copy(respondent)
        respondent.client = bound  # type: ignore[attr-defined]
    return bound, respondent

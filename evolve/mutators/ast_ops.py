"""The registry of source-level genetic-programming operators on the EVOLVE-BLOCKs of a program.

Each operator looks at the parsed :class:`~evolve.mutators.spans.Program`, picks one
eligible site at random and returns a :class:`~evolve.mutators.operator_api.Candidate`: a
few character-span replacements of the original text. Only the changed spans are rewritten
(positions come from the AST's line/column data), so comments and formatting elsewhere
survive; the whole module is never unparsed.

Operators (names in :data:`OPERATORS`; each function's docstring gives its rules):

- ``perturb_constant``, ``duplicate_element`` -- :mod:`evolve.mutators.literal_ops`
- ``fragment_crossover``, ``delete_fragment`` -- :mod:`evolve.mutators.prompt_ops`
- ``body_crossover`` -- :mod:`evolve.mutators.body_crossover`
- ``swap_statements``, ``delete_statement`` -- :mod:`evolve.mutators.statement_ops`

Shared machinery: span edits and positions (:mod:`~evolve.mutators.spans`), the operator
contract (:mod:`~evolve.mutators.operator_api`), inspirations' material
(:mod:`~evolve.mutators.donors`), string literals (:mod:`~evolve.mutators.text_literals`),
prompt-text sites (:mod:`~evolve.mutators.prompt_sites`) and name analysis
(:mod:`~evolve.mutators.scopes`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from types import MappingProxyType

from evolve.mutators.body_crossover import body_crossover
from evolve.mutators.donors import Donors
from evolve.mutators.literal_ops import duplicate_element, perturb_constant
from evolve.mutators.operator_api import Candidate, Operator, PerturbSettings
from evolve.mutators.prompt_ops import delete_fragment, fragment_crossover
from evolve.mutators.spans import Program
from evolve.mutators.statement_ops import delete_statement, swap_statements

__all__ = ["OPERATORS", "run_operator"]

_OPS: Mapping[str, Operator] = MappingProxyType(
    {
        "perturb_constant": perturb_constant,
        "fragment_crossover": fragment_crossover,
        "body_crossover": body_crossover,
        "swap_statements": swap_statements,
        "delete_statement": delete_statement,
        "duplicate_element": duplicate_element,
        "delete_fragment": delete_fragment,
    }
)

#: operator names, in the order the offline mutator draws from them
OPERATORS: tuple[str, ...] = tuple(_OPS)


def run_operator(
    name: str, prog: Program, rng: random.Random, donors: Donors, settings: PerturbSettings
) -> Candidate | None:
    """Run operator ``name`` (one of :data:`OPERATORS`) once; None when it finds no eligible site."""
    return _OPS[name](prog, rng, donors, settings)

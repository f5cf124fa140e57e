"""The offline mutator: genetic programming on the EVOLVE-BLOCKs of a program, no LLM.

It picks an operator (weights from :class:`OfflineMutatorConfig`, shifted by keywords of
the directive), lets it rewrite one site with source-level span edits (see
:mod:`evolve.mutators.ast_ops`), and checks the result: it parses and compiles, differs
from the parent, keeps the code outside EVOLVE-BLOCKs, and its SEARCH/REPLACE rendering
applies through :func:`evolve.proposals.diffs.apply_edits` to exactly that program. A failed
attempt is followed by another, up to ``max_attempts``; if none works the proposal has
empty text and a note saying why.

The change is emitted as SEARCH/REPLACE blocks (the changed lines plus ``context_lines``
of context, grown until every SEARCH is unique), or as a fenced full program when the
request asks for a full rewrite, so the controller's pipeline is the same as with an LLM.
Deterministic: the same request (same seed) gives the same proposal.
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from evolve.mutators.ast_ops import OPERATORS, run_operator
from evolve.mutators.base import MutationRequest, Proposal
from evolve.mutators.donors import collect_donors
from evolve.mutators.operator_api import Candidate, PerturbSettings
from evolve.mutators.phrase_bank import PHRASES
from evolve.mutators.spans import Program, apply_span_edits
from evolve.proposals.diffs import (
    DiffError,
    EditBlock,
    apply_edits,
    check_full_rewrite,
    format_blocks,
    parse_blocks,
    parse_full_rewrite,
)

__all__ = [
    "OPERATORS",
    "PHRASE_OPERATORS",
    "DEFAULT_WEIGHTS",
    "DIRECTIVE_HINTS",
    "OfflineMutatorConfig",
    "OfflineMutation",
    "OfflineMutator",
]

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "perturb_constant": 0.30,
        "fragment_crossover": 0.28,
        "body_crossover": 0.12,
        "swap_statements": 0.08,
        "delete_statement": 0.07,
        "duplicate_element": 0.07,
        "delete_fragment": 0.08,
    }
)

#: operators that edit prompt wording (off with ``OfflineMutatorConfig(phrase_edits=False)``)
PHRASE_OPERATORS: tuple[str, ...] = ("fragment_crossover", "delete_fragment")

#: directive keyword (lower-case substring) -> operators whose weight it multiplies
DIRECTIVE_HINTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "simplif": ("delete_statement", "delete_fragment"),
        "shorten": ("delete_statement", "delete_fragment"),
        "remove": ("delete_statement", "delete_fragment"),
        "phras": ("fragment_crossover",),
        "wording": ("fragment_crossover",),
        "prompt": ("fragment_crossover",),
        "instruction": ("fragment_crossover",),
        "tune": ("perturb_constant",),
        "constant": ("perturb_constant",),
        "parameter": ("perturb_constant",),
        "temperature": ("perturb_constant",),
        "combine": ("body_crossover", "fragment_crossover"),
        "inspiration": ("body_crossover", "fragment_crossover"),
        "crossover": ("body_crossover", "fragment_crossover"),
        "reorder": ("swap_statements",),
        "restructure": ("swap_statements", "body_crossover"),
        "emphas": ("duplicate_element", "fragment_crossover"),
    }
)


@dataclass(frozen=True)
class OfflineMutatorConfig:
    """Settings of :class:`OfflineMutator`.

    ``operator_weights``: relative weight per operator name (missing names weigh 0;
    at least one must be positive). ``float_sigma``: sigma of the log-normal factor for
    float literals. ``int_max_step``: ints move by 1..this many steps of
    ``max(1, round(0.1 * |x|))``. ``max_attempts``: operator applications tried before
    giving up (>= 1). ``context_lines``: unchanged lines around each SEARCH (grown when
    needed for uniqueness). ``directive_boost``: factor on the weights of operators
    named by directive keywords (:data:`DIRECTIVE_HINTS`); 1 disables the mapping.
    ``model_label``: what :attr:`Proposal.model` says. ``phrases``: the vocabulary of
    writing instructions wording edits draw on besides the inspirations (default: the
    general bank of :mod:`evolve.mutators.phrase_bank`; empty: inspirations only).
    ``phrase_edits``: False is the ablation without wording edits: the operators of
    :data:`PHRASE_OPERATORS` never run, so no prompt sentence is added, replaced or
    deleted (only constants and code structure evolve; prompts change only when a whole
    function body comes from an inspiration).
    """

    operator_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    float_sigma: float = 0.3
    int_max_step: int = 3
    max_attempts: int = 12
    context_lines: int = 2
    directive_boost: float = 3.0
    model_label: str = "offline"
    phrases: tuple[str, ...] = PHRASES
    phrase_edits: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.operator_weights) - set(OPERATORS)
        if unknown:
            raise ValueError(f"OfflineMutatorConfig.operator_weights: unknown operators {sorted(unknown)}")
        if any(w < 0 for w in self.operator_weights.values()) or not any(
            w > 0 for w in self.operator_weights.values()
        ):
            raise ValueError("OfflineMutatorConfig.operator_weights: need >= 0 weights, at least one > 0")
        if self.float_sigma <= 0 or self.int_max_step < 1 or self.max_attempts < 1 or self.context_lines < 0:
            raise ValueError(
                (
                    "OfflineMutatorConfig: float_sigma > 0, int_max_step >= 1, max_attempts >= 1, "
                    "context_lines >= 0"
                )
            )
        if self.directive_boost <= 0:
            raise ValueError("OfflineMutatorConfig.directive_boost must be > 0")
        if not self.phrase_edits and not any(
            w > 0 for op, w in self.operator_weights.items() if op not in PHRASE_OPERATORS
        ):
            raise ValueError(
                "OfflineMutatorConfig: phrase_edits=False leaves no operator with a positive weight"
            )
        bad = [p for p in self.phrases if not isinstance(p, str) or not p.strip()]
        if bad:
            raise ValueError(
                f"OfflineMutatorConfig.phrases: every phrase must be a non-empty string, got {bad[0]!r}"
            )


@dataclass(frozen=True)
class OfflineMutation:
    """A proposal together with the program it encodes (``code`` is None when there is none)."""

    proposal: Proposal
    code: str | None


def _make_blocks(parent: str, child: str, context: int) -> list[EditBlock] | None:
    """SEARCH/REPLACE blocks turning ``parent`` into ``child``, verified with apply_edits."""
    a, b = parent.split("\n"), child.split("\n")
    hunks = [
        op[1:] for op in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op[0] != "equal"
    ]
    if not hunks:
        return None
    for ctx in range(context, context + 8):
        groups: list[list[int]] = []
        for i1, i2, j1, j2 in hunks:
            if groups and i1 - groups[-1][1] <= 2 * ctx:
                groups[-1][1], groups[-1][3] = i2, j2
            else:
                groups.append([i1, i2, j1, j2])
        blocks = []
        for i1, i2, j1, j2 in groups:
            pre = min(ctx, i1)
            post = min(ctx, len(a) - i2)
            blocks.append(EditBlock("\n".join(a[i1 - pre : i2 + post]), "\n".join(b[j1 - pre : j2 + post])))
        try:
            res = apply_edits(parent, blocks)
        except DiffError:
            return None
        if not res.failures and res.code == child:
            return blocks
    return None


class OfflineMutator:
    """Genetic-programming mutator (see the module docstring). Implements ``Mutator``."""

    def __init__(self, *, config: OfflineMutatorConfig | None = None) -> None:
        self.config = config or OfflineMutatorConfig()
        self._settings = PerturbSettings(
            float_sigma=self.config.float_sigma,
            int_max_step=self.config.int_max_step,
            phrases=tuple(self.config.phrases),
        )

    async def propose(self, request: MutationRequest) -> Proposal:
        """Propose one change (SEARCH/REPLACE blocks, or a fenced program if ``full_rewrite``)."""
        return self.mutate(request).proposal

    def weights(self, directive: str) -> dict[str, float]:
        """Operator weights after applying the directive's keywords."""
        w = {op: float(self.config.operator_weights.get(op, 0.0)) for op in OPERATORS}
        if not self.config.phrase_edits:
            for op in PHRASE_OPERATORS:
                w[op] = 0.0
        text = directive.lower()
        boosted: set[str] = set()
        for key, ops in DIRECTIVE_HINTS.items():
            if key in text:
                boosted.update(ops)
        for op in sorted(boosted):
            w[op] *= self.config.directive_boost
        return w

    def mutate(self, request: MutationRequest) -> OfflineMutation:
        """Like :meth:`propose`, synchronous, and also returning the mutated program."""
        cfg = self.config
        label = cfg.model_label
        try:
            prog = Program(request.parent_code)
        except SyntaxError as exc:
            return OfflineMutation(Proposal("", "none", label, note=f"parent does not parse: {exc}"), None)
        except DiffError as exc:
            return OfflineMutation(Proposal("", "none", label, note=f"parent has bad markers: {exc}"), None)
        rng = random.Random(request.seed)
        donors = collect_donors(request.inspirations)
        weights = self.weights(request.directive)
        problems: list[str] = []
        for _ in range(cfg.max_attempts):
            ops = [op for op in OPERATORS if weights[op] > 0]
            if not ops:
                break
            op = rng.choices(ops, weights=[weights[o] for o in ops])[0]
            cand = run_operator(op, prog, rng, donors, self._settings)
            if cand is None:
                weights[op] = 0.0  # no eligible site in this parent
                problems.append(f"{op}: no eligible site")
                continue
            result = self._encode(request, cand)
            if isinstance(result, str):
                problems.append(f"{op}: {result}")
                continue
            return result
        why = "; ".join(dict.fromkeys(problems)) or "no operator enabled"
        return OfflineMutation(Proposal("", "none", label, note=f"no valid mutation found ({why})"), None)

    def _encode(self, request: MutationRequest, cand: Candidate) -> OfflineMutation | str:
        """The proposal for a candidate, or the reason it is unusable."""
        parent = request.parent_code
        child = apply_span_edits(parent, cand.edits)
        if child == parent:
            return "no change"
        try:
            compile(child, "<offline-mutation>", "exec")
        except (SyntaxError, ValueError) as exc:
            return f"does not compile ({exc})"
        reason = check_full_rewrite(parent, child)
        if reason is not None:
            return reason
        if request.full_rewrite:
            text = f"```python\n{child}```\n" if child.endswith("\n") else f"```python\n{child}\n```\n"
            if parse_full_rewrite(text) != (child if child.endswith("\n") else child + "\n"):
                return "full rewrite does not round-trip"
        else:
            blocks = _make_blocks(parent, child, self.config.context_lines)
            if blocks is None:
                return "could not express the change as unique SEARCH/REPLACE blocks"
            text = format_blocks(blocks)
            if parse_blocks(text) != blocks:
                return "SEARCH/REPLACE text does not round-trip"
        proposal = Proposal(
            text=text, operator=cand.operator, model=self.config.model_label, note=cand.description
        )
        return OfflineMutation(proposal, child)

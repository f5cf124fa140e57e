"""Tests of the offline (genetic-programming) mutator and its pipeline through evolve.proposals.diffs."""

from __future__ import annotations

import ast
import asyncio
import difflib
import re
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolve.mutators import (
    OPERATORS,
    PHRASE_OPERATORS,
    MutationRequest,
    Mutator,
    OfflineMutator,
    OfflineMutatorConfig,
    Proposal,
)
from evolve.mutators.phrase_bank import PHRASES, TOPICS
from evolve.proposals.diffs import (
    apply_edits,
    check_full_rewrite,
    evolve_regions,
    parse_blocks,
    parse_full_rewrite,
)

PARENT = textwrap.dedent(
    '''\
    """Two-stage persona generator (test fixture)."""
    import json

    FIELDS = ("name", "description")


    def _parse(text):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None


    # EVOLVE-BLOCK-START
    TEMPERATURE = 0.9
    BATCH = 5
    SPREAD = 0.8
    INSTRUCTIONS = [
        "Spread the personas across the whole range of every axis.",
        "Include people at both extremes of each axis.",
        "Write each persona in the third person.",
    ]


    def plan_positions(context, n, rng):
        """Stage 1: target positions in [0, 1] for every persona and axis."""
        k = len(context.axes)
        positions = rng.random((n, k))
        positions = 0.5 + SPREAD * (positions - 0.5)
        return positions
    # EVOLVE-BLOCK-END


    def _axis_line(axis, value):
        return f"{axis.name}: {value:.2f} (0 = {axis.low}, 1 = {axis.high})"


    # EVOLVE-BLOCK-START
    def describe(context, target, llm):
        """Stage 2: expand one target position into a persona."""
        lines = [f"Setting: {context.description}. Write one persona for it."]
        for axis, value in zip(context.axes, target):
            lines.append(_axis_line(axis, value))
        lines.extend(INSTRUCTIONS)
        lines.append("Answer with JSON holding a name and a description.")
        prompt = "\\n".join(lines)
        return prompt
    # EVOLVE-BLOCK-END


    def generate(context, n, llm, rng):
        positions = plan_positions(context, n, rng)
        prompts = [describe(context, positions[i], llm) for i in range(n)]
        personas = []
        for start in range(0, n, BATCH):
            for text in llm.complete_many(prompts[start : start + BATCH], temperature=TEMPERATURE):
                persona = _parse(text)
                if persona is not None:
                    personas.append(persona)
        return personas[:n]
    '''
)

INSPIRATION_PHRASE = "Push several personas to the very ends of each axis, bluntly."
INSPIRATION = PARENT.replace(
    '"Include people at both extremes of each axis."', f'"{INSPIRATION_PHRASE}"'
).replace(
    "    positions = 0.5 + SPREAD * (positions - 0.5)\n",
    "    positions = (positions + rng.random((n, k))) / 2.0\n    positions[0] = 0.0\n",
)


def request(
    seed: int = 0,
    *,
    code: str = PARENT,
    inspirations=(("insp-1", INSPIRATION),),
    directive: str = "",
    full_rewrite: bool = False,
) -> MutationRequest:
    return MutationRequest(
        parent_code=code,
        parent_id="parent-1",
        inspirations=tuple(inspirations),
        directive=directive,
        system="(ignored by the offline mutator)",
        user="(ignored too)",
        seed=seed,
        full_rewrite=full_rewrite,
    )


def only(op: str) -> OfflineMutator:
    return OfflineMutator(config=OfflineMutatorConfig(operator_weights={op: 1.0}))


def outside_unchanged(parent: str, child: str) -> bool:
    """The lines outside EVOLVE-BLOCKs (markers included) are byte-identical."""

    def outside(code: str) -> list[str]:
        lines = code.split("\n")
        inside = {n for s, e in evolve_regions(code) for n in range(s + 1, e)}
        return [ln for i, ln in enumerate(lines, start=1) if i not in inside]

    return outside(parent) == outside(child)


def assert_sound(req: MutationRequest, mutator: OfflineMutator):
    """The proposal parses, applies cleanly to exactly the mutated program, compiles and
    changes only EVOLVE regions; returns the mutated program."""
    result = mutator.mutate(req)
    prop = result.proposal
    assert prop.text, prop.note
    assert result.code is not None and result.code != req.parent_code
    applied = apply_edits(req.parent_code, parse_blocks(prop.text))
    assert applied.failures == [] and applied.applied >= 1
    assert applied.code == result.code
    compile(result.code, "<child>", "exec")
    assert outside_unchanged(req.parent_code, result.code)
    assert check_full_rewrite(req.parent_code, result.code) is None
    assert prop.operator in OPERATORS and prop.model == "offline"
    assert prop.prompt_tokens == 0 and prop.completion_tokens == 0
    return result.code


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    with_inspiration=st.booleans(),
    directive=st.sampled_from(
        ["", "simplify the program", "improve the phrasing", "tune constants", "reorder"]
    ),
)
def test_every_proposal_is_sound_and_deterministic(seed, with_inspiration, directive):
    mutator = OfflineMutator()
    req = request(
        seed, inspirations=(("insp-1", INSPIRATION),) if with_inspiration else (), directive=directive
    )
    child = assert_sound(req, mutator)
    again = OfflineMutator().mutate(req)
    assert again.code == child and again.proposal == mutator.mutate(req).proposal


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31))
def test_chains_of_mutations_stay_sound(seed):
    """Mutating mutated programs (five generations) keeps every invariant."""
    mutator = OfflineMutator()
    code = PARENT
    for gen in range(5):
        code = assert_sound(request(seed + gen, code=code), mutator)
    assert outside_unchanged(PARENT, code)


def test_different_seeds_give_different_children():
    mutator = OfflineMutator()
    children = {mutator.mutate(request(s)).code for s in range(30)}
    assert len(children) >= 15
    operators = {mutator.mutate(request(s)).proposal.operator for s in range(60)}
    assert len(operators) >= 5


# --------------------------------------------------------------------------- operators one by one


def numeric_constants(code: str) -> list[tuple[int, int | float]]:
    return [
        (n.lineno, n.value)
        for n in ast.walk(ast.parse(code))
        if isinstance(n, ast.Constant) and type(n.value) in (int, float)
    ]


def test_constant_perturbation_changes_one_number_and_keeps_types_and_ranges():
    seen_lines = set()
    for seed in range(80):
        req = request(seed)
        child = assert_sound(req, only("perturb_constant"))
        before, after = numeric_constants(PARENT), numeric_constants(child)
        assert len(before) == len(after)
        changed = [(b, a) for b, a in zip(before, after) if b != a]
        assert len(changed) == 1
        (line, old), (_, new) = changed[0]
        seen_lines.add(line)
        assert type(old) is type(new)
        if isinstance(old, float) and 0.0 <= old <= 1.0:
            assert 0.0 <= new <= 1.0
        if isinstance(old, int) and old >= 1:
            assert new >= 1
            assert abs(new - old) <= 3  # +-1..3 steps of 1 for small ints
        regions = evolve_regions(PARENT)
        assert any(s < line < e for s, e in regions)
    assert len(seen_lines) >= 4  # TEMPERATURE, BATCH, SPREAD, the 0.5s ...


def test_constant_perturbation_skips_indices_range_bounds_booleans_and_handles_unicode():
    code = textwrap.dedent(
        """\
        # EVOLVE-BLOCK-START
        LABEL, WEIGHT = "café — naïve", 0.5
        FLAG = True


        def pick(xs):
            total = 0
            for i in range(3):
                total += xs[0] + xs[1:2][0]
            return total * 10
        # EVOLVE-BLOCK-END
        """
    )
    values = set()
    for seed in range(60):
        child = assert_sound(request(seed, code=code, inspirations=()), only("perturb_constant"))
        assert "range(3)" in child and "xs[0] + xs[1:2][0]" in child and "FLAG = True" in child
        assert 'LABEL, WEIGHT = "café — naïve", ' in child
        values.add(child)
    assert len(values) >= 10
    big = code.replace("total * 10", "total * 400")
    for seed in range(20):
        child = assert_sound(request(seed, code=big, inspirations=()), only("perturb_constant"))
        if "total * 400" not in child:
            new = int(child.split("total * ")[1].split("\n")[0])
            assert new % 40 == 0 and 400 - 120 <= new <= 400 + 120  # steps of 10 % of the value


def test_fragment_crossover_brings_in_an_inspiration_string():
    mutator = only("fragment_crossover")
    hits = 0
    for seed in range(40):
        child = assert_sound(request(seed), mutator)
        if INSPIRATION_PHRASE in child:
            hits += 1
            assert INSPIRATION_PHRASE not in PARENT
    assert hits >= 5


def test_fragment_crossover_uses_the_phrase_bank_without_inspirations():
    mutator = only("fragment_crossover")
    kinds = set()
    for seed in range(40):
        result = mutator.mutate(request(seed, inspirations=()))
        assert_sound(request(seed, inspirations=()), mutator)
        added = [p for p in PHRASES if p in result.code and p not in PARENT]
        assert added, result.proposal.note
        kinds.add(result.proposal.note.split(" ")[0])
    # list element replace/insert, sentence append/replace (f-string included)
    assert {"fragment_crossover/insert_element", "fragment_crossover/append_sentence"} <= kinds
    assert len(kinds) >= 4


def test_fragment_crossover_into_fstring_keeps_it_an_fstring():
    code = textwrap.dedent(
        """\
        # EVOLVE-BLOCK-START
        def ask(context, llm):
            return llm.complete(f"Describe someone from {context.description}. Keep it short.")
        # EVOLVE-BLOCK-END
        """
    )
    for seed in range(20):
        child = assert_sound(request(seed, code=code, inspirations=()), only("fragment_crossover"))
        assert 'f"Describe someone from {context.description}.' in child
        (joined,) = [n for n in ast.walk(ast.parse(child)) if isinstance(n, ast.JoinedStr)]
        text = "".join(p.value for p in joined.values if isinstance(p, ast.Constant))
        assert any(p in text for p in PHRASES)


def test_body_crossover_brings_in_the_inspiration_function_body():
    result = only("body_crossover").mutate(request(3))
    assert result.proposal.operator == "body_crossover"
    assert "plan_positions" in result.proposal.note and "insp-1" in result.proposal.note
    child = assert_sound(request(3), only("body_crossover"))
    assert "    positions = (positions + rng.random((n, k))) / 2.0\n    positions[0] = 0.0\n" in child
    assert "SPREAD * (positions - 0.5)" not in child
    # the rest of the program is the parent's
    assert (
        child.replace(
            "    positions = (positions + rng.random((n, k))) / 2.0\n    positions[0] = 0.0\n",
            "    positions = 0.5 + SPREAD * (positions - 0.5)\n",
        )
        == PARENT
    )


def test_body_crossover_needs_a_different_compatible_donor():
    assert only("body_crossover").mutate(request(0, inspirations=())).proposal.text == ""
    assert only("body_crossover").mutate(request(0, inspirations=(("same", PARENT),))).proposal.text == ""
    uses_unknown = INSPIRATION.replace("positions[0] = 0.0", "positions[0] = UNKNOWN_HELPER(k)")
    result = only("body_crossover").mutate(request(0, inspirations=(("bad", uses_unknown),)))
    assert result.proposal.text == "" and "no eligible site" in result.proposal.note


def test_statement_swap_reorders_two_independent_statements():
    child = assert_sound(request(0), only("swap_statements"))
    assert (
        '    lines.append("Answer with JSON holding a name and a description.")\n'
        "    lines.extend(INSTRUCTIONS)\n"
    ) in child
    assert sorted(child.split("\n")) == sorted(PARENT.split("\n"))
    # the dependent pair (append, then join) is never swapped
    for seed in range(20):
        c = only("swap_statements").mutate(request(seed)).code
        assert c.index('lines.append("Answer') < c.index('prompt = "\\n".join(lines)')


def test_statement_delete_and_duplicate_element():
    for seed in range(20):
        child = assert_sound(request(seed), only("delete_statement"))
        removed = [
            ln for ln in difflib.ndiff(PARENT.split("\n"), child.split("\n")) if ln[:2] in ("- ", "+ ")
        ]
        assert removed and all(ln.startswith("- ") for ln in removed)  # only whole lines removed
        first = removed[0][2:]
        assert first.startswith("    ") or first.split("=")[0].strip().isupper()  # one statement of a block
        assert "    return prompt\n" in child and "    return positions\n" in child  # final returns stay
        assert "k = len(context.axes)" in child  # k is read later: never deleted
    for seed in range(10):
        child = assert_sound(request(seed), only("duplicate_element"))
        tree_before = [n for n in ast.walk(ast.parse(PARENT)) if isinstance(n, ast.List)]
        tree_after = [n for n in ast.walk(ast.parse(child)) if isinstance(n, ast.List)]
        grown = [(b, a) for b, a in zip(tree_before, tree_after) if len(a.elts) == len(b.elts) + 1]
        assert len(grown) == 1


def test_delete_fragment_drops_an_instruction():
    child = assert_sound(request(1), only("delete_fragment"))
    assert len(child) < len(PARENT)


# --------------------------------------------------------------------------- interface and config


def test_propose_is_async_and_implements_the_protocol():
    mutator = OfflineMutator()
    assert isinstance(mutator, Mutator)
    proposal = asyncio.run(mutator.propose(request(7)))
    assert isinstance(proposal, Proposal)
    assert proposal == mutator.mutate(request(7)).proposal


def test_full_rewrite_request_gives_a_fenced_program():
    req = request(5, full_rewrite=True)
    result = OfflineMutator().mutate(req)
    assert result.proposal.text.startswith("```python\n")
    assert parse_full_rewrite(result.proposal.text) == result.code
    assert check_full_rewrite(PARENT, result.code) is None


def test_nothing_to_mutate_gives_an_empty_proposal_with_a_note():
    code = (
        "import json\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n\n\n"
        "def generate(context, n, llm, rng):\n    return []\n"
    )
    result = OfflineMutator().mutate(request(0, code=code, inspirations=()))
    assert result.proposal.text == "" and result.code is None
    assert "no valid mutation" in result.proposal.note
    bad = OfflineMutator().mutate(request(0, code="def f(:\n", inspirations=()))
    assert bad.proposal.text == "" and "does not parse" in bad.proposal.note


def test_directive_keywords_shift_operator_weights():
    mutator = OfflineMutator()
    base = mutator.weights("")
    simp = mutator.weights("Simplify: remove what does not help")
    assert simp["delete_statement"] == pytest.approx(3 * base["delete_statement"])
    assert simp["perturb_constant"] == base["perturb_constant"]
    phr = mutator.weights("improve the phrasing of the prompt")
    assert phr["fragment_crossover"] == pytest.approx(3 * base["fragment_crossover"])
    ops = [mutator.mutate(request(s, directive="improve the wording")).proposal.operator for s in range(40)]
    ops_plain = [mutator.mutate(request(s)).proposal.operator for s in range(40)]
    assert ops.count("fragment_crossover") > ops_plain.count("fragment_crossover")


def test_config_validation():
    with pytest.raises(ValueError, match="unknown operators"):
        OfflineMutatorConfig(operator_weights={"teleport": 1.0})
    with pytest.raises(ValueError, match="at least one > 0"):
        OfflineMutatorConfig(operator_weights={"perturb_constant": 0.0})
    with pytest.raises(ValueError):
        OfflineMutatorConfig(max_attempts=0)
    with pytest.raises(TypeError):
        OfflineMutator(OfflineMutatorConfig())  # keyword-only
    cfg = OfflineMutatorConfig(float_sigma=0.1)
    with pytest.raises(AttributeError):
        cfg.float_sigma = 0.5  # type: ignore[misc]


def test_phrase_bank_is_insertable_everywhere():
    assert len(PHRASES) >= 60 and len(set(PHRASES)) == len(PHRASES) and len(TOPICS) >= 10
    for p in PHRASES:
        assert not set(p) & set("\\\"'{}\n:=") and p.isascii() and p[-1] in ".!?"
        assert re.fullmatch(r"[A-Z][^.!?]*[.!?]", p), p  # one sentence, as the operators cut them


def _sim_cue_patterns():
    from generators.sim import request as sim_request
    from generators.sim.vocabulary import VOCABULARIES

    words = VOCABULARIES["default"]
    return {
        "emphatic negations": words.emphatic_negations,
        "softening": words.softening,
        "emphasis": words.emphasis,
        "independence": words.independence,
        "differ": sim_request._DIFFER,
        "expand": sim_request._EXPAND,
    }


def _cue_alternatives(pattern: re.Pattern[str]) -> set[str]:
    """The literal phrases a sim cue regex lists (regex syntax stripped)."""
    body = pattern.pattern.replace("\\b(?:", "").replace("\\s+", " ")
    parts = re.split(r"[|()]", body)
    return {re.sub(r"\?P<c\d+>|\\|[?:'*\[\]]", "", part).strip() for part in parts} - {""}


def test_phrase_bank_and_sim_cue_lists_are_disjoint_as_phrases():
    """The bank is written as general prompt advice, not from the sim's cue lists: no
    instruction is a cue phrase, none carries more than one distinct sim cue, and most
    carry none at all (the words a sim cue happens to share with ordinary advice, like
    "concrete" or "extreme", are how a real model would be told the same thing)."""
    from generators.sim.request import _count_cues, parse_request

    patterns = _sim_cue_patterns()
    cues = set().union(*(_cue_alternatives(p) for p in patterns.values()))
    assert {"balanced", "realistic", "natural", "vivid", "uncompromising"} <= cues  # the extraction works
    bank = {p.lower().rstrip(".!?").strip() for p in PHRASES}
    assert not bank & cues
    touched = 0
    for phrase in PHRASES:
        text = phrase.lower()
        for pattern in patterns.values():
            assert pattern.fullmatch(text.rstrip(".")) is None, phrase
        distinct = sum(_count_cues(text, pattern)[0] for pattern in patterns.values())
        assert distinct <= 1, phrase  # not a bag of cue words
        touched += distinct > 0
        req = parse_request([{"role": "user", "content": phrase}])
        assert req.targets == () and req.axes == () and req.count == 1, phrase  # never read as a target line
    assert touched / len(PHRASES) <= 0.15


def test_without_phrase_edits_no_wording_changes():
    ablation = OfflineMutator(config=OfflineMutatorConfig(phrase_edits=False))
    assert all(
        ablation.weights(d)[op] == 0.0 for op in PHRASE_OPERATORS for d in ("", "improve the phrasing")
    )
    ops = set()
    for seed in range(60):
        result = ablation.mutate(request(seed))
        ops.add(result.proposal.operator)
        if result.code is not None:
            assert not any(p in result.code and p not in PARENT for p in PHRASES)
    assert not ops & set(PHRASE_OPERATORS) and len(ops) >= 3
    with pytest.raises(ValueError, match="phrase_edits=False"):
        OfflineMutatorConfig(operator_weights={"fragment_crossover": 1.0}, phrase_edits=False)


def test_custom_vocabulary_and_inspirations_only():
    own = ("Describe each person as a rival would.",)
    mutator = OfflineMutator(
        config=OfflineMutatorConfig(operator_weights={"fragment_crossover": 1.0}, phrases=own)
    )
    added = 0
    for seed in range(30):
        code = mutator.mutate(request(seed, inspirations=())).code
        added += code is not None and own[0] in code
        assert code is None or not any(p in code for p in PHRASES if p not in PARENT)
    assert added >= 10
    empty = OfflineMutator(
        config=OfflineMutatorConfig(operator_weights={"fragment_crossover": 1.0}, phrases=())
    )
    assert empty.mutate(request(0, inspirations=())).code is None  # nothing to draw on
    assert INSPIRATION_PHRASE in "".join(empty.mutate(request(s)).code or "" for s in range(10))
    with pytest.raises(ValueError, match="phrases"):
        OfflineMutatorConfig(phrases=("",))


def test_delete_statement_is_scope_aware():
    """``parts`` is assigned in both functions: neither assignment may go, since each
    function reads its own ``parts`` afterwards."""
    code = textwrap.dedent(
        """\
        # EVOLVE-BLOCK-START
        def first(x):
            parts = [x]
            parts.append("a")
            return parts


        def second(y):
            parts = [y]
            parts.append("b")
            return parts
        # EVOLVE-BLOCK-END
        """
    )
    for seed in range(30):
        child = assert_sound(request(seed, code=code, inspirations=()), only("delete_statement"))
        assert child.count("parts = [") == 2


def test_body_crossover_rejects_donor_calls_that_do_not_fit_the_parent_signatures():
    donor = PARENT.replace(
        "prompts = [describe(context, positions[i], llm) for i in range(n)]",
        "prompts = [describe(context, positions[i]) for i in range(n)]",
    )

    def evolvable_generate(code: str) -> str:
        head = "def generate(context, n, llm, rng):\n"
        code = code.replace(head, "# EVOLVE-BLOCK-START\n" + head)
        return code.rstrip("\n") + "\n# EVOLVE-BLOCK-END\n"

    donor, parent = evolvable_generate(donor), evolvable_generate(PARENT)
    result = only("body_crossover").mutate(request(0, code=parent, inspirations=(("d", donor),)))
    assert result.proposal.text == ""  # describe() needs 3 arguments, the donor passes 2
    fixed = donor.replace("describe(context, positions[i])", "describe(context, positions[i], llm=None)")
    child = assert_sound(request(0, code=parent, inspirations=(("d", fixed),)), only("body_crossover"))
    assert "describe(context, positions[i], llm=None)" in child

"""The request grammar the simulated LLM understands."""

from __future__ import annotations

from generators.sim.request import LEVELS, parse_request

DECL = """Axes:
- privacy_need: how much solitude they need (low = thrives on company; high = needs long stretches alone)
- risk_taking: how much risk they accept (low = safety first; high = takes big risks)
"""


def _parse(text: str):
    return parse_request([{"role": "user", "content": text}])


def test_axis_declarations_with_poles_in_order():
    req = _parse(DECL + "Write 4 personas.")
    assert [a.name for a in req.axes] == ["privacy_need", "risk_taking"]
    assert req.axes[0].low == "thrives on company"
    assert req.axes[1].high == "takes big risks"
    assert req.count == 4 and req.targets == ()


def test_target_blocks_numbers_percent_levels_and_clipping():
    text = (
        DECL
        + """Write one persona per block.
Persona 1: privacy_need: 0.9, risk_taking = very low
Persona 2:
- privacy_need: 20%
- risk_taking: 7/10
3. privacy need: high; risk_taking: 1.7
#4 privacy_need = -0.3, risk_taking: .35
"""
    )
    req = _parse(text)
    assert req.count == 4
    t = req.targets
    assert t[0] == {"privacy need": 0.9, "risk taking": LEVELS["very low"]}
    assert t[1] == {"privacy need": 0.2, "risk taking": 0.7}
    assert t[2] == {"privacy need": LEVELS["high"], "risk taking": 1.0}
    assert t[3] == {"privacy need": 0.0, "risk taking": 0.35}


def test_pairs_naming_undeclared_axes_are_ignored_when_axes_are_declared():
    req = _parse(DECL + "Persona 1: privacy_need: 0.8, mood: 0.1")
    assert req.targets == ({"privacy need": 0.8},)


def test_axes_named_only_in_targets_become_known():
    req = _parse("Persona 1: grit: 0.8, charm: 0.1\nPersona 2: grit: 0.3, charm: 0.9")
    assert [a.name for a in req.axes] == ["grit", "charm"]
    assert req.count == 2


def test_count_phrases():
    assert _parse("Please write 12 diverse personas for the study.").count == 12
    assert _parse("Write two new, distinct personas.").count == 2
    assert _parse("Describe somebody.").count == 1
    assert _parse("Write 500 personas").count == 60  # bounded by max_personas


def test_cues_are_distinct_and_negations_count_on_their_side():
    req = _parse(
        DECL
        + "Be vivid, vivid, VIVID and concrete. Do not soften anything. Avoid extremes. Keep it realistic."
    )
    assert req.emphasis == 3  # vivid (once), concrete, do not soften
    assert req.softening == 2  # avoid extremes, realistic
    assert not req.independence
    req = _parse(DECL + "Treat the axes as independent; unexpected combinations are welcome.")
    assert req.independence and req.emphasis == 0 and req.softening == 0


def test_cues_on_target_and_declaration_lines_do_not_count():
    req = _parse("- calm: temper (low = extreme rage; high = realistic calm)\nPersona 1: calm: moderate")
    assert req.emphasis == 0 and req.softening == 0


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from generators.respondent import parse_answer  # noqa: E402
from generators.sim import SimLLM  # noqa: E402

_PIECES = st.sampled_from(
    [
        "Persona 1:",
        "privacy_need: 0.9",
        "risk_taking = very high",
        "- privacy_need: x (low = a; high = b)",
        "Write 7 diverse personas.",
        "[SIMULATED]",
        "When it comes to privacy_need, Ada leans strongly toward the low end.",
        "Expand this persona.",
        "extreme",
        "realistic",
        "3.",
        "%",
        ":",
        "=",
        "\n",
        " ",
        "DESCRIPTION: x",
        "AXES: 9",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=30)), max_size=25), st.integers(0, 2**63 - 1))
def test_sim_persona_role_never_fails_and_always_labels(pieces, seed):
    reply = SimLLM().respond("persona", [{"role": "user", "content": " ".join(pieces)}], seed=seed)
    assert "[SIMULATED" in reply


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.integers(-3, 3), st.integers(1, 9))
def test_parse_answer_is_none_or_on_the_scale(reply, lo, width):
    value = parse_answer(reply, lo, lo + width)
    assert value is None or lo <= value <= lo + width

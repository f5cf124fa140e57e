"""Tests of evolve.proposals.diffs: parsing SEARCH/REPLACE answers and applying them to EVOLVE-BLOCKs."""

from __future__ import annotations

import re
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolve.proposals.diffs import (
    ApplyResult,
    DiffError,
    EditBlock,
    EvolveBlockError,
    apply_edits,
    check_full_rewrite,
    evolve_regions,
    format_blocks,
    parse_blocks,
    parse_full_rewrite,
    unified_diff,
)

PROGRAM = textwrap.dedent(
    """\
    import json

    HEADER = "persona"
    # EVOLVE-BLOCK-START
    TEMPERATURE = 0.9
    BATCH = 5


    def plan(context, n, rng):
        k = len(context.axes)
        if n > 0:
            return rng.random((n, k))
        return None
    # EVOLVE-BLOCK-END


    def helper(x):
        return x + 1


    # EVOLVE-BLOCK-START
    def describe(target):
        text = "Write one persona."
        return text
    # EVOLVE-BLOCK-END
    """
)


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE"


# --------------------------------------------------------------------------- parsing


def test_parse_plain_block():
    blocks = parse_blocks(block("TEMPERATURE = 0.9", "TEMPERATURE = 1.1"))
    assert blocks == [EditBlock("TEMPERATURE = 0.9", "TEMPERATURE = 1.1")]


def test_parse_with_prose_and_fences():
    answer = (
        "I will raise the temperature and the batch.\n\n```python\n"
        + block("TEMPERATURE = 0.9", "TEMPERATURE = 1.1")
        + "\n```\n\nAnd then:\n```\n"
        + block("BATCH = 5", "BATCH = 8")
        + "\n```\nThis should help diversity."
    )
    assert parse_blocks(answer) == [
        EditBlock("TEMPERATURE = 0.9", "TEMPERATURE = 1.1"),
        EditBlock("BATCH = 5", "BATCH = 8"),
    ]


@pytest.mark.parametrize("n", [5, 7, 9])
def test_parse_marker_lengths(n):
    text = f"{'<' * n} SEARCH\na = 1\n{'=' * n}\na = 2\n{'>' * n} REPLACE\n"
    assert parse_blocks(text) == [EditBlock("a = 1", "a = 2")]


def test_parse_mixed_marker_lengths_and_multiline():
    text = "<<<<< SEARCH\ndef f():\n    return 1\n=========\ndef f():\n    return 2\n>>>>>>> REPLACE"
    assert parse_blocks(text) == [EditBlock("def f():\n    return 1", "def f():\n    return 2")]


def test_parse_fence_inside_block_is_dropped():
    text = "<<<<<<< SEARCH\n```python\na = 1\n=======\na = 2\n```\n>>>>>>> REPLACE"
    assert parse_blocks(text) == [EditBlock("a = 1", "a = 2")]


def test_parse_empty_replace_means_deletion():
    blocks = parse_blocks("<<<<<<< SEARCH\na = 1\n=======\n>>>>>>> REPLACE")
    assert blocks == [EditBlock("a = 1", "")]


def test_parse_no_blocks_raises():
    with pytest.raises(DiffError, match="no SEARCH/REPLACE blocks"):
        parse_blocks("I think the program is fine as it is.")


def test_parse_unterminated_block_raises():
    with pytest.raises(DiffError, match="block 1"):
        parse_blocks("<<<<<<< SEARCH\na = 1\n=======\na = 2\n")
    with pytest.raises(DiffError, match="divider"):
        parse_blocks("<<<<<<< SEARCH\na = 1\n")


def test_parse_full_rewrite():
    prog = "def generate(context, n, llm, rng):\n    return []\n"
    assert parse_full_rewrite(f"Here it is:\n```python\n{prog}```\nDone.") == prog
    short = "```python\nx = 1\n```"
    assert parse_full_rewrite(short + f"\n```python\n{prog}```") == prog  # the longest fenced program
    assert parse_full_rewrite(f"```\n{prog}```") == prog  # untagged but defines generate
    assert parse_full_rewrite("```\nx = 1\n```") is None
    assert parse_full_rewrite("no code here") is None
    assert parse_full_rewrite("```python\n" + block("a = 1", "a = 2") + "\n```") is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(
                st.text(alphabet="abcxyz =+()_:0123456789#\t", min_size=1, max_size=20),
                min_size=1,
                max_size=4,
            ),
            st.lists(st.text(alphabet="abcxyz =+()_:0123456789#\t", max_size=20), max_size=4),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_format_then_parse_round_trips(pairs):
    blocks = [EditBlock("\n".join(s), "\n".join(r)) for s, r in pairs]
    # a content line that is itself a marker (e.g. "=====") is ambiguous by construction
    marker = re.compile(r"^\s*(<{5,9}\s*SEARCH|={5,9}|>{5,9}\s*REPLACE)\s*$")
    blocks = [
        b
        for b in blocks
        if b.search.strip() and not any(marker.match(ln) for ln in (b.search + "\n" + b.replace).split("\n"))
    ]
    if not blocks:
        return
    assert parse_blocks(format_blocks(blocks)) == blocks


# --------------------------------------------------------------------------- regions


def test_evolve_regions_line_numbers():
    assert evolve_regions(PROGRAM) == [(4, 14), (21, 25)]


@pytest.mark.parametrize(
    "code, message",
    [
        ("x = 1\n", "no EVOLVE-BLOCK markers"),
        ("# EVOLVE-BLOCK-START\nx = 1\n", "line 1 has no EVOLVE-BLOCK-END"),
        ("x = 1\n# EVOLVE-BLOCK-END\n", "END at line 2 without a START"),
        (
            "# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n",
            "nested EVOLVE-BLOCK-START at line 2",
        ),
    ],
)
def test_evolve_regions_errors(code, message):
    with pytest.raises(EvolveBlockError, match=message):
        evolve_regions(code)


# --------------------------------------------------------------------------- applying


def test_apply_exact():
    res = apply_edits(PROGRAM, [EditBlock("TEMPERATURE = 0.9", "TEMPERATURE = 1.2")])
    assert isinstance(res, ApplyResult)
    assert res.applied == 1 and res.failures == [] and res.ok
    assert res.code == PROGRAM.replace("TEMPERATURE = 0.9", "TEMPERATURE = 1.2")


def test_apply_tolerates_trailing_whitespace():
    res = apply_edits(
        PROGRAM, [EditBlock("TEMPERATURE = 0.9   \nBATCH = 5\t", "TEMPERATURE = 0.7\nBATCH = 5")]
    )
    assert res.ok
    assert "TEMPERATURE = 0.7\nBATCH = 5\n" in res.code


def test_apply_context_with_other_trailing_whitespace_stays_byte_identical():
    code = PROGRAM.replace("# EVOLVE-BLOCK-START\nTEMPERATURE", "# EVOLVE-BLOCK-START  \nTEMPERATURE")
    res = apply_edits(
        code,
        [EditBlock("# EVOLVE-BLOCK-START\nTEMPERATURE = 0.9", "# EVOLVE-BLOCK-START\nTEMPERATURE = 1.0")],
    )
    assert res.ok, res.failures
    assert "# EVOLVE-BLOCK-START  \nTEMPERATURE = 1.0" in res.code


def test_apply_tolerates_blank_line_differences():
    search = "BATCH = 5\ndef plan(context, n, rng):"  # the program has two blank lines in between
    replace = "BATCH = 6\n\n\ndef plan(context, n, rng):"
    res = apply_edits(PROGRAM, [EditBlock(search, replace)])
    assert res.ok, res.failures
    assert "BATCH = 6\n\n\ndef plan(context, n, rng):" in res.code
    assert "BATCH = 5" not in res.code


def test_apply_tolerates_indentation_and_reindents_replace():
    search = "if n > 0:\n    return rng.random((n, k))"  # written at column 0, in the code at 4 spaces
    replace = "if n > 1:\n    k = k + 1\n    return rng.random((n, k))"
    res = apply_edits(PROGRAM, [EditBlock(search, replace)])
    assert res.ok, res.failures
    assert "    if n > 1:\n        k = k + 1\n        return rng.random((n, k))\n    return None" in res.code
    compile(res.code, "<t>", "exec")


def test_apply_deeper_search_indentation_is_reindented_too():
    search = '            text = "Write one persona."\n            return text'
    replace = '            text = "Write one bold persona."\n            return text.strip()'
    res = apply_edits(PROGRAM, [EditBlock(search, replace)])
    assert res.ok, res.failures
    assert '    text = "Write one bold persona."\n    return text.strip()\n' in res.code


def test_apply_ambiguous_is_a_failure():
    code = "# EVOLVE-BLOCK-START\nx = 1\ny = 2\nx = 1\nz = 3\nx = 1\n# EVOLVE-BLOCK-END\n"
    res = apply_edits(code, [EditBlock("x = 1", "x = 9")])
    assert res.applied == 0 and res.code == code
    assert len(res.failures) == 1
    assert "matches 3 places" in res.failures[0].reason
    assert res.failures[0].index == 0


def test_apply_not_found_names_block_index_and_others_still_apply():
    blocks = [EditBlock("BATCH = 5", "BATCH = 7"), EditBlock("GAMMA = 3", "GAMMA = 4")]
    res = apply_edits(PROGRAM, blocks)
    assert res.applied == 1 and not res.ok
    assert "BATCH = 7" in res.code
    (failure,) = res.failures
    assert failure.index == 1  # 0-based position in the sequence
    assert "block 2" in failure.reason and "not found" in failure.reason
    assert failure.search_head == "GAMMA = 3"
    assert "block 2" in str(failure)


def test_apply_outside_block_refused():
    res = apply_edits(PROGRAM, [EditBlock('import json\n\nHEADER = "persona"', 'import os\n\nHEADER = "p"')])
    assert res.applied == 0 and res.code == PROGRAM
    assert res.failures[0].reason == "edits outside EVOLVE-BLOCK (lines 1-3)"


def test_apply_outside_between_blocks_refused():
    res = apply_edits(
        PROGRAM, [EditBlock("def helper(x):\n    return x + 1", "def helper(x):\n    return x + 2")]
    )
    assert res.failures and "edits outside EVOLVE-BLOCK (lines 18-18)" == res.failures[0].reason


def test_apply_span_crossing_block_end_refused():
    search = "    return None\n# EVOLVE-BLOCK-END\n\n\ndef helper(x):"
    replace = "    return None\n# EVOLVE-BLOCK-END\n\n\ndef helper(y):"
    res = apply_edits(PROGRAM, [EditBlock(search, replace)])
    assert res.applied == 0 and "outside EVOLVE-BLOCK" in res.failures[0].reason


def test_apply_marker_removal_refused():
    search = "# EVOLVE-BLOCK-START\nTEMPERATURE = 0.9"
    res = apply_edits(PROGRAM, [EditBlock(search, "TEMPERATURE = 0.9")])
    assert res.applied == 0 and res.code == PROGRAM
    assert "marker" in res.failures[0].reason and "line 4" in res.failures[0].reason


def test_apply_marker_as_unchanged_context_is_fine():
    search = "# EVOLVE-BLOCK-START\nTEMPERATURE = 0.9"
    replace = "# EVOLVE-BLOCK-START\nSEED_SHIFT = 3\nTEMPERATURE = 0.9"
    res = apply_edits(PROGRAM, [EditBlock(search, replace)])
    assert res.ok, res.failures
    assert "# EVOLVE-BLOCK-START\nSEED_SHIFT = 3\nTEMPERATURE = 0.9" in res.code
    assert evolve_regions(res.code) == [(4, 15), (22, 26)]


def test_apply_replace_adding_a_marker_refused():
    replace = "TEMPERATURE = 0.9\n# EVOLVE-BLOCK-END\nimport os\n# EVOLVE-BLOCK-START"
    res = apply_edits(PROGRAM, [EditBlock("TEMPERATURE = 0.9", replace)])
    assert res.applied == 0 and "adds an EVOLVE-BLOCK marker" in res.failures[0].reason


def test_apply_insertion_just_before_end_marker_allowed():
    search = "    return text\n# EVOLVE-BLOCK-END"
    replace = "    return text\n\n\nEXTRA = 1\n# EVOLVE-BLOCK-END"
    res = apply_edits(PROGRAM, [EditBlock(search, replace)])
    assert res.ok, res.failures
    assert res.code.rstrip().endswith("EXTRA = 1\n# EVOLVE-BLOCK-END")


def test_apply_sequential_blocks_see_previous_edits():
    blocks = [EditBlock("BATCH = 5", "BATCH = 6"), EditBlock("BATCH = 6", "BATCH = 7")]
    res = apply_edits(PROGRAM, blocks)
    assert res.ok and "BATCH = 7" in res.code


def test_apply_empty_search_is_reported():
    res = apply_edits(PROGRAM, [EditBlock("", "x = 1")])
    assert res.applied == 0 and res.failures[0].reason == "empty SEARCH section"


def test_apply_no_blocks_and_bad_program():
    with pytest.raises(DiffError, match="no SEARCH/REPLACE blocks"):
        apply_edits(PROGRAM, [])
    with pytest.raises(EvolveBlockError):
        apply_edits("x = 1\n", [EditBlock("x = 1", "x = 2")])


def test_apply_parsed_llm_answer_end_to_end():
    answer = (
        "Two changes.\n```\n"
        + block("TEMPERATURE = 0.9", "TEMPERATURE = 1.3")
        + "\n```\n"
        + block('    text = "Write one persona."', '    text = "Write one blunt, extreme persona."')
    )
    res = apply_edits(PROGRAM, parse_blocks(answer))
    assert res.ok and res.applied == 2
    assert "TEMPERATURE = 1.3" in res.code and "blunt, extreme" in res.code


# --------------------------------------------------------------------------- full rewrite and helpers


def test_check_full_rewrite_accepts_changes_inside_blocks_and_whitespace_outside():
    new = PROGRAM.replace("BATCH = 5", "BATCH = 9\nEXTRA = [1, 2]").replace(
        "import json\n", "import json   \n\n"
    )
    assert check_full_rewrite(PROGRAM, new) is None


def test_check_full_rewrite_rejects_outside_changes():
    reason = check_full_rewrite(PROGRAM, PROGRAM.replace("return x + 1", "return x + 2"))
    assert reason is not None and "outside EVOLVE-BLOCKs" in reason and "return x + 2" in reason
    reason = check_full_rewrite(PROGRAM, PROGRAM.replace("import json\n", "import json\nimport os\n"))
    assert reason is not None and "import os" in reason
    reason = check_full_rewrite(PROGRAM, PROGRAM.replace("def helper(x):\n    return x + 1\n", ""))
    assert reason is not None and "removed" in reason


def test_check_full_rewrite_rejects_marker_changes():
    one_block = PROGRAM.replace("# EVOLVE-BLOCK-END\n\n\ndef helper", "\n\ndef helper", 1).replace(
        "\n\n# EVOLVE-BLOCK-START\ndef describe", "\n\ndef describe", 1
    )
    reason = check_full_rewrite(PROGRAM, one_block)
    assert reason is not None and "1 EVOLVE-BLOCKs" in reason
    reason = check_full_rewrite(PROGRAM, PROGRAM.replace("# EVOLVE-BLOCK-END\n", "", 1))
    assert reason is not None and "markers" in reason


def test_unified_diff_and_format_blocks():
    new = PROGRAM.replace("BATCH = 5", "BATCH = 6")
    diff = unified_diff(PROGRAM, new)
    assert "-BATCH = 5" in diff and "+BATCH = 6" in diff and diff.startswith("--- parent")
    assert unified_diff(PROGRAM, PROGRAM) == ""
    text = format_blocks([EditBlock("a = 1", "a = 2"), EditBlock("b = 1", "")])
    assert text.count("<<<<<<< SEARCH") == 2 and text.count(">>>>>>> REPLACE") == 2
    assert parse_blocks(text) == [EditBlock("a = 1", "a = 2"), EditBlock("b = 1", "")]

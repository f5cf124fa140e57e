import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.identity import ProgramSyntaxError, program_id

BASE = '''
"""Module docstring."""
import math

def generate(context, n, llm, rng):
    """Function docstring."""
    xs = [rng.random() for _ in range(n)]  # a comment
    return [{"name": f"p{i}", "description": str(x)} for i, x in enumerate(xs)]
'''

REFORMATTED = """import math
def generate(context,n,llm,rng):
    # only a comment here
    xs=[rng.random() for _ in range( n )]
    return [{'name': f"p{i}", 'description': str(x)}
            for i, x in enumerate(xs)]
"""


def test_id_ignores_comments_docstrings_formatting():
    assert program_id(BASE) == program_id(REFORMATTED)
    assert len(program_id(BASE)) == 16 and all(c in "0123456789abcdef" for c in program_id(BASE))


def test_id_changes_with_code():
    assert program_id(BASE) != program_id(BASE.replace("rng.random()", "rng.random() * 2"))
    assert program_id(BASE) != program_id(BASE.replace('"p{i}"', '"q{i}"'))


def test_docstring_only_function_still_hashes():
    a = program_id('def f():\n    """doc"""\n')
    b = program_id("def f():\n    pass\n")
    assert a == b


def test_syntax_error_is_clear():
    with pytest.raises(ProgramSyntaxError, match=r"line 1: .*"):
        program_id("def f(:\n  pass")


@settings(max_examples=40, deadline=None)
@given(
    comments=st.lists(st.text(alphabet="abc xyz#!", max_size=20), max_size=5),
    blank=st.integers(0, 3),
)
def test_id_invariant_under_added_comments_and_blank_lines(comments, blank):
    lines = BASE.splitlines()
    extra = ["# " + c for c in comments] + [""] * blank
    mutated = "\n".join(extra + lines + extra) + "\n"
    assert program_id(mutated) == program_id(BASE)

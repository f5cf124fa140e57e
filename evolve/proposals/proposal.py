"""A mutator's proposal, from its answer to a child program the controller may evaluate.

:func:`apply_proposal` turns the answer (SEARCH/REPLACE blocks or a full rewrite) into the
child's code; :func:`screen_child` rejects the child cheaply before it costs an
evaluation; :func:`changed_lines` shows what the child changed (the feedback of truthful
prompts); :func:`proposal_evaluations` finds the proposals' train evaluations in an
archive's event log. None of these needs the controller's state.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

from archive.identity import program_id
from evolve.proposals.checks import Rejection, first_rejection
from evolve.proposals.diffs import apply_edits, check_full_rewrite, parse_blocks, parse_full_rewrite


def apply_proposal(
    parent_code: str, text: str, full_rewrite: bool
) -> tuple[str, Rejection | None, list[str]]:
    """Turn a mutator's answer into the child program.

    Returns (child code, rejection or None, reasons of blocks that failed while others
    applied). A full rewrite must keep everything outside the EVOLVE-BLOCKs."""
    if not text.strip():
        return parent_code, Rejection("no_op", "the mutator proposed no change"), []
    rewrite = parse_full_rewrite(text) if full_rewrite or "<<<<<<<" not in text else None
    if rewrite is not None:
        problem = check_full_rewrite(parent_code, rewrite)
        if problem:
            return parent_code, Rejection("diff_failed", f"full rewrite refused: {problem}"), []
        return rewrite, None, []
    try:
        blocks = parse_blocks(text)
    except Exception as exc:
        return parent_code, Rejection("diff_failed", str(exc).splitlines()[0]), []
    result = apply_edits(parent_code, blocks)
    reasons = [f"block {f.index + 1}: {f.reason}" for f in result.failures]
    if result.applied == 0:
        return parent_code, Rejection("diff_failed", "; ".join(reasons[:3]) or "no block applied"), []
    return result.code, None, reasons[:3]


def screen_child(parent_code: str, child_code: str, *, known: Callable[[str], bool]) -> Rejection | None:
    """The cheap rejection of a child, or None when it is worth an evaluation: unchanged
    (``no_op``, also when only comments or formatting changed), failing a check of
    :func:`evolve.proposals.checks.first_rejection`, or ``duplicate`` when ``known(child id)`` (a
    program already proposed: in flight or in the archive)."""
    if child_code == parent_code:
        return Rejection("no_op", "the edit leaves the program unchanged")
    problem = first_rejection(child_code)
    if problem is not None:
        return problem
    child_id = program_id(child_code)
    if child_id == program_id(parent_code):
        return Rejection("no_op", "the edit changes only comments or formatting")
    if known(child_id):
        return Rejection("duplicate", f"program {child_id[:12]} was already proposed")
    return None


def changed_lines(parent_code: str, child_code: str, *, context: int = 1) -> str:
    """The lines a child changed against its parent, as a short unified diff (no headers)."""
    diff = difflib.unified_diff(parent_code.splitlines(), child_code.splitlines(), lineterm="", n=context)
    return "\n".join(line for line in diff if not line.startswith(("---", "+++")))


def proposal_evaluations(archive: Any) -> list[dict[str, Any]]:
    """The ``evaluated`` events of proposals' full train evaluations, in order (the
    archive also logs ``evaluated`` for smoke and test records; those are left out)."""
    return [e for e in archive.events(kind="evaluated") if (e.get("detail") or {}).get("stage") == "train"]

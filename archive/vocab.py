"""The archive's vocabularies as ``StrEnum``s: stages, run statuses, outcomes, event kinds,
LLM roles, rejection reasons and budget caps.

Every member's value is the exact string stored in the database, so a member compares
equal to the stored text (``Stage.TRAIN == "train"``) and can be passed wherever a plain
string is expected. Databases may hold strings these enums do not know (a newer writer, a
loop-specific event): :func:`coerce` keeps those as plain strings instead of failing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar


class Stage(StrEnum):
    """Evaluation stages, in cascade order."""

    SMOKE = "smoke"
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


class RunStatus(StrEnum):
    """``runs.status``: set by the run command (``running`` until it stops)."""

    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"


class Outcome(StrEnum):
    """What happened to a candidate added to the archive (``inserted``/``evaluated`` detail
    ``status``; counters ``status.<outcome>``). Same values as ``archive.AddStatus``."""

    NEW_CELL = "new_cell"
    IMPROVED = "improved"
    NOT_IMPROVED = "not_improved"
    DUPLICATE = "duplicate"
    FAILED = "failed"


class EventKind(StrEnum):
    """``events.kind``: written by the archive and by the evolution loop."""

    RUN_STARTED = "run_started"
    RUN_RESUMED = "run_resumed"
    RUN_FINISHED = "run_finished"
    SEEDED = "seeded"
    PROPOSED = "proposed"
    DIFF_PARTIAL = "diff_partial"
    INSERTED = "inserted"
    REJECTED = "rejected"
    EVALUATED = "evaluated"
    VALIDATED = "validated"
    MIGRATED = "migrated"
    RESET = "reset"
    RESTORED = "restored"
    """A child that took its island's established best's cell lost its promotion race, and
    the established best got its cell back (``[search] restore_on_loss``); detail
    ``{"cell", "fitness", "displaced"}`` (``displaced``: the race loser)."""
    SANDBOX_WEAK = "sandbox_weak"
    BUDGET_RAISED = "budget_raised"
    """A finished run resumed with a raised cap; detail ``{"from": budget, "to": budget}``."""
    SEARCH_CHANGED = "search_changed"
    """A resume changed the ``[search]`` settings; detail ``{"from": settings, "to": settings}``
    (a later resume keeps the last ``to``)."""
    SEED_FILE_CHANGED = "seed_file_changed"
    """A resume found a seed generator file of the user's changed or gone since the run
    started; the stored code is used. Detail ``{"note": one line}``."""
    BINS_CALIBRATED = "bins_calibrated"
    """Descriptor ranges set from data and frozen for the run (``archive.calibration``);
    detail ``{"at": evaluations, "descriptors": [spec dicts], "elites": count}``."""
    EVALUATION_KILLED = "evaluation_killed"
    """An evaluation task killed at the driver's deadline; detail: the upper-bound estimate
    charged for its uncounted LLM calls (``"estimated": true``)."""


class Role(StrEnum):
    """LLM roles (``llm_calls.role``)."""

    MUTATOR = "mutator"
    PERSONA = "persona"
    RESPONDENT = "respondent"
    AUTHOR = "author"


class RejectReason(StrEnum):
    """Why a proposal never became an archive entry (``rejected`` detail ``reason``;
    counters ``rejected.<reason>``)."""

    DIFF_FAILED = "diff_failed"
    NO_OP = "no_op"
    DUPLICATE = "duplicate"
    COMPILE_ERROR = "compile_error"
    BAD_SIGNATURE = "bad_signature"
    CASCADE = "cascade"
    TWIN = "twin"
    FAILED = "failed"
    SYNTAX = "syntax"


class BudgetCap(StrEnum):
    """The caps of a run's ``[budget]`` (keys of ``run_config["budget"]``)."""

    EVALUATIONS = "evaluations"
    LLM_CALLS = "llm_calls"
    DOLLARS = "dollars"
    MINUTES = "minutes"


E = TypeVar("E", bound=StrEnum)


def coerce(enum: type[E], value: object) -> E | str:
    """``value`` as a member of ``enum`` when it names one, else the plain string (so an
    unknown kind read from a database is kept, not an error)."""
    text = str(value)
    try:
        return enum(text)
    except ValueError:
        return text

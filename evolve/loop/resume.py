"""Continuing a run from its archive (``persona-evolve run --resume``).

A failed or interrupted run resumes; a finished one only when a budget cap was raised
(logged as a ``budget_raised`` event). The stored config is kept, except the budget (and
Ray address) from the command line, the ``[search]`` table of a config file (a change is
logged as a ``search_changed`` event) and the final stage's world settings; the settings
of :data:`RESUME_CHECKED` may not change. :func:`reopen_for_resume` is what
:func:`evolve.loop.run.execute_run` calls; :func:`_prior_spend` is what earlier sessions
spent, for the budget.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

from archive import Archive
from archive.dbpath import archive_path_problem
from archive.runhistory import budget_in_force, killed_charges, section_in_force
from evolve.budget.caps import Spend
from evolve.config import ConfigError, RunConfig, config_from_dict, config_to_dict
from evolve.loop.errors import NothingToDo, RunError
from evolve.proposals.proposal import proposal_evaluations


def _prior_spend(archive: Any) -> Spend:
    """What earlier sessions spent: counted calls plus the upper bounds charged for killed
    evaluations (whose calls could not be counted)."""
    evaluated = proposal_evaluations(archive)
    spend = archive.spend_by_role()
    killed_calls, killed_dollars = killed_charges(
        [e.get("detail") or {} for e in archive.events(kind="evaluation_killed")]
    )
    return Spend(
        evaluations=len(evaluated),
        llm_calls=int(sum(r.get("calls", 0) - r.get("cached", 0) for r in spend.values())) + killed_calls,
        dollars=float(sum(r.get("cost_usd", 0.0) for r in spend.values())) + killed_dollars,
        seconds=max((float((e.get("detail") or {}).get("elapsed_s", 0.0)) for e in evaluated), default=0.0),
    )


RESUME_CHECKED = ("evaluation.n", "contexts", "cascade.screen_contexts", "fitness", "archive", "world.preset")
"""Settings a resume must not change (they define what the stored scores mean). The
``[search]`` switches are not among them: they decide how the evaluations still to come are
seeded, raced, chosen and prompted, while every stored score keeps its meaning (a replicate-0
train fitness on the same contexts), so a resume may change them."""


def _merge_resume_config(
    stored: Mapping[str, Any], override: RunConfig, overridden: frozenset[str] | set[str]
) -> RunConfig:
    """The stored config of the run, with the budget (and Ray address) from the command
    line when given and the ``[search]`` table of a config file when one is given: a resumed
    run keeps its contexts, models, islands and seed. A
    setting of :data:`RESUME_CHECKED` given (by flag or config file) with a different value
    is refused in one line listing every difference."""
    cascade = stored.get("cascade")
    stored_cascade: Mapping[str, Any] = cascade if isinstance(cascade, Mapping) else {}
    if (
        stored_cascade.get("screen_contexts") is None
    ):  # a run stored before screening scored on every train context
        stored = {**stored, "cascade": {**stored_cascade, "screen_contexts": 0}}
    config = config_from_dict(stored)
    diffs = []
    for path in RESUME_CHECKED:
        if (
            path not in overridden
            and path.split(".")[0] not in overridden
            and "config_file" not in overridden
        ):
            continue
        old, new = _get_path(config, path), _get_path(override, path)
        if old != new:
            diffs.append(f"{path} stored {_short(old)}, given {_short(new)}")
    if diffs:
        raise RunError(
            "--resume refused: settings differ from the stored run: "
            + "; ".join(diffs)
            + " (start a new run with another --db to change them)"
        )
    if "budget" in overridden:
        config = dataclasses.replace(config, budget=override.budget)
    if (
        "search" in overridden or "config_file" in overridden
    ):  # a config file states its [search] (or the defaults)
        config = dataclasses.replace(config, search=override.search)
    if "world" in overridden or "config_file" in overridden:  # robust selection is the final stage's choice
        config = dataclasses.replace(
            config,
            world=dataclasses.replace(
                config.world,
                validate=override.world.validate,
                validate_replicates=override.world.validate_replicates,
            ),
        )
    return dataclasses.replace(
        config,
        ray=override.ray,
        db=override.db,
        out_dir=override.out_dir if "out_dir" in overridden else None,
    )


def _get_path(config: Any, path: str) -> Any:
    for part in path.split("."):
        config = getattr(config, part)
    return config_to_dict(config)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _stored_budget(archive: Any) -> dict[str, Any]:
    """The budget in force: the last ``budget_raised`` event's, else the stored config's."""
    raised = [e.get("detail") or {} for e in archive.events(kind="budget_raised")]
    return budget_in_force(archive.run_info()["run_config"], raised)


def _search_in_force(archive: Any, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The stored run config with the ``[search]`` settings in force: the last
    ``search_changed`` event's ``to``, else the stored config's (a run stored before the
    ``[search]`` table existed has none and used the defaults)."""
    changes = [e.get("detail") or {} for e in archive.events(kind="search_changed")]
    search = section_in_force(stored, "search", changes)
    return {**stored, "search": search} if search else dict(stored)


def _changed_search(stored: Mapping[str, Any], config: RunConfig) -> dict[str, Any] | None:
    """The search settings in force before this resume when ``config`` changes them, else None."""
    before = config_from_dict(stored).search
    return None if before == config.search else config_to_dict(before)


def _budget_raised(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True when some cap of ``new`` allows more than ``old`` (a removed cap counts)."""
    for key, was in old.items():
        now = new.get(key)
        if was is not None and (now is None or now > was):
            return True
    return False


def _open_for_resume(db: Path) -> Any:
    """The archive at ``db`` opened for writing, or a one-line :class:`RunError`."""
    from archive.migrations import SchemaError
    from archive.store import ArchiveLockedError

    problem = archive_path_problem(db)  # the readers' check: nothing is opened (or locked) before it
    if problem is not None:
        raise RunError(f"--resume: {problem}")
    try:
        return Archive.open(url_or_path=str(db))
    except ArchiveLockedError:
        raise RunError(
            f"--resume: {db} is in use by another run (locked); wait for it or stop it first"
        ) from None
    except SchemaError as exc:
        raise RunError(f"--resume: {db}: {str(exc).splitlines()[0]}") from None
    except LookupError:
        raise RunError(f"--resume: {db} holds no run") from None
    except PermissionError:
        raise RunError(f"--resume: {db}: permission denied (a writable archive is needed)") from None
    except Exception as exc:  # noqa: BLE001 - sqlite/sqlalchemy errors of a corrupt or foreign file
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        cause = text[0] if text else type(exc).__name__
        raise RunError(f"--resume: {db} is not a readable persona-evolve archive ({cause})") from None


def reopen_for_resume(
    db: Path, config: RunConfig, overridden: frozenset[str] | set[str]
) -> tuple[Any, RunConfig, dict[str, Any] | None, dict[str, Any] | None]:
    """Reopen the archive at ``db`` to continue its run: ``(archive, config, raised_from,
    search_from)``. ``config`` is the stored run's (:func:`_merge_resume_config`), with the
    budget, ``[search]`` and final-stage settings given now; ``raised_from`` is the budget
    in force before this resume when a finished run's cap was raised (else None),
    ``search_from`` the search settings before this resume when they change (else None).
    Raises :class:`RunError` (one line: tampered programs, a changed setting, an unreadable
    archive) or :class:`NothingToDo` (a finished run whose budget was not raised); the
    archive is closed when it raises."""
    raised_from: dict[str, Any] | None = None
    search_from: dict[str, Any] | None = None
    archive = _open_for_resume(db)
    try:
        tampered = archive.tampered_programs()
        if tampered:
            raise RunError(
                f"--resume refused: {tampered[0]}"
                + (f" (and {len(tampered) - 1} more)" if len(tampered) > 1 else "")
            )
        info = archive.run_info()
        try:
            stored = _search_in_force(archive, info["run_config"])
            config = _merge_resume_config(stored, config, overridden)
            search_from = _changed_search(stored, config)
        except ConfigError as exc:
            raise RunError(f"--resume: the stored config is not valid here: {exc}") from None
        if info["status"] == "finished":
            old = _stored_budget(archive)
            new = config_to_dict(config.budget)
            if "budget" not in overridden or not _budget_raised(old, new):
                raise NothingToDo(
                    f"run already finished (status finished) in {db}; nothing to do. "
                    f"Raise a --budget-* cap to continue it."
                )
            raised_from = old
    except BaseException:
        archive.close()
        raise
    return archive, config, raised_from, search_from

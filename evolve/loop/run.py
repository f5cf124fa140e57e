"""One evolution run from config to report: the body of ``persona-evolve run``.

Checks everything it can before writing anything (contexts, sandbox, one pre-flight
call per model, the Ray address), creates (or, with ``resume``, reopens) the archive,
starts or joins Ray, seeds the archive with the three seed programs, runs the controller
until a budget cap, then evaluates the champion and the seeds once on the test contexts
and writes the report next to the database.

A run's status tells the truth: ``finished`` only when it stopped at a budget cap (or
was asked to stop and completed its report); ``interrupted`` on Ctrl-C / SIGTERM;
``failed`` with its cause (a ``run_failed`` event) when an error ended it. Failed and
interrupted runs resume; a finished one resumes only when a budget cap was raised (the
raise is logged as a ``budget_raised`` event). A resume given a config file takes its
``[search]`` table (a change is logged as a ``search_changed`` event and kept by later
resumes); without one, the search settings in force are kept.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import errno
import signal
import sqlite3
from pathlib import Path
from typing import Any, Mapping

from archive import Archive
from archive.dbpath import archive_path_problem
from archive.records import ArchiveConfig
from archive.vocab import EventKind
from evolve.budget.caps import AllowanceGate, RunBudget
from evolve.common.context_sets import ContextSets
from evolve.common.seed_programs import SeedProgramError, resume_seed_programs, seed_key
from evolve.config import RunConfig, config_to_dict, resolve_screen
from evolve.execution.evaluator import RayEvaluator
from evolve.execution.ray_runtime import RayUnreachable, check_address, init_ray
from evolve.execution.worker_config import worker_spec
from evolve.loop.controller import Controller
from evolve.loop.errors import NothingToDo, RunError
from evolve.loop.final_stage import _robust_stage, _summary, run_references
from evolve.loop.pace import expectation, measured_seeding
from evolve.loop.resume import _prior_spend, reopen_for_resume
from evolve.outputs.labels import RUN_ROLES, simulated_roles, simulation_label, weak_sandbox_note
from evolve.outputs.progress import Progress
from generators.context_loader import ContextError, resolve_contexts


def default_db_path(now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / stamp / "archive.db"


def sandbox_weakness(config: RunConfig) -> list[str]:
    """The kernel isolation layers this machine lacks ([] when the sandbox is complete).
    Raises :class:`RunError` (one line) when some are missing and the run did not opt into
    ``evaluation.weak_sandbox``: LLM-written programs are never run half-isolated by default."""
    from generators.sandbox import isolation_report

    report = isolation_report()
    missing = list(report.get("missing") or [])
    if report.get("error") and not missing:
        raise RunError(f"sandbox: the isolation probe failed: {report['error']}")
    if missing and not config.evaluation.weak_sandbox:
        raise RunError(
            f"sandbox: this kernel lacks {', '.join(missing)}; LLM-written programs are not evaluated "
            f"without --weak-sandbox (or evaluation.weak_sandbox = true)"
        )
    return missing


def archive_config(config: RunConfig) -> ArchiveConfig:
    isl = config.islands
    return ArchiveConfig(
        islands=isl.count,
        descriptors=config.archive.descriptors,
        calibrate_after=config.archive.calibrate_after,
        migration_interval=isl.migration_interval,
        migration_count=isl.migration_count,
        stagnation_evals=isl.stagnation,
        reset_fraction=isl.reset_fraction,
    )


def load_context_sets(config: RunConfig) -> ContextSets:
    """The run's train/validation/test contexts; a bad file or id is a :class:`RunError`
    naming the first problem (``contexts validate`` lists them all)."""
    stages = {}
    for stage in ("train", "validation", "test"):
        refs = getattr(config.contexts, stage)
        try:
            stages[stage] = resolve_contexts(refs)
        except ContextError as exc:
            problems = exc.problems or [str(exc)]
            more = (
                f" (and {len(problems) - 1} more; see 'persona-evolve contexts validate')"
                if len(problems) > 1
                else ""
            )
            raise RunError(f"contexts.{stage}: {problems[0]}{more}") from None
    try:
        return ContextSets.build(
            stages["train"],
            stages["validation"],
            stages["test"],
            smoke=config.cascade.smoke_contexts,
            seed=config.seed,
            screen=resolve_screen(config).cascade.screen_contexts or 0,
        )
    except ValueError as exc:
        raise RunError(f"contexts: {exc}") from None


def _build_mutator(config: RunConfig) -> tuple[Any, Any]:
    """(mutator, driver client or None). ``sim`` uses the offline GP operator."""
    role = config.models.mutator
    if role.model == "sim":
        from evolve.mutators.offline import OfflineMutator

        return OfflineMutator(), None
    from evolve.mutators.llm_mutator import LLMMutator
    from generators.llm import build_client

    client = build_client({"mutator": role})
    return LLMMutator(
        client=client,
        model_label=role.model,
        temperature=role.temperature,
        max_tokens=role.max_tokens or 4096,
    ), client


def _check_models(config: RunConfig) -> list[dict[str, Any]]:
    """Pre-flight every real model the run uses; a failure is one :class:`RunError` line."""
    from generators.llm.preflight import PreflightError, preflight

    models = {role: getattr(config.models, role) for role in RUN_ROLES}
    try:
        return preflight(models)
    except PreflightError as exc:
        raise RunError(str(exc)) from None
    except ValueError as exc:  # a ModelConfig out of range
        raise RunError(f"models: {exc}") from None


def _disk_error(exc: BaseException) -> str | None:
    """A one-line cause when ``exc`` is a disk or permission problem, else None."""
    cur: BaseException | None = exc
    for _ in range(6):
        if cur is None:
            break
        if isinstance(cur, OSError) and cur.errno in (errno.ENOSPC, errno.EDQUOT):
            return "the disk is full"
        if isinstance(cur, OSError) and cur.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return f"cannot write ({cur.strerror})"
        text = str(cur).lower()
        if "database or disk is full" in text:
            return "the disk is full"
        if "readonly database" in text or "read-only" in text:
            return "cannot write (read-only)"
        cur = cur.__cause__ or cur.__context__ or getattr(cur, "orig", None)
    return None


def execute_run(
    config: RunConfig,
    *,
    resume: bool = False,
    overridden: frozenset[str] | set[str] = frozenset(),
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run (or resume) an evolution run; return the summary printed by ``--json``.

    Raises :class:`RunError` (one line) for anything that stops it before or while it
    runs (the archive is then marked ``failed`` when it exists), :class:`NothingToDo`
    when resuming a finished run whose budget was not raised."""
    db = Path(config.db) if config.db else default_db_path()
    config = resolve_screen(config)
    archive = None
    raised_from: dict[str, Any] | None = None
    search_from: dict[str, Any] | None = None
    if resume:
        archive, config, raised_from, search_from = reopen_for_resume(db, config, overridden)
    else:
        if db.exists():
            problem = archive_path_problem(db)
            if problem is not None:  # a folder or a stray file: say what it is, not "use --resume"
                raise RunError(f"--db: {problem}")
            raise RunError(f"{db} already exists: use --resume to continue it, or another --db")
    out_dir = Path(config.out_dir) if config.out_dir else db.parent
    config = dataclasses.replace(config, db=str(db), out_dir=str(out_dir))
    try:
        contexts = load_context_sets(config)  # before anything is written
        seeds, notes = _load_seeds(config, archive, resume)
        weak = sandbox_weakness(config)
        preflight_calls = _check_models(config)
        if config.ray.address:
            check_address(config.ray.address)
        if not resume:
            try:
                db.parent.mkdir(parents=True, exist_ok=True)
                archive = Archive.create(
                    url_or_path=str(db),
                    config=archive_config(config),
                    run_config=config_to_dict(config),
                    seed=config.seed,
                    versions=_versions(),
                )
            except (OSError, sqlite3.Error, Exception) as exc:  # noqa: BLE001 - one line, whatever the layer
                cause = _disk_error(exc) or str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                raise RunError(f"cannot create the archive {db}: {cause}") from None
    except RayUnreachable as exc:
        if archive is not None:
            archive.close()
        raise RunError(str(exc)) from None
    except BaseException:
        if archive is not None:
            archive.close()
        raise
    assert archive is not None  # every path above either opened it or raised
    if raised_from is not None:
        archive.record_event(
            "budget_raised", detail={"from": raised_from, "to": config_to_dict(config.budget)}
        )
    if search_from is not None:
        archive.record_event(
            "search_changed", detail={"from": search_from, "to": config_to_dict(config.search)}
        )
    if preflight_calls:
        archive.record_llm_calls(preflight_calls)
    try:
        return _execute(
            config,
            archive,
            db,
            out_dir,
            contexts,
            weak,
            resume=resume,
            progress=progress,
            preflight_calls=len(preflight_calls) if not resume else 0,
            seeds=seeds,
            notes=notes,
        )
    except (KeyboardInterrupt, NothingToDo):
        raise
    except BaseException as exc:
        if isinstance(exc, SystemExit) and exc.code in (signal.SIGTERM, 128 + signal.SIGTERM):
            # SIGTERM before our handler was in place (Ray's own handler exits with 15): a stop
            _mark_interrupted(archive)
            raise KeyboardInterrupt from None
        disk = _disk_error(exc)
        if disk is None:
            text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, RunError) else str(exc)
        cause = disk if disk is not None else (text.strip().splitlines() or [type(exc).__name__])[0]
        _mark_failed(archive, cause)
        raise RunError(
            f"run failed: {cause} (the archive is marked failed; continue with "
            f"persona-evolve run --db {db} --resume)"
        ) from None


def _mark_interrupted(archive: Any) -> None:
    """Mark the run ``interrupted`` (it resumes); best effort."""
    try:
        archive.set_run_status("interrupted")
    except Exception:  # noqa: BLE001 - already closed, or the disk failed
        pass
    try:
        archive.close()
    except Exception:  # noqa: BLE001
        pass


def _mark_failed(archive: Any, cause: str) -> None:
    """Mark the run ``failed`` with its cause; best effort (the disk may be what failed)."""
    try:
        archive.set_run_status("failed")
        archive.record_event("run_failed", detail={"cause": cause[:500]})
    except Exception:  # noqa: BLE001 - nothing more can be written
        pass
    try:
        archive.close()
    except Exception:  # noqa: BLE001
        pass


def _load_seeds(config: RunConfig, archive: Any, resume: bool) -> tuple[dict[str, str], list[str]]:
    """The run's seed programs (``label -> code``) and notes: read once here, at the start
    of a run; a resume takes a user's file from the archive (see
    :func:`evolve.common.seed_programs.resume_seed_programs`). A bad one is a one-line RunError."""
    try:  # [seeds] programs: shipped seeds, Concordia generator classes, the user's own files
        stored = {p.label: p.code for p in archive.seeds() if p.label} if resume else {}
        return resume_seed_programs(config.seeds.programs, stored)
    except SeedProgramError as exc:
        raise RunError(str(exc)) from None


def _execute(
    config: RunConfig,
    archive: Any,
    db: Path,
    out_dir: Path,
    contexts: ContextSets,
    weak: list[str],
    *,
    resume: bool,
    progress: Progress | None,
    preflight_calls: int,
    seeds: Mapping[str, str],
    notes: list[str],
) -> dict[str, Any]:
    sim_roles = simulated_roles(config)
    simulated = bool(sim_roles)
    label = simulation_label(sim_roles, config.world.preset)
    progress = progress or Progress(
        simulated=simulated, label=label, respondent_in_process=config.models.respondent.model == "sim"
    )
    if label:
        progress.note(label, style="bold yellow")
    progress.note(f"archive: {db}")
    if weak:
        progress.note(weak_sandbox_note(weak), style="bold red")
        archive.record_event("sandbox_weak", detail={"missing": list(weak)})  # every later output says so

    try:
        resources = init_ray(
            address=config.ray.address,
            num_cpus=config.ray.num_cpus,
            object_store_mb=config.ray.object_store_mb,
            pass_env=config.ray.pass_env,
        )
    except RayUnreachable as exc:
        raise RunError(str(exc)) from None
    cpus = max(1, int(resources.get("CPU", config.ray.num_cpus)))
    budget = RunBudget(
        evaluations=config.budget.evaluations,
        llm_calls=config.budget.llm_calls,
        dollars=config.budget.dollars,
        minutes=config.budget.minutes,
        prior=_prior_spend(archive) if resume else None,
    )
    if preflight_calls:
        budget.add_calls(preflight_calls, 0.0)
    max_in_flight = config.ray.max_in_flight or 2 * cpus
    gate = AllowanceGate(budget, slots=max_in_flight, final_contexts=len(contexts.test) * 4)
    evaluator = RayEvaluator(
        spec=worker_spec(config), contexts=contexts.by_id(), max_in_flight=max_in_flight, gate=gate
    )
    mutator, driver_client = _build_mutator(config)

    def driver_calls() -> list[dict[str, Any]]:
        if driver_client is None:
            return []
        return [r if isinstance(r, dict) else dataclasses.asdict(r) for r in driver_client.drain_records()]

    controller = Controller(
        config=config,
        archive=archive,
        mutator=mutator,
        evaluator=evaluator,
        contexts=contexts,
        budget=budget,
        driver_calls=driver_calls,
        on_change=progress.update,
    )
    if hasattr(mutator, "pressure"):
        mutator.pressure = lambda: getattr(controller, "rejections_in_row", 0)
    for note in notes:  # a resumed run never re-reads a user's file silently
        progress.note(note, style="bold yellow")
        archive.record_event(EventKind.SEED_FILE_CHANGED, detail={"note": note})

    async def main() -> dict[str, Any]:
        seed_ids, pace = await measured_seeding(controller, seeds)  # what to expect on this machine
        expect = expectation(pace, minutes=config.budget.minutes, evaluations=config.budget.evaluations)
        if expect:
            progress.note(expect["line"])
        if not archive.top(1):
            errors = [
                ev.error for label in seed_ids.values() for ev in archive.evaluations(label) if ev.error
            ]
            raise RunError(
                "the seed programs failed on every context"
                + (f"; first error: {errors[0]}" if errors else "")
            )
        with progress:
            reason = await controller.evolve()
        progress.note(f"stopped: budget reached ({reason})")
        gate.final_stage = True
        robust = await _robust_stage(config, controller, contexts, max_in_flight, gate, seed_ids, progress)
        champion = archive.champion()
        finals = {"champion": champion.id} if champion else {}
        finals.update({seed_key(label): pid for label, pid in seed_ids.items()})
        test = await controller.evaluate_final(finals)
        out = _summary(archive, db, champion, seed_ids, test, controller, simulated)
        out["simulated_roles"] = sim_roles
        out["world"] = config.world.preset if sim_roles else None
        if robust is not None:
            out["robust"] = {
                "worlds": list(robust.worlds),
                "chosen": robust.chosen,
                "incumbent": robust.incumbent,
                "worst_world_gain": robust.worst[robust.chosen],
            }
        if label:
            out["simulation"] = label
        out["references"] = run_references(config, contexts)
        out["expect"] = expect
        if notes:
            out["seed_notes"] = notes
        if weak:
            out["weak_sandbox"] = weak
        return out

    archive.set_run_status("running")
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        summary = asyncio.run(main())
    except KeyboardInterrupt:
        archive.set_run_status("interrupted")
        archive.close()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    from evolve.outputs.report.writer import write_report

    archive.set_run_status("finished")  # first: the report describes the run as it ended
    try:
        summary["report"] = str(write_report(archive, summary, out_dir=out_dir, contexts=contexts))
    except (
        KeyboardInterrupt
    ):  # stopped before its report: not finished (an error is marked failed by the caller)
        archive.set_run_status("interrupted")
        archive.close()
        raise
    archive.close()
    return summary


def _raise_interrupt(signum: int, frame: Any) -> None:
    """SIGTERM handler: stop like Ctrl-C (the archive keeps everything committed)."""
    raise KeyboardInterrupt


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("persona-evolve", "litellm", "ray", "numpy", "scipy", "sqlalchemy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out

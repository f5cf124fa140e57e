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
from archive.runhistory import budget_in_force, killed_charges, section_in_force
from archive.vocab import EventKind
from evolve.budget import AllowanceGate, RunBudget, Spend
from evolve.config import ConfigError, RunConfig, config_from_dict, config_to_dict, replace_path, resolve_screen
from evolve.contexts import ContextSets
from evolve.controller import Controller
from evolve.evaluator import RayEvaluator
from evolve.pace import expectation, measured_seeding
from evolve.progress import Progress
from evolve.proposals import proposal_evaluations
from evolve.ray_runtime import RayUnreachable, check_address, init_ray
from evolve.workers import WorkerSpec
from generators.context_loader import ContextError, resolve_contexts
from generators.evaluation import EvalSettings
from generators.sandbox import SandboxLimits
from evolve.seed_programs import SeedProgramError, resume_seed_programs, seed_key
from evolve.spend import spend_of


class RunError(RuntimeError):
    """A run cannot start or continue; the message says why in one line."""


class NothingToDo(RunError):
    """A resume that has nothing to do (the run is finished and no cap was raised)."""


RUN_ROLES: tuple[str, ...] = ("mutator", "persona", "respondent")
"""The roles a run calls (``author`` only drafts contexts, never during a run)."""


def simulated_roles(config: RunConfig) -> list[str]:
    """The roles the run actually uses that run on the simulated world (``sim``)."""
    return [role for role in RUN_ROLES if getattr(config.models, role).model == "sim"]


def simulation_label(roles: list[str], world: str = "default") -> str:
    """One line saying which parts of a run are simulated ("" when none is), naming the
    simulated world when it is not the default."""
    if not roles:
        return ""
    where = "" if world == "default" else f", world '{world}'"
    if len(roles) == len(RUN_ROLES):
        # under 80 columns with the default world (the live panel's banner must not wrap)
        return f"SIMULATED WORLD (model 'sim'{where}), every role: a test bed, not a real LLM"
    parts = []
    if "mutator" in roles:
        parts.append("mutator = offline operator (no LLM)")
    scoring = [r for r in roles if r != "mutator"]
    if scoring:
        parts.append(f"{' and '.join(scoring)} = SIMULATED (model 'sim'{where}): scores are not a real model's")
    real = [r for r in RUN_ROLES if r not in roles]
    return f"SIMULATED roles: {'; '.join(parts)}; real model for {', '.join(real)}"


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
        raise RunError(f"sandbox: this kernel lacks {', '.join(missing)}; LLM-written programs are not evaluated "
                       f"without --weak-sandbox (or evaluation.weak_sandbox = true)")
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


def worker_spec(config: RunConfig) -> WorkerSpec:
    ev = config.evaluation
    cache = None
    if not (config.models.persona.model == "sim" and config.models.respondent.model == "sim"):
        cache = str(Path.home() / ".cache" / "persona-evolve" / "responses.sqlite")
    return WorkerSpec(
        persona=config.models.persona,
        respondent=config.models.respondent,
        settings=EvalSettings(
            n=ev.n,
            mc_samples=ev.mc_samples,
            limits=SandboxLimits(wall_timeout_s=ev.timeout_s, cpu_time_s=int(ev.timeout_s) + 5,
                                 memory_mb=ev.memory_mb, disk_mb=ev.disk_mb,
                                 max_completion_tokens=ev.max_completion_tokens, allow_weak_isolation=ev.weak_sandbox),
            parallel=ev.parallel,
        ),
        respondent_per_axis=ev.respondent_per_axis,
        respondent_mode=ev.effective_respondent_mode,
        cache_path=cache,
        world=config.world.preset,
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
            more = f" (and {len(problems) - 1} more; see 'persona-evolve contexts validate')" if len(problems) > 1 else ""
            raise RunError(f"contexts.{stage}: {problems[0]}{more}") from None
    try:
        return ContextSets.build(stages["train"], stages["validation"], stages["test"],
                                 smoke=config.cascade.smoke_contexts, seed=config.seed,
                                 screen=resolve_screen(config).cascade.screen_contexts or 0)
    except ValueError as exc:
        raise RunError(f"contexts: {exc}") from None


def _build_mutator(config: RunConfig) -> tuple[Any, Any]:
    """(mutator, driver client or None). ``sim`` uses the offline GP operator."""
    role = config.models.mutator
    if role.model == "sim":
        from evolve.mutators.offline import OfflineMutator

        return OfflineMutator(), None
    from generators.llm import build_client
    from evolve.llm_mutator import LLMMutator

    client = build_client({"mutator": role})
    return LLMMutator(client=client, model_label=role.model, temperature=role.temperature,
                      max_tokens=role.max_tokens or 4096), client


def _prior_spend(archive: Any) -> Spend:
    """What earlier sessions spent: counted calls plus the upper bounds charged for killed
    evaluations (whose calls could not be counted)."""
    evaluated = proposal_evaluations(archive)
    spend = archive.spend_by_role()
    killed_calls, killed_dollars = killed_charges(
        [e.get("detail") or {} for e in archive.events(kind="evaluation_killed")])
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


def _merge_resume_config(stored: Mapping[str, Any], override: RunConfig,
                         overridden: frozenset[str] | set[str]) -> RunConfig:
    """The stored config of the run, with the budget (and Ray address) from the command
    line when given and the ``[search]`` table of a config file when one is given: a resumed
    run keeps its contexts, models, islands and seed. A
    setting of :data:`RESUME_CHECKED` given (by flag or config file) with a different value
    is refused in one line listing every difference."""
    cascade = stored.get("cascade")
    stored_cascade: Mapping[str, Any] = cascade if isinstance(cascade, Mapping) else {}
    if stored_cascade.get("screen_contexts") is None:  # a run stored before screening scored on every train context
        stored = {**stored, "cascade": {**stored_cascade, "screen_contexts": 0}}
    config = config_from_dict(stored)
    diffs = []
    for path in RESUME_CHECKED:
        if path not in overridden and path.split(".")[0] not in overridden and "config_file" not in overridden:
            continue
        old, new = _get_path(config, path), _get_path(override, path)
        if old != new:
            diffs.append(f"{path} stored {_short(old)}, given {_short(new)}")
    if diffs:
        raise RunError("--resume refused: settings differ from the stored run: " + "; ".join(diffs)
                       + " (start a new run with another --db to change them)")
    if "budget" in overridden:
        config = dataclasses.replace(config, budget=override.budget)
    if "search" in overridden or "config_file" in overridden:  # a config file states its [search] (or the defaults)
        config = dataclasses.replace(config, search=override.search)
    if "world" in overridden or "config_file" in overridden:  # robust selection is the final stage's choice
        config = dataclasses.replace(config, world=dataclasses.replace(
            config.world, validate=override.world.validate, validate_replicates=override.world.validate_replicates))
    return dataclasses.replace(config, ray=override.ray, db=override.db,
                               out_dir=override.out_dir if "out_dir" in overridden else None)


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
        raise RunError(f"--resume: {db} is in use by another run (locked); wait for it or stop it first") from None
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


def execute_run(config: RunConfig, *, resume: bool = False, overridden: frozenset[str] | set[str] = frozenset(),
                progress: Progress | None = None) -> dict[str, Any]:
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
        archive = _open_for_resume(db)
        try:
            tampered = archive.tampered_programs()
            if tampered:
                raise RunError(f"--resume refused: {tampered[0]}" + (f" (and {len(tampered) - 1} more)" if len(tampered) > 1 else ""))
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
                    raise NothingToDo(f"run already finished (status finished) in {db}; nothing to do. "
                                      f"Raise a --budget-* cap to continue it.")
                raised_from = old
        except BaseException:
            archive.close()
            raise
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
                archive = Archive.create(url_or_path=str(db), config=archive_config(config),
                                         run_config=config_to_dict(config), seed=config.seed,
                                         versions=_versions())
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
        archive.record_event("budget_raised", detail={"from": raised_from, "to": config_to_dict(config.budget)})
    if search_from is not None:
        archive.record_event("search_changed", detail={"from": search_from, "to": config_to_dict(config.search)})
    if preflight_calls:
        archive.record_llm_calls(preflight_calls)
    try:
        return _execute(config, archive, db, out_dir, contexts, weak, resume=resume, progress=progress,
                        preflight_calls=len(preflight_calls) if not resume else 0, seeds=seeds, notes=notes)
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
        raise RunError(f"run failed: {cause} (the archive is marked failed; continue with "
                       f"persona-evolve run --db {db} --resume)") from None


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
    :func:`evolve.seed_programs.resume_seed_programs`). A bad one is a one-line RunError."""
    try:  # [seeds] programs: shipped seeds, Concordia generator classes, the user's own files
        stored = {p.label: p.code for p in archive.seeds() if p.label} if resume else {}
        return resume_seed_programs(config.seeds.programs, stored)
    except SeedProgramError as exc:
        raise RunError(str(exc)) from None


def _execute(config: RunConfig, archive: Any, db: Path, out_dir: Path, contexts: ContextSets, weak: list[str], *,
             resume: bool, progress: Progress | None, preflight_calls: int,
             seeds: Mapping[str, str], notes: list[str]) -> dict[str, Any]:
    sim_roles = simulated_roles(config)
    simulated = bool(sim_roles)
    label = simulation_label(sim_roles, config.world.preset)
    progress = progress or Progress(simulated=simulated, label=label,
                                    respondent_in_process=config.models.respondent.model == "sim")
    if label:
        progress.note(label, style="bold yellow")
    progress.note(f"archive: {db}")
    if weak:
        progress.note(f"WEAK SANDBOX: programs run without {', '.join(weak)} (--weak-sandbox)", style="bold red")
        archive.record_event("sandbox_weak", detail={"missing": list(weak)})  # every later output says so

    try:
        resources = init_ray(address=config.ray.address, num_cpus=config.ray.num_cpus,
                             object_store_mb=config.ray.object_store_mb, pass_env=config.ray.pass_env)
    except RayUnreachable as exc:
        raise RunError(str(exc)) from None
    cpus = max(1, int(resources.get("CPU", config.ray.num_cpus)))
    budget = RunBudget(evaluations=config.budget.evaluations, llm_calls=config.budget.llm_calls,
                       dollars=config.budget.dollars, minutes=config.budget.minutes,
                       prior=_prior_spend(archive) if resume else None)
    if preflight_calls:
        budget.add_calls(preflight_calls, 0.0)
    max_in_flight = config.ray.max_in_flight or 2 * cpus
    gate = AllowanceGate(budget, slots=max_in_flight, final_contexts=len(contexts.test) * 4)
    evaluator = RayEvaluator(spec=worker_spec(config), contexts=contexts.by_id(),
                             max_in_flight=max_in_flight, gate=gate)
    mutator, driver_client = _build_mutator(config)

    def driver_calls() -> list[dict[str, Any]]:
        if driver_client is None:
            return []
        return [r if isinstance(r, dict) else dataclasses.asdict(r) for r in driver_client.drain_records()]

    controller = Controller(config=config, archive=archive, mutator=mutator, evaluator=evaluator,
                            contexts=contexts, budget=budget, driver_calls=driver_calls,
                            on_change=progress.update)
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
            errors = [ev.error for label in seed_ids.values() for ev in archive.evaluations(label) if ev.error]
            raise RunError("the seed programs failed on every context"
                           + (f"; first error: {errors[0]}" if errors else ""))
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
            out["robust"] = {"worlds": list(robust.worlds), "chosen": robust.chosen, "incumbent": robust.incumbent,
                             "worst_world_gain": robust.worst[robust.chosen]}
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
    from evolve.report import write_report

    archive.set_run_status("finished")  # first: the report describes the run as it ended
    try:
        summary["report"] = str(write_report(archive, summary, out_dir=out_dir, contexts=contexts))
    except KeyboardInterrupt:  # stopped before its report: not finished (an error is marked failed by the caller)
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


async def _robust_stage(config: RunConfig, controller: Controller, contexts: Any, max_in_flight: int, gate: Any,
                        seed_ids: Mapping[str, str], progress: Any) -> Any:
    """Robust selection across ``[world] validate`` (:mod:`evolve.robust`); None when off."""
    others = [w for w in config.world.validate if w != config.world.preset]
    if not others or not contexts.validation:
        return None
    evaluators = {w: RayEvaluator(spec=worker_spec(replace_path(config, "world.preset", w)),
                                  contexts=contexts.by_id(), max_in_flight=max_in_flight, gate=gate)
                  for w in others}
    progress.note(f"robust selection: re-validating the best candidates in {', '.join([config.world.preset] + others)}")
    choice = await controller.robust_select(own_world=config.world.preset, world_evaluators=evaluators,
                                            seed_ids=list(seed_ids.values()),
                                            replicates=config.world.validate_replicates)
    if choice is not None:
        verb = "kept" if choice.chosen == choice.incumbent else "crowned"
        progress.note(f"robust selection {verb} {choice.chosen[:12]} (worst-world gain over the best seed "
                      f"{choice.worst[choice.chosen]:+.3f})")
    return choice


def _summary(archive: Any, db: Path, champion: Any, seed_ids: Mapping[str, str], test: Mapping[str, Any],
             controller: Controller, simulated: bool) -> dict[str, Any]:
    def stage_metrics(pid: str, stage: str) -> Any:
        evs = archive.evaluations(pid, stage=stage)
        return evs[-1].metrics if evs else None

    return {
        "simulated": simulated,
        "db": str(db),
        "evaluations": controller.budget.spent.evaluations,
        "programs": int(archive.counts().get("programs", 0)),
        "stop_reason": controller.stop_reason,
        "champion": None if champion is None else {
            "id": champion.id,
            "train": stage_metrics(champion.id, "train"),
            "validation": stage_metrics(champion.id, "validation"),
            # fitness over validation contexts x replicates, with its interval (issue 13)
            "validation_interval": (controller.champion.as_dict() if controller.champion is not None
                                    and controller.champion.program_id == champion.id else None),
        },
        "seeds": {seed_key(label): stage_metrics(pid, "validation") for label, pid in seed_ids.items()},
        "seed_ids": {seed_key(label): pid for label, pid in seed_ids.items()},
        "test": {label: test[label] for label in ("champion", "naive", "batch", "sobol",
                                                  *sorted(set(test) - {"champion", "naive", "batch", "sobol"}))
                 if label in test},
        "rejections": dict(controller.stats.rejections),
        "statuses": dict(controller.stats.statuses),
        "races": dict(controller.stats.races),
        "race_evaluations": controller.stats.race_evaluations,
        "failures": controller.stats.failures,
        "spend": spend_of(archive),  # LLM calls by stage and role, every session (issue 22 item 5)
    }


def run_references(config: RunConfig, contexts: ContextSets) -> dict[str, Any]:
    """The noise floor and random reference of the run's validation and test contexts
    (:func:`metrics.mean_references`; no model involved), for the summary and report::

        {"n": int, "mc_samples": int, "random_seeds": int,
         "validation": {"floor": {six}, "random": {six}, "fitness": {"floor", "random"}} | None,
         "test": ... | None}
    """
    from metrics import RANDOM_SEEDS, mean_references

    n, mc = config.evaluation.n, config.evaluation.mc_samples
    objective = config.fitness.as_objective()
    return {
        "n": n,
        "mc_samples": mc,
        "random_seeds": RANDOM_SEEDS,
        **{stage: mean_references([(n, c.k) for c in getattr(contexts, stage)], mc_samples=mc, objective=objective)
           for stage in ("validation", "test")},
    }


REFERENCE_LABELS = {"floor": "floor (n × centre)", "random": "random (uniform)"}


def reference_lines(summary: Mapping[str, Any], stage: str) -> list[str]:
    """Text rows of the references of ``stage`` in the layout of the run summary's metric
    table (label in 22 columns, each metric in 14), to print under the programs' rows."""
    from metrics import METRIC_NAMES

    refs = (summary.get("references") or {}).get(stage)
    if not refs:
        return []
    return [f"{REFERENCE_LABELS[kind]:22}" + "".join(f"{refs[kind].get(name, float('nan')):>14.4f}"
                                                   for name in METRIC_NAMES)
            for kind in ("floor", "random")]

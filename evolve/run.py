"""One evolution run from config to report: the body of ``persona-evolve run``.

Creates (or, with ``resume``, reopens) the archive, starts or joins Ray, seeds the
archive with the three seed programs, runs the controller until a budget cap, then
evaluates the champion and the seeds once on the test contexts and writes the report.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import signal
from pathlib import Path
from typing import Any, Mapping

from archive import Archive
from archive.records import ArchiveConfig, DescriptorSpec
from evolve.budget import RunBudget, Spend
from evolve.config import RunConfig, config_from_dict, config_to_dict
from evolve.contexts import ContextSets
from evolve.controller import Controller, proposal_evaluations
from evolve.evaluator import RayEvaluator
from evolve.progress import SIM_BANNER, Progress
from evolve.ray_runtime import init_ray
from evolve.workers import WorkerSpec
from generators.context_loader import ContextError, resolve_contexts
from generators.evaluation import EvalSettings
from generators.sandbox import SandboxLimits
from generators.seeds import SEED_NAMES, load_seed


class RunError(RuntimeError):
    """A run cannot start or continue; the message says why in one line."""


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
        descriptors=tuple(DescriptorSpec(d.name, d.low, d.high, d.bins, d.log) for d in config.descriptors),
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
                                 memory_mb=ev.memory_mb, allow_weak_isolation=ev.weak_sandbox),
            parallel=ev.parallel,
        ),
        respondent_per_axis=ev.respondent_per_axis,
        cache_path=cache,
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
                                 smoke=config.cascade.smoke_contexts, seed=config.seed)
    except ValueError as exc:
        raise RunError(f"contexts: {exc}") from None


def _build_mutator(config: RunConfig) -> tuple[Any, Any]:
    """(mutator, driver client or None). ``sim`` uses the offline GP operator."""
    role = config.models.mutator
    if role.model == "sim":
        from evolve.mutators.offline import OfflineMutator

        return OfflineMutator(), None
    from generators.llm import ModelConfig, build_client
    from evolve.llm_mutator import LLMMutator

    client = build_client({"mutator": ModelConfig(**dataclasses.asdict(role))})
    return LLMMutator(client=client, model_label=role.model, temperature=role.temperature,
                      max_tokens=role.max_tokens or 4096), client


def _prior_spend(archive: Any) -> Spend:
    evaluated = proposal_evaluations(archive)
    spend = archive.spend_by_role()
    return Spend(
        evaluations=len(evaluated),
        llm_calls=int(sum(r.get("calls", 0) - r.get("cached", 0) for r in spend.values())),
        dollars=float(sum(r.get("cost_usd", 0.0) for r in spend.values())),
        seconds=max((float((e.get("detail") or {}).get("elapsed_s", 0.0)) for e in evaluated), default=0.0),
    )


def _merge_resume_config(stored: Mapping[str, Any], override: RunConfig, overridden: set[str]) -> RunConfig:
    """The stored config of the run, with the budget (and Ray address) from the command
    line when given: a resumed run keeps its contexts, models, islands and seed."""
    config = config_from_dict(stored)
    if "budget" in overridden:
        config = dataclasses.replace(config, budget=override.budget)
    return dataclasses.replace(config, ray=override.ray, db=override.db)


def execute_run(config: RunConfig, *, resume: bool = False, overridden: set[str] = frozenset(),
                progress: Progress | None = None) -> dict[str, Any]:
    """Run (or resume) an evolution run; return the summary printed by ``--json``."""
    db = Path(config.db) if config.db else default_db_path()
    if not resume:
        contexts = load_context_sets(config)  # before anything is written
    if resume:
        if not db.exists():
            raise RunError(f"--resume: no database at {db}")
        archive = Archive.open(url_or_path=str(db))
        tampered = archive.tampered_programs()
        if tampered:
            raise RunError(f"--resume refused: {tampered[0]}" + (f" (and {len(tampered) - 1} more)" if len(tampered) > 1 else ""))
        config = _merge_resume_config(archive.run_info()["run_config"], config, overridden)
    else:
        if db.exists():
            raise RunError(f"{db} already exists: use --resume to continue it, or another --db")
        db.parent.mkdir(parents=True, exist_ok=True)
    out_dir = Path(config.out_dir) if config.out_dir else db.parent
    config = dataclasses.replace(config, db=str(db), out_dir=str(out_dir))
    if resume:
        contexts = load_context_sets(config)


    simulated = config.models.uses_sim()
    weak = sandbox_weakness(config)
    if not resume:
        archive = Archive.create(url_or_path=str(db), config=archive_config(config),
                                 run_config=config_to_dict(config), seed=config.seed,
                                 versions=_versions())
    progress = progress or Progress(simulated=simulated)
    if simulated:
        progress.note(f"[bold yellow]{SIM_BANNER}[/]")
    progress.note(f"archive: {db}")
    if weak:
        progress.note(f"[bold red]WEAK SANDBOX: programs run without {', '.join(weak)} (--weak-sandbox)[/]")

    resources = init_ray(address=config.ray.address, num_cpus=config.ray.num_cpus,
                         object_store_mb=config.ray.object_store_mb, pass_env=config.ray.pass_env)
    cpus = max(1, int(resources.get("CPU", config.ray.num_cpus)))
    evaluator = RayEvaluator(spec=worker_spec(config), contexts=contexts.by_id(),
                             max_in_flight=config.ray.max_in_flight or 2 * cpus)
    mutator, driver_client = _build_mutator(config)
    budget = RunBudget(evaluations=config.budget.evaluations, llm_calls=config.budget.llm_calls,
                       dollars=config.budget.dollars, minutes=config.budget.minutes,
                       prior=_prior_spend(archive) if resume else None)

    def driver_calls() -> list[dict[str, Any]]:
        if driver_client is None:
            return []
        return [r if isinstance(r, dict) else dataclasses.asdict(r) for r in driver_client.drain_records()]

    controller = Controller(config=config, archive=archive, mutator=mutator, evaluator=evaluator,
                            contexts=contexts, budget=budget, driver_calls=driver_calls,
                            on_change=progress.update)
    seeds = {f"seed:{name}": load_seed(name) for name in SEED_NAMES}

    async def main() -> dict[str, Any]:
        seed_ids = await controller.seed_archive(seeds)
        with progress:
            reason = await controller.evolve()
        progress.note(f"stopped: budget reached ({reason})")
        champion = archive.champion()
        finals = {"champion": champion.id} if champion else {}
        finals.update({label.split(":", 1)[1]: pid for label, pid in seed_ids.items()})
        test = await controller.evaluate_final(finals)
        out = _summary(archive, db, champion, seed_ids, test, controller, simulated)
        out["references"] = run_references(config, contexts)
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
    archive.set_run_status("finished")
    from evolve.report import write_report

    summary["report"] = str(write_report(archive, summary, out_dir=out_dir, contexts=contexts))
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
        },
        "seeds": {label.split(":", 1)[1]: stage_metrics(pid, "validation") for label, pid in seed_ids.items()},
        "seed_ids": {label.split(":", 1)[1]: pid for label, pid in seed_ids.items()},
        "test": {label: test[label] for label in ("champion", "naive", "batch", "sobol") if label in test},
        "rejections": dict(controller.stats.rejections),
        "statuses": dict(controller.stats.statuses),
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

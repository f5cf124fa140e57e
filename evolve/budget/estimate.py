"""Estimate of a run's LLM calls, tokens and dollars, printed before it starts.

Every stage a run goes through is counted:

* pre-flight: one call per distinct real model;
* seeds: the three seed programs on the train and validation contexts;
* proposals: each evaluation counted by the budget runs the smoke stage and the rest of
  the train set (the cascade's worst case: every proposal passes); one mutator call each;
* validation: of new island champions;
* races (noise-aware promotion, :mod:`evolve.promotion.racer`): the first champion measured on more
  replicates of the validation contexts; a child that beats its island's best raced against
  it on fresh replicates of the train contexts; a new island best raced against the
  champion on the validation contexts (none of these when ``[search] promotion`` is off);
* test: the champion and the three seeds once on the test contexts.

Persona calls and tokens per context are measured by running each seed program in-process
on the simulated world for a few train contexts; respondent calls follow the respondent
mode exactly (N x items, N x axes, or N per context for the whole questionnaire). Two
totals: *expected* counts a proposal at the seeds' mean persona cost, validates one
evaluation in ten (:data:`VALIDATION_SHARE`) and assumes no retry; *upper bound* counts a
proposal at the costliest seed, validates every evaluation and counts every retry at its
maximum (the respondent's re-asks of every item it did not get, ``max_retries`` times, and
the client's retries of transient errors). Tokens are
estimated at 4 characters per token; dollars use litellm's price table (a model it has no
price for is reported as unpriced). Not bounded here: proposals the cascade rejects at the
smoke stage, behavioural twins among them (each costs a smoke stage but no evaluation), and
proposals rejected before evaluation (a mutator call each, with backoff); a call or dollar
cap bounds both.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from evolve.common.context_sets import ContextSets
from evolve.config import RunConfig, replace_path

MUTATOR_COMPLETION_TOKENS = 800
RESPONDENT_COMPLETION_TOKENS = 3
QUESTIONNAIRE_COMPLETION_TOKENS_PER_ITEM = 6
RESPONDENT_RETRIES = 2  # LLMRespondent.max_retries (re-asks of an unparsed answer)
CLIENT_RETRIES = 4  # LLMClient.max_retries (transient provider errors)
FINAL_PROGRAMS = 4  # champion + three seeds on the test contexts
VALIDATION_SHARE = 0.1  # expected share of evaluations that validate a new island champion (upper bound: all)
ISLAND_RACE_TRAIN_EVALUATIONS = 0.52
"""Expected train-stage race evaluations per evaluation (a default sim run: 24 island races,
4.25 evaluations each, over 196 evaluations); upper bound: every evaluation races both
sides for every replicate."""
CHAMPION_RACE_VALIDATION_EVALUATIONS = 0.09
"""Expected validation-stage race evaluations per evaluation (the same run: 9 races, 1.9
evaluations each)."""
ROLES = ("mutator", "persona", "respondent")


@dataclass(frozen=True)
class RoleEstimate:
    role: str
    model: str
    calls: float
    prompt_tokens: float
    completion_tokens: float
    dollars: float | None  # None: no price known for the model


def _price(model: str, prompt_tokens: float, completion_tokens: float) -> float | None:
    if model == "sim":
        return 0.0
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    try:
        p, c = litellm.cost_per_token(
            model=model, prompt_tokens=int(prompt_tokens), completion_tokens=int(completion_tokens)
        )
        return float(p + c)
    except Exception:  # noqa: BLE001 - unknown model: unpriced
        return None


def measure_seed(name: str, contexts: ContextSets, n: int, samples: int = 3) -> tuple[float, float, float]:
    """Mean persona-role (calls, prompt tokens, completion tokens) per context of seed
    ``name`` on the simulated world (up to ``samples`` train contexts). Deterministic, so
    measured once per (seed, contexts, n) in a process: ``--estimate`` with a dollar cap
    estimates the run three times."""
    return _measure_seed(name, tuple(contexts.train[:samples]), n)


@functools.lru_cache(maxsize=64)
def _measure_seed(name: str, train: tuple[Any, ...], n: int) -> tuple[float, float, float]:
    from generators.runtime import ContextView
    from generators.seeds import load_seed
    from generators.sim import SimLLM
    from generators.sim.inprocess import SimProgramLLM, load_program

    program = load_program(load_seed(name))
    rows = []
    for ctx in train:
        llm = SimProgramLLM(SimLLM(), seed=0)
        program.generate(ContextView.from_public_dict(ctx.public_dict()), n, llm, np.random.default_rng(0))
        rows.append((llm.calls, llm.prompt_tokens, llm.completion_tokens))
    calls, prompt, completion = np.mean(rows, axis=0)
    return float(calls), float(prompt), float(completion)


def _respondent_per_context(
    ctx: Any, n: int, mode: str, persona_tokens: float
) -> tuple[float, float, float, float]:
    """(calls, prompt tokens, completion tokens, calls at every retry) of one context."""
    items, axes = ctx.n_items, ctx.k
    per_call_prompt = persona_tokens + 60
    if mode == "item":
        calls, upper = n * items, n * items * (1 + RESPONDENT_RETRIES)
        return calls, calls * per_call_prompt, calls * RESPONDENT_COMPLETION_TOKENS, upper
    if mode == "axis":
        calls, upper = n * axes, n * axes * (1 + RESPONDENT_RETRIES)
        prompt = calls * (per_call_prompt + 15 * items / max(1, axes))
        return calls, prompt, calls * RESPONDENT_COMPLETION_TOKENS * items / max(1, axes), upper
    # questionnaire: one call per persona; at worst every item is then re-asked, with retries
    calls = float(n)
    upper = n * (1 + items * (1 + RESPONDENT_RETRIES))
    prompt = n * (per_call_prompt + 80 + 15 * items)
    return calls, prompt, n * QUESTIONNAIRE_COMPLETION_TOKENS_PER_ITEM * items, upper


def stage_figures(
    ctxs: Sequence[Any], persona: tuple[float, float, float], *, n: int, mode: str, times: float = 1.0
) -> dict[str, np.ndarray]:
    """role -> [calls, prompt tokens, completion tokens, upper-bound calls] for ``times``
    evaluations on ``ctxs``, the persona role costing ``persona`` (calls, prompt tokens,
    completion tokens) per context; ``n`` personas per context, respondent ``mode``."""
    p_calls, p_prompt, p_completion = persona
    text_tokens = p_completion / max(1.0, n)
    out = {
        "persona": np.array([p_calls, p_prompt, p_completion, p_calls]) * len(ctxs) * times,
        "respondent": np.zeros(4),
        "mutator": np.zeros(4),
    }
    for ctx in ctxs:
        out["respondent"] += np.array(_respondent_per_context(ctx, n, mode, text_tokens)) * times
    return out


def upper_calls(role: str, row: np.ndarray, model: str) -> float:
    """Calls of a :func:`stage_figures` row with every retry at its maximum: the
    respondent's re-asks (its upper-bound column), then, for a real model, the client's
    retries of transient errors (x (1 + CLIENT_RETRIES))."""
    calls = float(row[3] if role == "respondent" else row[0])
    return calls if model == "sim" else calls * (1 + CLIENT_RETRIES)


def evaluation_upper_bound(config: RunConfig, contexts: Sequence[Any]) -> list[RoleEstimate]:
    """Upper bound of what one evaluation on ``contexts`` spends, per role it calls
    (persona, respondent): the persona role at the costliest seed measured on these
    contexts, every retry at its maximum (:func:`upper_calls`); tokens scale with the
    calls; dollars in US$ from litellm's price table (None: unpriced model)."""
    from generators.seeds import SEED_NAMES

    n, mode = config.evaluation.n, config.evaluation.effective_respondent_mode
    sets = ContextSets(train=tuple(contexts), validation=(), test=(), smoke_ids=())
    costliest = max((measure_seed(name, sets, n) for name in SEED_NAMES), key=lambda t: t[0])
    figures = stage_figures(sets.train, costliest, n=n, mode=mode)
    out = []
    for role in ("persona", "respondent"):
        model = getattr(config.models, role).model
        calls, prompt, completion, _ = figures[role]
        upper = upper_calls(role, figures[role], model)
        scale = upper / calls if calls else 0.0
        out.append(
            RoleEstimate(
                role,
                model,
                upper,
                prompt * scale,
                completion * scale,
                _price(model, prompt * scale, completion * scale),
            )
        )
    return out


def estimate_run(
    config: RunConfig, contexts: ContextSets, *, race_evaluations: tuple[float, float] | None = None
) -> dict[str, Any]:
    """Per-evaluation, per-stage and whole-run estimates per role (see the module docstring).

    ``race_evaluations``: (train, validation) race evaluations to count in the *expected*
    figures instead of the per-evaluation averages (e.g. those a finished run logged, to
    check the cost model apart from how often the search raced); the upper bound always
    assumes the worst. Returns ``{"evaluations", "train_contexts", "n", "respondent_mode", "per_evaluation":
    [RoleEstimate] (expected: the seeds' mean persona cost, no retry; exactly the "proposals"
    stage divided by the evaluations), "per_evaluation_upper_calls": {role: calls} (the costliest
    seed, every retry), "seed_persona_calls": {seed: persona calls per evaluation}, "stages":
    {stage: {role: calls}}, "run": [RoleEstimate] | None, "run_upper_calls": {role: calls} | None}``;
    the whole-run figures need an evaluation cap."""
    from evolve.proposals.directives import DIRECTIVES
    from evolve.proposals.prompts import ProgramBrief, build_mutation_prompt
    from generators.llm import estimate_tokens
    from generators.seeds import SEED_NAMES, load_seed

    n = config.evaluation.n
    mode = config.evaluation.effective_respondent_mode
    models = {role: getattr(config.models, role) for role in ROLES}
    seeds = {name: measure_seed(name, contexts, n) for name in SEED_NAMES}
    costliest = max(seeds.values(), key=lambda t: t[0])

    def stage(
        ctxs: tuple[Any, ...], persona: tuple[float, float, float], times: float
    ) -> dict[str, np.ndarray]:
        return stage_figures(ctxs, persona, n=n, mode=mode, times=times)

    code = load_seed("sobol")
    brief = ProgramBrief("seed", code, None, None)
    system, user = build_mutation_prompt(brief, [brief] * config.mutation.inspirations, DIRECTIVES[0])
    mutator_one = np.array(
        [1.0, float(estimate_tokens(system + user)), float(MUTATOR_COMPLETION_TOKENS), 1.0]
    )

    mean_seed: tuple[float, float, float] = (
        float(np.mean([v[0] for v in seeds.values()])),
        float(np.mean([v[1] for v in seeds.values()])),
        float(np.mean([v[2] for v in seeds.values()])),
    )
    # One evaluation, as the whole-run "proposals" stage counts it (the seeds' mean persona
    # cost), and its upper bound (the costliest seed, every retry at its maximum): the
    # per-evaluation table and the whole-run table are the same model, so they agree.
    per_eval = stage(contexts.train, mean_seed, 1.0)
    per_eval["mutator"] = mutator_one.copy()
    per_eval_worst = stage(contexts.train, costliest, 1.0)
    per_eval_worst["mutator"] = mutator_one.copy()
    per_eval_upper = {role: upper_calls(role, per_eval_worst[role], models[role].model) for role in ROLES}
    evaluations = config.budget.evaluations

    search = config.search
    looks = max(0, search.max_replicates - 1)  # fresh replicates a race may draw, per side

    def run_stages(
        proposal: tuple[float, float, float], validation_share: float, races: tuple[float, float] | None
    ) -> dict[str, dict[str, np.ndarray]]:
        stages: dict[str, dict[str, np.ndarray]] = {}
        distinct = {(m.model, m.api_base, m.api_key_env) for m in models.values() if m.model != "sim"}
        stages["preflight"] = {role: np.zeros(4) for role in ROLES}
        for role in ROLES:  # one call per distinct model, counted on the first role using it
            m = models[role]
            key = (m.model, m.api_base, m.api_key_env)
            if key in distinct:
                stages["preflight"][role] = np.array([1.0, 8.0, 1.0, 1.0])
                distinct.discard(key)
        seed_stage = {role: np.zeros(4) for role in ROLES}
        for persona in seeds.values():
            for part in (stage(contexts.train, persona, 1.0), stage(contexts.validation, persona, 1.0)):
                for role in ROLES:
                    seed_stage[role] += part[role]
        stages["seeds"] = seed_stage
        if evaluations:
            train = stage(contexts.train, proposal, evaluations)
            train["mutator"] = mutator_one * evaluations
            stages["proposals"] = train
            stages["validation"] = stage(contexts.validation, proposal, evaluations * validation_share)
            if not search.promotion:  # no promotion races: neither the champion's measure nor races
                races = (0.0, 0.0)
            elif races is None:  # the worst case: every evaluation races both sides to the last replicate
                races = (2.0 * looks * evaluations, 2.0 * looks * evaluations)
            race_stage = {role: np.zeros(4) for role in ROLES}
            first_measure = max(0, search.champion_replicates - 1) if search.promotion else 0
            first_champion = stage(contexts.validation, proposal, first_measure)
            for part in (
                stage(contexts.train, proposal, races[0]),
                stage(contexts.validation, proposal, races[1]),
                first_champion,
            ):
                for role in ROLES:
                    race_stage[role] += part[role]
            stages["races"] = race_stage
            final = {role: np.zeros(4) for role in ROLES}
            for persona in list(seeds.values()) + [proposal]:
                part = stage(contexts.test, persona, 1.0)
                for role in ROLES:
                    final[role] += part[role]
            stages["test"] = final
        return stages

    evals = float(evaluations or 0)
    expected_races = (
        race_evaluations
        if race_evaluations is not None
        else (ISLAND_RACE_TRAIN_EVALUATIONS * evals, CHAMPION_RACE_VALIDATION_EVALUATIONS * evals)
    )
    stages = run_stages(mean_seed, VALIDATION_SHARE, expected_races)
    worst = run_stages(costliest, 1.0, None)

    def role_estimates(table: dict[str, np.ndarray]) -> list[RoleEstimate]:
        out = []
        for role in ROLES:
            c, p, q, _ = table[role]
            model = models[role].model
            out.append(RoleEstimate(role, model, float(c), float(p), float(q), _price(model, p, q)))
        return out

    run_roles = run_upper = None
    if evaluations:
        total = {role: np.sum([st[role] for st in stages.values()], axis=0) for role in ROLES}
        worst_total = {role: np.sum([st[role] for st in worst.values()], axis=0) for role in ROLES}
        run_roles = role_estimates(total)
        # every retry at its maximum: respondent re-asks, then the client's transient retries
        run_upper = {role: upper_calls(role, worst_total[role], models[role].model) for role in ROLES}
    return {
        "evaluations": evaluations,
        "train_contexts": len(contexts.train),
        "all_train_contexts": len(contexts.all_train or contexts.train),
        "n": n,
        "respondent_mode": mode,
        "per_evaluation": role_estimates(per_eval),
        "per_evaluation_upper_calls": per_eval_upper,
        "seed_persona_calls": {name: float(v[0]) * len(contexts.train) for name, v in seeds.items()},
        "stages": {name: {role: float(v[role][0]) for role in ROLES} for name, v in stages.items()},
        "run": run_roles,
        "run_upper_calls": run_upper,
        "run_upper_dollars": None
        if run_roles is None or run_upper is None
        else sum((r.dollars or 0.0) * (run_upper[r.role] / r.calls if r.calls else 0.0) for r in run_roles),
    }


def evaluations_within_caps(config: RunConfig, contexts: ContextSets) -> tuple[int | None, str]:
    """(expected evaluations, one line saying how) when the run has no evaluation cap but a
    dollar or LLM-call cap: the caps turned into evaluations at the expected per-evaluation
    rate, after the fixed cost of pre-flight, seeds and the final stage (measured as the
    difference of two whole-run estimates). (None, why) when no cap can be turned so (no
    such cap, or only unpriced models against a dollar cap)."""
    budget = config.budget
    if budget.evaluations is not None or (budget.dollars is None and budget.llm_calls is None):
        return None, ""
    at = {e: estimate_run(replace_path(config, "budget.evaluations", e), contexts) for e in (100, 200)}
    limits: list[tuple[float, str]] = []
    if budget.dollars is not None:
        cost = {e: sum(r.dollars or 0.0 for r in est["run"]) for e, est in at.items()}
        marginal = (cost[200] - cost[100]) / 100.0
        if marginal > 0:
            fixed = cost[100] - 100 * marginal
            limits.append(((budget.dollars - fixed) / marginal, f"${budget.dollars:g}"))
    if budget.llm_calls is not None:
        calls = {e: sum(r.calls for r in est["run"]) for e, est in at.items()}
        marginal = (calls[200] - calls[100]) / 100.0
        if marginal > 0:
            fixed = calls[100] - 100 * marginal
            limits.append(((budget.llm_calls - fixed) / marginal, f"{budget.llm_calls} LLM calls"))
    if not limits:
        return None, "the dollar cap cannot be turned into evaluations: every model of the run is unpriced"
    count, binding = min(limits)
    count = max(0, int(count))
    minutes = (
        f"; the {budget.minutes:g}-minute cap is not estimated (it depends on the models' speed)"
        if budget.minutes is not None
        else ""
    )
    return count, (
        f"No evaluation cap: {binding} buys about {count} evaluations at the expected rate "
        f"(after pre-flight, seeds and the final stage); whole-run figures for {count}{minutes}."
    )


def render_estimate(estimate: dict[str, Any]) -> str:
    """The table printed by ``run --estimate``."""
    evals = estimate["evaluations"]
    every = estimate.get("all_train_contexts", estimate["train_contexts"])
    screened = (
        f"a screening set of {estimate['train_contexts']} of {every} train contexts"
        if every > estimate["train_contexts"]
        else f"{estimate['train_contexts']} train contexts"
    )
    upper = estimate.get("per_evaluation_upper_calls") or {}
    lines = [
        f"Estimate per evaluation ({screened}, N={estimate['n']}, "
        f"respondent mode {estimate['respondent_mode']})",
        f"{'role':<11}{'model':<28}{'expected calls':>16}{'upper bound':>14}{'tokens':>14}{'dollars':>12}",
    ]
    for r in estimate["per_evaluation"]:
        dollars = "unpriced" if r.dollars is None else f"{r.dollars:.4f}"
        bound = f"{upper[r.role]:>14.0f}" if r.role in upper else f"{'':>14}"
        lines.append(
            f"{r.role:<11}{r.model[:27]:<28}{r.calls:>16.0f}{bound}"
            f"{r.prompt_tokens + r.completion_tokens:>14.0f}{dollars:>12}"
        )
    seeds = estimate.get("seed_persona_calls") or {}
    if seeds:
        lines.append(
            "Expected (tokens, dollars): at the seeds' mean persona cost ("
            + ", ".join(f"seed:{name} {calls:.0f}" for name, calls in seeds.items())
            + ' persona calls), no retry; the whole run\'s "proposals" row is this times the '
            "evaluations. Upper bound: the costliest seed, every retry at its maximum."
        )
    if not evals:
        lines.append(
            estimate.get("caps_note")
            or "No evaluation cap: per evaluation only (set --budget-evals for whole-run figures)."
        )
        return "\n".join(lines)
    if estimate.get("caps_note"):
        lines.append(estimate["caps_note"])
    lines.append("")
    lines.append(f"Whole run ({evals} evaluations), expected calls per stage:")
    lines.append(f"{'stage':<12}" + "".join(f"{role:>12}" for role in ROLES))
    for name, row in estimate["stages"].items():
        lines.append(f"{name:<12}" + "".join(f"{row[role]:>12.0f}" for role in ROLES))
    lines.append(f"{'role':<11}{'expected calls':>16}{'upper bound':>14}{'tokens':>14}{'dollars':>12}")
    total = 0.0
    unpriced = False
    for r in estimate["run"]:
        dollars = "unpriced" if r.dollars is None else f"{r.dollars:.2f}"
        lines.append(
            f"{r.role:<11}{r.calls:>16.0f}{estimate['run_upper_calls'][r.role]:>14.0f}"
            f"{r.prompt_tokens + r.completion_tokens:>14.0f}{dollars:>12}"
        )
        unpriced |= r.dollars is None
        total += r.dollars or 0.0
    lines.append(
        f"total ≈ ${total:.2f} expected for {evals} evaluations"
        + (" (plus unpriced models)" if unpriced else "")
        + f"; at most ${estimate['run_upper_dollars']:.2f} with every retry"
    )
    lines.append(
        "Expected: every proposal passes the cascade, at the seeds' mean cost, 1 in 10 validates, "
        "promotion races at a default run's rate, no retry. Upper bound: at the costliest seed, every "
        "evaluation validates and races to the last replicate, every retry at its maximum. Cascade "
        "rejections (twins included) and proposals rejected before evaluation add to both; a call or "
        "dollar cap bounds everything."
    )
    return "\n".join(lines)

"""A large archive for the inspect benchmark, written fast through the archive's own writer.

Not an evolution: :func:`build` starts a run with ``archive.opening.create_run`` and stores
synthetic programs and evaluations with ``archive.store.insert_program`` /
``insert_evaluation`` (the functions ``Archive.add`` and ``Archive.record_evaluation`` call),
many per transaction, with the exemplar texts ``Archive`` would keep
(``archive.exemplars.ExemplarIndex``). Each program gets a train evaluation on ``contexts``
contexts (``ctx00``..); every ``validate_every``-th program also a validation evaluation on
``validation`` contexts (``val00``..) whose coverage and persona-role tokens vary together
(cheap programs cover less, with noise), so the cost front is not trivial. Positions are
uniform in [0, 1]^K except that axis 0 stays below 0.8 (so the support has holes).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from archive import ArchiveConfig
from archive.exemplars import ExemplarIndex
from archive.identity import program_id
from archive.opening import create_run
from archive.records import METRIC_NAMES, ContextResult, EvaluationRecord, MutationInfo, ProgramRecord
from archive.testing import SYNTHETIC_DESCRIPTORS, synthetic_code, synthetic_personas
from archive.vocab import Stage


def _evaluation(
    stage: str,
    rng: np.random.Generator,
    ids: list[str],
    personas: int,
    axes: int,
    level: float,
    tokens_per_persona: float,
    texts: list[dict[str, str]] | None,
) -> EvaluationRecord:
    ctxs = []
    for cid in ids:
        z = rng.random((personas, axes))
        z[:, 0] *= 0.8
        m = {name: float(rng.random()) for name in METRIC_NAMES}
        m["coverage"] = float(np.clip(level + rng.normal(0, 0.03), 0, 1))
        tokens = int(tokens_per_persona * personas * rng.uniform(0.9, 1.1))
        ctxs.append(ContextResult(cid, m, z, personas=texts, tokens=tokens, wall_s=0.1))
    mean = {name: float(np.mean([c.metrics[name] for c in ctxs])) for name in METRIC_NAMES}
    return EvaluationRecord(stage, ctxs, mean["coverage"], mean, wall_s=1.0)


def build(
    path: Path,
    *,
    n: int = 10_000,
    contexts: int = 30,
    validation: int = 10,
    personas: int = 25,
    axes: int = 4,
    validate_every: int = 20,
    batch: int = 500,
    seed: int = 0,
    text_programs: int = 400,
) -> dict[str, float]:
    """Write the archive to ``path`` (a new file): ``n`` train evaluations plus one validation
    evaluation per ``validate_every`` programs; the first ``text_programs`` programs carry persona
    texts (of which the exemplars are kept). Returns counts and the build time in s."""
    from archive import store

    if path.exists():
        raise FileExistsError(f"{path} exists")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    opened = create_run(
        url_or_path=path,
        config=ArchiveConfig(descriptors=SYNTHETIC_DESCRIPTORS),
        run_config={"bench": "inspect"},
        seed=seed,
        versions={},
    )
    texts = synthetic_personas(personas, chars=300)
    train_ids = [f"ctx{c:02d}" for c in range(contexts)]
    val_ids = [f"val{c:02d}" for c in range(validation)]
    index = ExemplarIndex(per_cell=1)
    stored = validated = 0
    try:
        i = 0
        while i < n:
            with opened.engine.begin() as conn:
                for j in range(i, min(i + batch, n)):
                    code = synthetic_code(j)
                    pid = program_id(code)
                    rec = ProgramRecord(
                        code=code,
                        parent_id=None,
                        island=j % 3,
                        generation=0,
                        mutation=MutationInfo("synthetic", model="sim"),
                        label=None,
                    )
                    store.insert_program(conn, opened.run_id, pid, rec, time.time())
                    cost = float(10 ** rng.uniform(1.5, 3.5))  # tokens per persona, 30..3000
                    level = 0.3 + 0.12 * np.log10(cost) + rng.normal(0, 0.05)
                    # texts only while regions still lack their exemplar (uniform positions fill
                    # every region of every context within the first few hundred programs)
                    kept = texts if j < text_programs else None
                    evs = [_evaluation(Stage.TRAIN, rng, train_ids, personas, axes, level, cost, kept)]
                    if j % validate_every == 0:
                        evs.append(
                            _evaluation(Stage.VALIDATION, rng, val_ids, personas, axes, level, cost, kept)
                        )
                    for ev in evs:
                        plan = index.plan_evaluation(ev.contexts)
                        train = ev.stage == Stage.TRAIN
                        desc = {"tail_share": 0.1, "llm_tokens_per_persona": cost} if train else None
                        store.insert_evaluation(
                            conn,
                            opened.run_id,
                            pid,
                            ev,
                            descriptors=desc,
                            store_personas=False,
                            now=time.time(),
                            exemplars=plan,
                        )
                        index.commit_evaluation(ev.contexts, plan)  # nothing here rolls back
                        stored += 1
                        validated += ev.stage == Stage.VALIDATION
            i = min(i + batch, n)
    finally:
        opened.engine.dispose()
        if opened.lock is not None:
            opened.lock.release()
    return {
        "programs": n,
        "evaluations": stored,
        "validation": validated,
        "seconds": time.perf_counter() - t0,
    }

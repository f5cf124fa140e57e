"""A small, realistic archive crafted through the Archive API, shared by the export and
inspect tests (they import ``crafted`` / ``build_crafted_archive`` from here).

Swap point: ``crafted`` returns a :class:`Crafted` (db path + the facts the tests check).
Tests that only check shapes use ``db``; tests that check known answers use the facts.

The archive (run config: the sim world on shipped contexts):

* seeds ``seed:naive`` / ``seed:batch`` / ``seed:sobol`` (generation 0);
* a lineage sobol -> child1 -> child2 -> child3 (operators, directives, models recorded);
  child3 has the best validation fitness (the champion), child2 the best train fitness;
* train evaluations on ``airline_rebooking_desk`` (K=3) and ``esports_community`` (K=2),
  validation on ``fishing_village_quota_cuts``, test on ``utility_shutoff_hotline``;
* ``airline_rebooking_desk`` holds the most personas: 16 programs (6 + 10 smoke-only
  fillers) write 20 personas each clustered at the centre (sd 0.02) -- except that child2
  places 2 of its 20 at the corner (0.97, 0.97, 0.03), with stored texts;
* events: 3 rejections diff_failed, 1 duplicate, 1 cascade; LLM calls for three roles.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from archive import Archive, ArchiveConfig
from archive.records import (
    METRIC_NAMES,
    Candidate,
    ContextResult,
    EvaluationRecord,
    MutationInfo,
    ProgramRecord,
)
from archive.testing import SYNTHETIC_DESCRIPTORS, synthetic_code
from evolve.config import RunConfig, config_to_dict, replace_path
from generators.seeds import load_seed

RARE_CONTEXT = "airline_rebooking_desk"
RARE_AXES = ("distrust_airline", "escalation", "plan_flexibility")
CORNER = (0.97, 0.97, 0.03)
TRAIN_CONTEXTS = {RARE_CONTEXT: 3, "esports_community": 2}
VALIDATION_CONTEXT = ("fishing_village_quota_cuts", 2)
TEST_CONTEXT = ("utility_shutoff_hotline", 2)
N = 20


@dataclass(frozen=True)
class Crafted:
    db: Path
    empty_db: Path
    seeds: dict[str, str]  # label -> id
    lineage: tuple[str, ...]  # child3, child2, child1, seed:sobol
    champion: str  # best on validation
    best_train: str
    corner_program: str
    fillers: tuple[str, ...]
    rejections: dict[str, int]
    codes: dict[str, str]  # id -> code


def _metrics(rng: np.random.Generator, level: float) -> dict[str, float]:
    m = {name: float(np.clip(level + rng.normal(0, 0.02), 0, 1)) for name in METRIC_NAMES}
    m["coverage"] = level
    return m


def _personas(tag: str, n: int) -> list[dict[str, str]]:
    return [
        {
            "name": f"{tag} persona {i}",
            "description": f"An ordinary traveller number {i} ({tag}).",
            "age": 30 + i,
        }
        for i in range(n)
    ]


def _centre(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return np.clip(0.5 + rng.normal(0, 0.02, size=(n, k)), 0, 1)


def _evaluation(
    stage: str,
    rng: np.random.Generator,
    level: float,
    contexts: dict[str, int],
    *,
    tag: str,
    corner: bool = False,
    keep: bool = False,
) -> EvaluationRecord:
    results = []
    for cid, k in contexts.items():
        z = _centre(rng, N, k)
        personas = _personas(tag, N)
        if corner and cid == RARE_CONTEXT:
            z[:2] = np.array(CORNER) + rng.normal(0, 0.005, size=(2, 3))
            personas[0] = {
                "name": "Dolores Vance",
                "description": "Assumes the airline is lying, escalates at once, "
                "must be on this exact flight today.",
                "age": 58,
            }
            personas[1] = {
                "name": "Grigor Hale",
                "description": "Furious, distrustful, no flexibility at all.",
                "age": 44,
            }
        results.append(
            ContextResult(cid, _metrics(rng, level), z, personas=personas, tokens=4000, wall_s=1.0)
        )
    return EvaluationRecord(stage, results, level, _metrics(rng, level), wall_s=2.0, keep_personas=keep)


def _variant(code: str, old: str, new: str) -> str:
    assert old in code, old
    return code.replace(old, new, 1)


def build_crafted_archive(directory: Path) -> Crafted:
    """Write the crafted archive (and an empty one) under ``directory``."""
    rng = np.random.default_rng(7)
    db = directory / "crafted.db"
    config = replace_path(
        dataclasses.replace(RunConfig(), db=str(db)), "archive.descriptors", SYNTHETIC_DESCRIPTORS
    )
    archive = Archive.create(
        url_or_path=db,
        config=ArchiveConfig(islands=2, descriptors=SYNTHETIC_DESCRIPTORS),
        run_config=config_to_dict(config),
        seed=0,
        versions={"litellm": "test"},
    )
    archive.record_event("run_started", detail={"simulated": True})
    ids: dict[str, str] = {}
    codes: dict[str, str] = {}
    desc = {"tail_share": 0.1, "llm_tokens_per_persona": 300.0}

    def add(
        code: str,
        *,
        label: str | None,
        parent: str | None,
        gen: int,
        level: float,
        island: int = 0,
        mutation: MutationInfo | None = None,
        corner: bool = False,
        tail: float = 0.1,
    ) -> str:
        record = ProgramRecord(
            code=code,
            parent_id=parent,
            island=island,
            generation=gen,
            mutation=mutation or MutationInfo("seed"),
            label=label,
        )
        ev = _evaluation(
            "train", rng, level, TRAIN_CONTEXTS, tag=label or f"gen{gen}", corner=corner, keep=corner
        )
        result = archive.add([Candidate(record, ev, {**desc, "tail_share": tail})])[0]
        assert result.program_id is not None and result.status.value != "failed", result
        codes[result.program_id] = code
        return result.program_id

    for i, name in enumerate(("naive", "batch", "sobol")):
        ids[f"seed:{name}"] = add(
            load_seed(name),
            label=f"seed:{name}",
            parent=None,
            gen=0,
            level=0.3 + 0.1 * i,
            tail=0.05 + 0.3 * i,
        )
    sobol = load_seed("sobol")
    c1 = _variant(sobol, "TEMPERATURE = 0.9", "TEMPERATURE = 1.1")
    c2 = _variant(c1, "SPREAD = 1.0", "SPREAD = 1.4")
    c3 = _variant(c2, "BATCH_SIZE = 5", "BATCH_SIZE = 4")
    child1 = add(
        c1,
        label=None,
        parent=ids["seed:sobol"],
        gen=1,
        level=0.55,
        tail=0.7,
        mutation=MutationInfo(
            "llm_diff",
            model="openai/gpt-4o-mini",
            directive="raise temperature",
            diff="<<<<<<< SEARCH",
            prompt_tokens=900,
            completion_tokens=120,
        ),
    )
    child2 = add(
        c2,
        label=None,
        parent=child1,
        gen=2,
        level=0.70,
        tail=0.8,
        corner=True,
        mutation=MutationInfo("constant_perturbation", model="sim", directive="push extremes"),
    )
    child3 = add(
        c3,
        label=None,
        parent=child2,
        gen=3,
        level=0.62,
        island=1,
        tail=0.9,
        mutation=MutationInfo("llm_diff", model="openai/gpt-4o-mini", directive="smaller batches"),
    )
    fillers = []
    for j in range(10):
        pid = archive.record_program(
            ProgramRecord(
                code=synthetic_code(1000 + j),
                parent_id=ids["seed:naive"],
                island=0,
                generation=1,
                mutation=MutationInfo("synthetic"),
            )
        )
        archive.record_evaluation(pid, _evaluation("smoke", rng, 0.2, {RARE_CONTEXT: 3}, tag=f"filler{j}"))
        archive.record_event(
            "rejected", program_id=pid, detail={"reason": "cascade", "message": "smoke too low"}
        )
        fillers.append(pid)
    vcid, vk = VALIDATION_CONTEXT
    tcid, tk = TEST_CONTEXT
    for pid, level in ((ids["seed:sobol"], 0.45), (child2, 0.60), (child3, 0.66)):
        archive.record_evaluation(
            pid, _evaluation("validation", rng, level, {vcid: vk}, tag="val", keep=True)
        )
    for pid, level in ((child3, 0.64), (ids["seed:sobol"], 0.44)):
        archive.record_evaluation(pid, _evaluation("test", rng, level, {tcid: tk}, tag="test", keep=True))
    for reason, count in (("diff_failed", 3), ("duplicate", 1)):
        for _ in range(count):
            archive.record_event("rejected", program_id=child1, detail={"reason": reason, "message": "x"})
    archive.record_llm_calls(
        [
            {
                "role": "mutator",
                "model": "openai/gpt-4o-mini",
                "prompt_tokens": 900,
                "completion_tokens": 100,
                "cost_usd": 0.001,
                "latency_s": 1.5,
            }
        ]
        * 3
        + [{"role": "persona", "model": "sim", "prompt_tokens": 200, "completion_tokens": 300}] * 10
        + [
            {
                "role": "respondent",
                "model": "sim",
                "prompt_tokens": 50,
                "completion_tokens": 2,
                "cached": True,
            }
        ]
        * 20
    )
    archive.set_run_status("finished")
    archive.close()
    empty = directory / "empty.db"
    Archive.create(url_or_path=empty, config=ArchiveConfig(islands=1), run_config={}, seed=0).close()
    return Crafted(
        db=db,
        empty_db=empty,
        seeds=ids,
        lineage=(child3, child2, child1, ids["seed:sobol"]),
        champion=child3,
        best_train=child2,
        corner_program=child2,
        fillers=tuple(fillers),
        rejections={"diff_failed": 3, "duplicate": 1, "cascade": 10},
        codes=codes,
    )


@pytest.fixture(scope="session")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Crafted:
    """The crafted archive, built once per test module that imports this fixture."""
    return build_crafted_archive(tmp_path_factory.mktemp("crafted_archive"))


def test_crafted_archive_is_what_the_other_tests_assume(crafted: Crafted) -> None:
    with Archive.open(url_or_path=crafted.db, readonly=True) as a:
        assert a.champion().id == crafted.champion
        assert a.top(1)[0].id == crafted.best_train
        assert [v.id for v in a.lineage(crafted.champion)] == list(crafted.lineage)
        counts = a.counts()
        assert counts["programs"] == 6 + 10
        assert counts["rejected"]["diff_failed"] == 3
        assert len(a.personas(context_id=RARE_CONTEXT, program_id=crafted.corner_program)) == N

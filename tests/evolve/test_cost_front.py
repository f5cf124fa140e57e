"""The cost front (``inspect front``, ``export --max-tokens-per-persona``, the report section)
on small real archives written through the Archive API with known validation coverages and
persona-role token counts."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from archive import Archive, ArchiveConfig
from archive.records import METRIC_NAMES, Candidate, ContextResult, EvaluationRecord, ProgramRecord
from archive.testing import synthetic_code
from evolve.cli import main
from evolve.config import RunConfig, config_to_dict
from evolve.outputs.export import ExportError, export_program
from evolve.outputs.inspect import dumps, front, open_source, render_front
from evolve.outputs.inspect.front import best_under_cost
from evolve.outputs.report.content import build_report
from evolve.outputs.report.writer import render_markdown
from metrics.pareto import pareto_front

N = 10
CONTEXTS = ("fishing_village_quota_cuts", "esports_community")
#: (validation coverage, tokens per persona) per program; None: never validated. Chosen so
#: that the front, the dominated programs, a tie and a copy all occur.
POINTS: tuple[tuple[float, float] | None, ...] = (
    (0.40, 50.0),
    (0.55, 120.0),
    (0.50, 200.0),
    (0.70, 400.0),
    (0.70, 900.0),
    (0.62, 400.0),
    (0.55, 120.0),
    (0.80, 2500.0),
    None,
    None,
)


@dataclass(frozen=True)
class CostArchive:
    db: Path
    ids: tuple[str, ...]  # one per POINTS entry
    validated: dict[str, tuple[float, float]]  # id -> (coverage, tokens per persona) as stored


def _record(
    stage: str, coverage: float, tokens_per_persona: float, rng: np.random.Generator
) -> EvaluationRecord:
    results = []
    for cid in CONTEXTS:
        m = {name: float(rng.random()) for name in METRIC_NAMES}
        m["coverage"] = coverage
        z = rng.random((N, 2))
        results.append(ContextResult(cid, m, z, tokens=int(round(tokens_per_persona * N)), wall_s=0.1))
    mean = {name: float(np.mean([r.metrics[name] for r in results])) for name in METRIC_NAMES}
    return EvaluationRecord(stage, results, coverage, mean)


def build_cost_archive(directory: Path, *, simulated: bool = True) -> CostArchive:
    rng = np.random.default_rng(11)
    db = directory / "cost.db"
    run_config = config_to_dict(dataclasses.replace(RunConfig(), db=str(db))) if simulated else {}
    arch = Archive.create(url_or_path=db, config=ArchiveConfig(islands=1), run_config=run_config, seed=0)
    ids, validated = [], {}
    for i, point in enumerate(POINTS):
        record = ProgramRecord(
            code=synthetic_code(500 + i), parent_id=None, island=0, generation=0, label=f"seed:p{i}"
        )
        train = _record("train", 0.3, 100.0, rng)
        res = arch.add([Candidate(record, train, {"tail_share": 0.1, "llm_tokens_per_persona": 100.0})])[0]
        assert res.program_id is not None
        ids.append(res.program_id)
        if point is not None:
            arch.record_evaluation(res.program_id, _record("validation", point[0], point[1], rng))
            validated[res.program_id] = point
    arch.set_run_status("finished")
    arch.close()
    return CostArchive(db, tuple(ids), validated)


@pytest.fixture(scope="module")
def costs(tmp_path_factory: pytest.TempPathFactory) -> CostArchive:
    return build_cost_archive(tmp_path_factory.mktemp("cost"))


def _expected_front(validated: dict[str, tuple[float, float]]) -> set[str]:
    ids = list(validated)
    on = pareto_front([validated[i][0] for i in ids], [validated[i][1] for i in ids])
    return {ids[j] for j in on}


def test_front_is_the_non_dominated_validated_programs(costs: CostArchive) -> None:
    with open_source(costs.db) as src:
        data = front(src)
    got = {r["id"] for r in data["front"]}
    assert got == _expected_front(costs.validated)
    assert got | {r["id"] for r in data["dominated"]} == set(costs.validated)
    assert data["validated"] == len(costs.validated)
    assert data["unvalidated"] == len(POINTS) - len(costs.validated)
    for r in data["front"] + data["dominated"]:
        cov, tpp = costs.validated[r["id"]]
        assert r["coverage"] == pytest.approx(cov)
        assert r["tokens_per_persona"] == pytest.approx(r["tokens"] / r["personas"])
        assert r["tokens_per_persona"] == pytest.approx(tpp)
        assert r["personas"] == N * len(CONTEXTS)
    tpp = [r["tokens_per_persona"] for r in data["front"]]
    assert tpp == sorted(tpp)
    assert [r["rank"] for r in data["front"]] == list(range(1, len(data["front"]) + 1))


def test_repeated_validation_evaluations_are_averaged(tmp_path: Path) -> None:
    built = build_cost_archive(tmp_path)
    pid = next(iter(built.validated))
    rng = np.random.default_rng(5)
    with Archive.open(url_or_path=built.db) as arch:
        arch.record_evaluation(pid, _record("validation", 0.9, 10.0, rng))
    cov, tpp = built.validated[pid]
    with open_source(built.db) as src:
        row = next(r for r in front(src)["front"] + front(src)["dominated"] if r["id"] == pid)
    assert row["evaluations"] == 2
    assert row["coverage"] == pytest.approx((cov + 0.9) / 2)
    assert row["tokens_per_persona"] == pytest.approx((tpp + 10.0) / 2)


def test_text_names_unvalidated_programs_and_simulated_tokens(costs: CostArchive, tmp_path: Path) -> None:
    with open_source(costs.db) as src:
        text = render_front(front(src))
    assert f"{len(POINTS) - len(costs.validated)} programs have no validation evaluation" in text
    assert "SIMULATED" in text.splitlines()[0] and "sim client" in text
    plain = build_cost_archive(tmp_path, simulated=False)
    with open_source(plain.db) as src:
        data = front(src)
    assert data["simulated"] is False and "SIMULATED" not in render_front(data)


def test_cli_json_is_stable_and_equals_the_function(costs: CostArchive, capsys) -> None:
    assert main(["inspect", "--db", str(costs.db), "front", "--json"]) == 0
    first = capsys.readouterr().out
    assert main(["inspect", "--db", str(costs.db), "--json", "front"]) == 0
    assert capsys.readouterr().out == first
    data = json.loads(first)
    assert set(data) == {
        "simulated",
        "tokens_simulated",
        "stage",
        "score",
        "cost",
        "validated",
        "unvalidated",
        "without_cost",
        "champion",
        "front",
        "dominated",
    }
    assert set(data["front"][0]) == {
        "rank",
        "id",
        "label",
        "generation",
        "coverage",
        "tokens_per_persona",
        "tokens",
        "personas",
        "evaluations",
        "champion",
    }
    with open_source(costs.db) as src:
        assert json.loads(dumps(front(src))) == data


def test_front_without_validation_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    db = tmp_path / "novalid.db"
    arch = Archive.create(url_or_path=db, config=ArchiveConfig(islands=1), run_config={}, seed=0)
    rng = np.random.default_rng(0)
    arch.add(
        [
            Candidate(
                ProgramRecord(code=synthetic_code(1), parent_id=None, island=0, generation=0),
                _record("train", 0.3, 10.0, rng),
                {"tail_share": 0.1, "llm_tokens_per_persona": 10.0},
            )
        ]
    )
    arch.close()
    assert main(["inspect", "--db", str(db), "front"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "validation" in err and "1 unvalidated" in err


@pytest.mark.parametrize("cap", [50.0, 119.0, 120.0, 399.0, 400.0, 1000.0, 1e9])
def test_export_under_a_cost_cap_picks_the_best_coverage_within_it(
    costs: CostArchive, tmp_path: Path, cap: float
) -> None:
    within = {pid: p for pid, p in costs.validated.items() if p[1] <= cap}
    best_cov = max(p[0] for p in within.values())
    cheapest = min(p[1] for p in within.values() if p[0] == best_cov)
    expected = sorted(pid for pid, p in within.items() if p == (best_cov, cheapest))[0]
    out = tmp_path / "gen.py"
    result = export_program(costs.db, out=out, max_tokens_per_persona=cap)
    assert result.program_id == expected
    assert result.cost is not None and result.cost["tokens_per_persona"] <= cap
    assert expected in out.read_text()
    with open_source(costs.db) as src:
        assert expected in {r["id"] for r in front(src)["front"]}  # the pick is always on the front


def test_export_cap_below_every_program_names_the_cheapest(
    costs: CostArchive, tmp_path: Path, capsys
) -> None:
    cheapest_id, (_, cheapest) = min(costs.validated.items(), key=lambda kv: kv[1][1])
    with pytest.raises(ExportError) as info:
        export_program(costs.db, out=tmp_path / "g.py", max_tokens_per_persona=cheapest / 2)
    msg = str(info.value)
    assert "\n" not in msg and cheapest_id in msg and f"{cheapest:.1f}" in msg
    assert not (tmp_path / "g.py").exists()
    code = main(
        [
            "export",
            "--db",
            str(costs.db),
            "--max-tokens-per-persona",
            str(cheapest / 2),
            "--out",
            str(tmp_path / "g.py"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and cheapest_id in err[0]
    assert err[0].startswith("error: --max-tokens-per-persona")
    with open_source(costs.db) as src, pytest.raises(Exception, match=">= 0"):
        best_under_cost(src, -1)


def test_export_options_are_exclusive(costs: CostArchive, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(
            [
                "export",
                "--db",
                str(costs.db),
                "--best",
                "--max-tokens-per-persona",
                "100",
                "--out",
                str(tmp_path / "x.py"),
            ]
        )
    assert "not allowed with" in capsys.readouterr().err


def test_report_has_the_cost_front_section(costs: CostArchive) -> None:
    from archive.reader import ArchiveReader

    with ArchiveReader.open(costs.db) as reader:
        content = build_report(reader)
    md = render_markdown(content)
    section = md[md.index("## Cost front") : md.index("## Configuration")]
    for pid in _expected_front(costs.validated):
        assert f"`{pid}`" in section.split("Dominated")[0]
    assert "sim client" in section and "have no validation evaluation" in section

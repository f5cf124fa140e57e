"""Issue 12 items 2-5 at the command level: rare regions all carry full texts, the report's
content (lineage, diff, extremes, spread, references, config, spend) in report.md and the
viewer, one vocabulary for "evaluations", `inspect top` on the champion's stage, and the
inspect/export path through the one read-only reader."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient
from test_inspect_archive_fixture import RARE_CONTEXT, Crafted, crafted  # noqa: F401

from archive import (
    Archive,
    ArchiveConfig,
    Candidate,
    ContextResult,
    EvaluationRecord,
    MutationInfo,
    ProgramRecord,
)
from archive.reader import ArchiveReader
from archive.testing import synthetic_code
from evolve.cli import main
from evolve.outputs.inspect import Source, open_source, rare
from evolve.outputs.report.content import build_report, excerpt
from evolve.outputs.report.writer import render_markdown, write_report
from evolve.outputs.viewer import create_app
from metrics import METRIC_NAMES

CONTEXT = "esports_community"  # shipped, 2 axes


def _long_persona(tag: str, i: int) -> dict[str, object]:
    return {
        "name": f"{tag} {i}",
        "description": f"{tag} {i} grew up somewhere. "
        + "Filler sentence. " * 60
        + f"When it comes to toxicity, {tag}{i} leans strongly toward the high end.",
        "role": "player",
    }


@pytest.fixture(scope="module")
def clustered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive like a real run's: clustered populations, most programs never elites
    (so their texts would not be kept but for the exemplars), and a few far-out personas."""
    db = tmp_path_factory.mktemp("clustered") / "c.db"
    rng = np.random.default_rng(11)
    a = Archive.create(
        url_or_path=db,
        config=ArchiveConfig(islands=1),
        seed=0,
        run_config={"contexts": {"train": [CONTEXT]}, "evaluation": {"n": 10}, "budget": {"evaluations": 30}},
    )
    for i in range(30):
        z = np.clip(0.5 + rng.normal(0, 0.08, size=(10, 2)), 0, 1)
        if i % 7 == 3:
            z[0] = rng.random(2) * [0.1, 1.0]  # a far-out persona now and then
        m = {name: float(rng.random()) for name in METRIC_NAMES}
        ev = EvaluationRecord(
            "train",
            [ContextResult(CONTEXT, m, z, personas=[_long_persona(f"p{i}", j) for j in range(10)])],
            0.5,
            m,
        )
        a.add(
            [
                Candidate(
                    ProgramRecord(synthetic_code(i), None, 0, 0, MutationInfo("synthetic")),
                    ev,
                    {"tail_share": 0.5, "llm_tokens_per_persona": 100.0},
                )
            ]
        )  # one cell: one elite
        a.record_event("evaluated", program_id=None, detail={"stage": "train", "fitness": 0.5})
    a.close()
    return db


def test_every_rare_region_has_a_full_text_example(clustered: Path, capsys) -> None:
    with open_source(clustered) as src:
        data = rare(src, context=CONTEXT, k=1000)
    assert data["regions"] and all(r["example"] is not None for r in data["regions"])
    for r in data["regions"]:
        ex = r["example"]
        assert ex["description"].endswith("toward the high end.")  # never cut before the traits
        assert ex["fields"] == {"role": "player"}
        cell = [min(int(v * data["bins"]), data["bins"] - 1) for v in ex["position"].values()]
        assert cell == r["cell"]
    assert main(["inspect", "--db", str(clustered), "rare", "--context", CONTEXT]) == 0
    out = capsys.readouterr().out
    assert "example persona of each region (full text)" in out
    assert out.count("leans strongly toward the high end.") >= len(data["regions"][:10])
    with ArchiveReader.open(clustered) as r:
        (count,) = r.context_counts()
        assert 0 < count.exemplars <= 25 and count.texts < count.positions


def test_viewer_rare_page_lists_an_example_for_every_region(clustered: Path) -> None:
    with TestClient(create_app(str(clustered)), base_url="http://127.0.0.1") as c:
        html = c.get(f"/rare?context={CONTEXT}&k=200").text
    regions = html.count('class="region"')
    assert regions > 1 and html.count('class="example"') >= regions
    assert "no stored text for a persona of this region" not in html


def test_summary_and_report_use_one_word_for_evaluations(clustered: Path, capsys) -> None:
    assert main(["inspect", "--db", str(clustered), "summary", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["evaluations"] == 30 and data["stored_evaluations"] == 30
    assert data["budget"]["evaluations"] == {"limit": 30.0, "used": 30.0}
    assert main(["inspect", "--db", str(clustered), "summary"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"evaluations: 30 of 30 \(proposals fully evaluated on train", text)
    assert "stored evaluations: 30 (train 30)" in text


def test_top_defaults_to_the_stage_that_chooses_the_champion(
    crafted: Crafted, clustered: Path, capsys
) -> None:  # noqa: F811
    assert main(["inspect", "--db", str(crafted.db), "top", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["stage"] == data["champion_stage"] == "validation"
    assert data["programs"][0]["id"] == crafted.champion
    assert main(["inspect", "--db", str(clustered), "top", "--json"]) == 0  # nothing validated: train
    assert json.loads(capsys.readouterr().out)["stage"] == "train"


def test_report_content_and_markdown(crafted: Crafted, tmp_path: Path) -> None:  # noqa: F811
    class Writer:  # what run.py passes: the writer archive (only its run id is used)
        run_id = None

    path = write_report(
        Writer(),
        {"db": str(crafted.db), "simulated": True, "stop_reason": "evaluations (6)"},
        out_dir=tmp_path,
    )
    md = path.read_text()
    assert md.startswith("# persona-evolve run report") and "SIMULATED" in md
    assert md.count("*floor: n × centre*") == 2  # validation and test tables
    assert "## Champion lineage" in md and "raise temperature" in md and "+0.1500" in md
    assert "Diff of the champion against its seed" in md and "+SPREAD = 1.4" in md and "-SPREAD = 1.0" in md
    assert "min / median / max" in md and "## The champion's most extreme personas" in md
    assert "### utility_shutoff_hotline (test)" in md and "anger" in md
    assert "## Budget and spend" in md and "| mutator | 3 |" in md and "stopped by: evaluations (6)" in md
    assert "evaluations: 0 (proposed programs fully evaluated" in md and "stored evaluations: 21" in md
    for png in ("fitness.png", "grid.png", "test_metrics.png", "personas.png"):
        assert (tmp_path / png).stat().st_size > 1000 and f"]({png})" in md
    with ArchiveReader.open(crafted.db) as r:
        content = build_report(r)
    champ = content["champion"]
    assert champ["id"] == crafted.champion and champ["stage"] == "validation"
    assert [s["id"] for s in content["lineage"]["steps"]] == list(reversed(crafted.lineage))
    val = next(t for t in content["stages"] if t["stage"] == "validation")
    row = val["rows"][0]
    assert row["label"] == "champion" and row["means"]["coverage"] == pytest.approx(0.66)
    lo, med, hi = row["spread"]["coverage"]
    assert lo <= med <= hi and set(row["spread"]) == set(METRIC_NAMES)
    assert val["references"]["floor"]["coverage"] < val["references"]["random"]["coverage"]
    extremes = {e["context"]: e for e in content["extremes"]}
    assert set(extremes) >= {"utility_shutoff_hotline", "fishing_village_quota_cuts", RARE_CONTEXT}
    dists = [p["distance"] for p in extremes["utility_shutoff_hotline"]["personas"]]
    assert dists == sorted(dists, reverse=True) and len(dists) == 3
    assert render_markdown(content).count("## Validation") == 1


def test_excerpt_keeps_the_end() -> None:
    text = "start " + "middle " * 300 + "TRAITS AT THE END"
    out = excerpt(text, 200)
    assert len(out) <= 200 and out.startswith("start") and out.endswith("TRAITS AT THE END") and " … " in out
    assert excerpt("short  text\n") == "short text"


def test_viewer_report_page_shows_the_same_content(crafted: Crafted) -> None:  # noqa: F811
    with TestClient(create_app(str(crafted.db)), base_url="http://127.0.0.1") as c:
        r = c.get("/report")
        assert r.status_code == 200
        html = r.text
        assert 'href="/report"' in c.get("/").text
    for needle in (
        "Champion lineage",
        "raise temperature",
        "Diff against its seed",
        "+SPREAD = 1.4",
        "most extreme personas",
        "utility_shutoff_hotline",
        "floor: n × centre",
        "Budget and spend",
        "stored evaluations",
        crafted.champion,
    ):
        assert needle in html, needle


def test_inspect_and_export_read_through_the_reader(crafted: Crafted) -> None:  # noqa: F811
    with open_source(crafted.db) as src:
        assert isinstance(src.reader, ArchiveReader)
        assert not hasattr(src, "archive") and not hasattr(src, "engine")
    with ArchiveReader.open(crafted.db) as reader:
        src = Source.of(reader)
        src.close()  # a wrapping source leaves the reader open
        assert reader.program(crafted.champion).id == crafted.champion
    import evolve.outputs.export as export
    import evolve.outputs.inspect.source as source

    for module in (export, source):
        text = Path(module.__file__).read_text()
        assert "archive.schema" not in text and "Archive.open" not in text and "make_engine" not in text

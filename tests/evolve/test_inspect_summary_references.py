"""The noise floor and random reference beside the champion's scores: ``inspect summary``
(text and JSON), the run summary rows and the report tables."""

from __future__ import annotations

import json

import pytest
from test_inspect_archive_fixture import Crafted, crafted  # noqa: F401

import metrics
from archive.records import METRIC_NAMES
from evolve.cli import main


def test_summary_json_has_floor_and_random_for_the_champions_contexts(crafted: Crafted, capsys) -> None:
    assert main(["inspect", "--db", str(crafted.db), "summary", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    refs = data["champion"]["references"]
    assert refs["n"] == 25 and refs["random_seeds"] == metrics.RANDOM_SEEDS
    from archive import Archive

    arch = Archive.open(url_or_path=str(crafted.db), readonly=True)
    try:
        for stage in (data["champion"]["stage"], "test"):
            ev = arch.evaluations(data["champion"]["id"], stage=stage)[-1]
            shapes = [
                (25, c.positions.shape[1]) for c in ev.contexts if c.metrics and c.positions is not None
            ]
            want = metrics.mean_references(shapes, mc_samples=refs["mc_samples"], objective="coverage")
            for kind in ("floor", "random"):
                assert set(refs[stage][kind]) == set(METRIC_NAMES)
                assert refs[stage][kind] == pytest.approx(want[kind])
            assert refs[stage]["fitness"]["floor"] == pytest.approx(refs[stage]["floor"]["coverage"])
            # the floor is far below the random reference on coverage
            assert refs[stage]["floor"]["coverage"] < refs[stage]["random"]["coverage"]
    finally:
        arch.close()


def test_summary_text_prints_reference_rows_under_each_stage(crafted: Crafted, capsys) -> None:
    assert main(["inspect", "--db", str(crafted.db), "summary"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    stage_rows = [i for i, ln in enumerate(lines) if ln.startswith(("validation ", "test "))]
    assert len(stage_rows) == 2
    for i in stage_rows:
        assert lines[i + 1].lstrip().startswith("floor") and lines[i + 2].lstrip().startswith("random")
    assert "n identical personas at the centre" in out and "mean of 8 draws" in out


def test_report_tables_and_run_rows_carry_the_references(tmp_path) -> None:
    from evolve.loop.final_stage import reference_lines
    from evolve.outputs.report.writer import render_template

    six = {name: 0.5 for name in METRIC_NAMES}
    refs = metrics.mean_references([(10, 2)], mc_samples=500, objective="coverage")
    summary = {
        "references": {"n": 10, "mc_samples": 500, "random_seeds": 8, "validation": refs, "test": None}
    }
    rows = render_template(
        '{% import "tables.md.j2" as t %}{{ t.means(rows, refs) | trim }}',
        rows=[{"label": "seed:naive", "means": six}],
        refs=refs,
    ).splitlines()
    assert rows[-2].startswith("| *floor: n × centre* |") and rows[-1].startswith("| *random: n uniform* |")
    assert f"*{refs['floor']['coverage']:.4f}*" in rows[-2]
    assert (
        len(
            render_template(
                '{% import "tables.md.j2" as t %}{{ t.means(rows, none) | trim }}',
                rows=[{"label": "seed:naive", "means": six}],
            ).splitlines()
        )
        == 3
    )
    note = render_template(
        '{% import "tables.md.j2" as t %}{{ t.reference_note(refs) }}', refs=summary["references"]
    )
    assert "mean of 8 draws" in note and f"floor {refs['fitness']['floor']:.4f}" in note
    text = reference_lines(summary, "validation")
    assert [t.split()[0] for t in text] == ["floor", "random"]
    assert f"{refs['random']['coverage']:.4f}" in text[1]
    assert reference_lines(summary, "test") == [] and reference_lines({}, "validation") == []


def test_run_references_cover_validation_and_test_shapes() -> None:
    from evolve.config import RunConfig
    from evolve.loop.final_stage import run_references
    from evolve.loop.run import load_context_sets

    config = RunConfig()
    contexts = load_context_sets(config)
    got = run_references(config, contexts)
    n, mc = config.evaluation.n, config.evaluation.mc_samples
    assert (got["n"], got["mc_samples"], got["random_seeds"]) == (n, mc, 8)
    want = metrics.mean_references(
        [(n, c.k) for c in contexts.test], mc_samples=mc, objective=config.fitness.as_objective()
    )
    assert got["test"] == want

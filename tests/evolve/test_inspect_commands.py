"""``persona-evolve inspect``: every command in text and JSON, errors, and known answers
on the crafted archive (see test_inspect_archive_fixture.py)."""

from __future__ import annotations

import json

import pytest
from test_inspect_archive_fixture import CORNER, RARE_AXES, RARE_CONTEXT, Crafted, crafted  # noqa: F401

from archive.records import METRIC_NAMES
from evolve.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["inspect", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def run_json(capsys: pytest.CaptureFixture[str], db: object, *argv: str) -> dict:
    code, out, err = run(capsys, "--db", str(db), *argv, "--json")
    assert code == 0, err
    return json.loads(out)


# ------------------------------------------------------------------ summary


def test_summary_json_counts_rejections_champion_spend(
    crafted: Crafted, capsys: pytest.CaptureFixture[str]
) -> None:
    data = run_json(capsys, crafted.db, "summary")
    assert data["simulated"] is True
    assert data["programs"] == 16
    # "evaluations" is the run's and the budget's unit (proposals fully evaluated on train); the
    # crafted archive logs none. Every stored evaluation, seeds and all stages, is counted apart.
    assert data["evaluations"] == 0
    assert data["stored_evaluations"] == 6 + 10 + 3 + 2
    assert data["stored_evaluations_by_stage"] == {"smoke": 10, "train": 6, "validation": 3, "test": 2}
    assert data["rejections"] == crafted.rejections
    assert data["champion"]["id"] == crafted.champion and data["champion"]["stage"] == "validation"
    assert set(data["champion"]["metrics"]) >= set(METRIC_NAMES)
    assert data["champion"]["test"]["coverage"] == pytest.approx(0.64)
    assert data["spend"]["mutator"]["calls"] == 3 and data["spend"]["respondent"]["cached"] == 20
    assert data["spend_total"]["cost_usd"] == pytest.approx(0.003)
    assert data["config"]["models"] == {
        "mutator": "sim",
        "persona": "sim",
        "respondent": "sim",
        "author": "sim",
    }
    assert data["run"]["status"] == "finished"
    assert data["grid"]["filled"] == data["elites"] > 0


def test_summary_text_says_simulated_and_names_the_champion(crafted: Crafted, capsys) -> None:
    code, out, _ = run(capsys, "--db", str(crafted.db), "summary")
    assert code == 0
    assert out.startswith("SIMULATED WORLD")
    assert crafted.champion in out and "diff_failed 3" in out and "mutator" in out


def test_json_flag_before_or_after_the_command(crafted: Crafted, capsys) -> None:
    code, out, _ = run(capsys, "--db", str(crafted.db), "--json", "summary")
    assert code == 0 and json.loads(out)["programs"] == 16
    code, out, _ = run(capsys, "summary", "--db", str(crafted.db), "--json")
    assert code == 0 and json.loads(out)["programs"] == 16


# ------------------------------------------------------------------ top


def test_top_train_orders_by_fitness_with_six_metrics(crafted: Crafted, capsys) -> None:
    data = run_json(capsys, crafted.db, "top", "-k", "3", "--stage", "train")
    ids = [p["id"] for p in data["programs"]]
    assert ids[0] == crafted.best_train and len(ids) == 3
    fits = [p["fitness"] for p in data["programs"]]
    assert fits == sorted(fits, reverse=True)
    for p in data["programs"]:
        assert set(p["metrics"]) == set(METRIC_NAMES)
        assert p["metrics"]["coverage"] == pytest.approx(p["fitness"])


def test_top_validation_uses_validation_metrics(crafted: Crafted, capsys) -> None:
    data = run_json(capsys, crafted.db, "top", "--stage", "validation")
    assert data["stage"] == "validation"
    assert [p["id"] for p in data["programs"]][0] == crafted.champion
    assert data["programs"][0]["metrics"]["coverage"] == pytest.approx(0.66)
    assert len(data["programs"]) == 3


def test_top_text_lists_labels(crafted: Crafted, capsys) -> None:
    code, out, _ = run(capsys, "--db", str(crafted.db), "top", "-k", "10")
    assert code == 0 and "seed:sobol" in out and crafted.best_train in out
    assert "validation fitness" in out  # the column says which stage (here the champion's) it ranks by
    code, out, _ = run(capsys, "--db", str(crafted.db), "top", "--stage", "train")
    assert code == 0 and "train fitness" in out


# ------------------------------------------------------------------ lineage


def test_lineage_by_prefix_walks_back_to_the_seed(crafted: Crafted, capsys) -> None:
    data = run_json(capsys, crafted.db, "lineage", crafted.champion[:8])
    assert [s["id"] for s in data["steps"]] == list(crafted.lineage)
    assert data["complete"] is True and data["length"] == 4
    first, second = data["steps"][0], data["steps"][1]
    assert first["mutation"] == {
        "operator": "llm_diff",
        "directive": "smaller batches",
        "model": "openai/gpt-4o-mini",
        "prompt_tokens": 0,
        "completion_tokens": 0,
    }
    assert first["delta_fitness"] == pytest.approx(0.62 - 0.70)
    assert second["delta_fitness"] == pytest.approx(0.70 - 0.55)
    assert data["steps"][-1]["label"] == "seed:sobol" and data["steps"][-1]["delta_fitness"] is None


def test_lineage_text_shows_operators_and_signed_changes(crafted: Crafted, capsys) -> None:
    code, out, _ = run(capsys, "--db", str(crafted.db), "lineage", crafted.champion)
    assert code == 0
    assert "constant_perturbation" in out and "push extremes" in out and "+0.1500" in out and "-0.0800" in out
    assert "train fitness" in out and "Δ train" in out  # which stage, where top may show validation


# ------------------------------------------------------------------ grid


def test_grid_json_matches_elites_and_writes_png(crafted: Crafted, capsys, tmp_path) -> None:
    png = tmp_path / "grid.png"
    data = run_json(capsys, crafted.db, "grid", "--png", str(png))
    assert data["shape"] == [10, 8] and data["islands"] == 2
    assert data["png"] == str(png) and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    filled = [(i, j) for i, row in enumerate(data["fitness"]) for j, v in enumerate(row) if v is not None]
    assert len(filled) == len({tuple(c["cell"]) for c in data["cells"]})
    assert data["best"] == pytest.approx(0.70)
    assert len(data["descriptors"][0]["edges"]) == 11


def test_grid_one_island_text(crafted: Crafted, capsys) -> None:
    code, out, _ = run(capsys, "--db", str(crafted.db), "grid", "--island", "1")
    assert code == 0 and "island 1" in out and "0.620" in out and "0.700" not in out
    assert "tail_share" in out and "[0.90, 1.00]" in out
    assert max(len(line) for line in out.splitlines()) <= 80  # fits a terminal


# ------------------------------------------------------------------ rare


def test_rare_reports_the_corner_first_with_one_program(crafted: Crafted, capsys) -> None:
    data = run_json(capsys, crafted.db, "rare", "-k", "3")  # default context: the most personas
    assert data["context"] == RARE_CONTEXT and data["axes"] == list(RARE_AXES)
    assert data["personas"] == 320 and data["programs"] == 16
    first = data["regions"][0]
    assert first["programs"] == 1 and first["personas"] == 2
    assert first["program_ids"] == [crafted.corner_program]
    assert first["cell"] == [4, 4, 0]
    for axis, target in zip(RARE_AXES, CORNER):
        assert first["position"][axis] == pytest.approx(target, abs=0.03)
        lo, hi = first["ranges"][axis]
        assert lo <= first["position"][axis] <= hi
    assert first["example"]["name"] in ("Dolores Vance", "Grigor Hale")
    assert data["regions"][1]["programs"] == 16
    assert {o["example"]["name"] for o in data["outliers"][:2]} == {"Dolores Vance", "Grigor Hale"}
    assert data["outliers"][0]["knn_distance"] > 10 * data["outliers"][2]["knn_distance"]
    assert [c["id"] for c in data["contexts"]][0] == RARE_CONTEXT


def test_rare_text_lists_axes_example_and_other_contexts(crafted: Crafted, capsys) -> None:
    code, out, _ = run(capsys, "--db", str(crafted.db), "rare")
    assert code == 0
    assert "distrust_airline" in out and "Dolores Vance" in out
    assert "other contexts" in out and "esports_community" in out


def test_rare_on_a_named_context(crafted: Crafted, capsys) -> None:
    data = run_json(capsys, crafted.db, "rare", "--context", "esports_community", "--bins", "2")
    assert data["axes"] == ["competitive_drive", "toxicity_tolerance"] and data["bins"] == 2
    assert data["personas"] == 120 and data["cells_total"] == 4


# ------------------------------------------------------------------ diff


def test_diff_between_parent_and_child(crafted: Crafted, capsys) -> None:
    child, parent = crafted.lineage[0], crafted.lineage[1]
    data = run_json(capsys, crafted.db, "diff", parent[:7], child[:7])
    assert data["a"]["id"] == parent and data["b"]["id"] == child
    assert "-BATCH_SIZE = 5" in data["diff"] and "+BATCH_SIZE = 4" in data["diff"]
    assert data["added"] == 1 and data["removed"] == 1 and not data["identical"]
    code, out, _ = run(capsys, "--db", str(crafted.db), "diff", "seed:sobol", "seed:sobol")
    assert code == 0 and "identical" in out
    assert data["simulated"] is True and out.startswith("SIMULATED WORLD")  # a sim run says so everywhere


# ------------------------------------------------------------------ errors (one line each)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["lineage", "zzzzzzzz"], "unknown program"),
        (["lineage", "abc"], "too short"),
        (["diff", "seed:nope", "seed:sobol"], "no program labelled"),
        (["rare", "--context", "no_such_context"], "no personas stored for context"),
        (["grid", "--island", "7"], "out of range"),
        (["top", "--stage", "test", "-k", "0"], "-k must be >= 1"),
    ],
)
def test_errors_are_one_line(crafted: Crafted, capsys, argv: list[str], fragment: str) -> None:
    code, out, err = run(capsys, "--db", str(crafted.db), *argv)
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and fragment in err


def test_ambiguous_prefix_lists_the_matches(crafted: Crafted, capsys, tmp_path) -> None:
    import shutil
    import sqlite3

    db = tmp_path / "ambiguous.db"
    shutil.copy(crafted.db, db)
    con = sqlite3.connect(db)
    for pid in ("abcdef0000000001", "abcdef0000000002"):
        con.execute(
            "INSERT INTO programs (id, run_id, code, parent_id, island, generation, prompt_tokens, "
            "completion_tokens, created_at) VALUES (?, 1, 'def generate(c, n, l, r): return []', "
            "NULL, 0, 0, 0, 0, 0)",
            (pid,),
        )
        con.execute("INSERT INTO run_programs (run_id, program_id, created_at) VALUES (1, ?, 0)", (pid,))
    con.commit()
    con.close()
    code, _, err = run(capsys, "--db", str(db), "diff", "abcdef", crafted.champion)
    assert code == 1 and "ambiguous" in err and "abcdef0000000001" in err and "abcdef0000000002" in err
    # the two rows were written by hand, so their code does not hash to their ids: refused
    code, _, err = run(capsys, "--db", str(db), "diff", "abcdef0000000002", "abcdef0000000001")
    assert code == 1 and "abcdef0000000002" in err and "does not match its id" in err and err.count("\n") == 1
    code, _, err = run(capsys, "--db", str(db), "lineage", "abcdef0000000009")
    assert code == 1 and "unknown program" in err and "abcdef000000000" in err


def test_missing_db_and_empty_archive(crafted: Crafted, capsys, tmp_path) -> None:
    code, _, err = run(capsys, "--db", str(tmp_path / "nope.db"), "summary")
    assert code == 1 and "no such database" in err
    for argv in (["top"], ["grid"], ["rare"], ["lineage", "abcdef12"]):
        code, _, err = run(capsys, "--db", str(crafted.empty_db), *argv)
        assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, (argv, err)
    data = run_json(capsys, crafted.empty_db, "summary")
    assert data["programs"] == 0 and data["evaluations"] == 0 and data["champion"] is None


def test_not_an_archive(tmp_path, capsys) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_text("not sqlite at all " * 100)
    code, _, err = run(capsys, "--db", str(bogus), "summary")
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1


def test_command_required(crafted: Crafted, capsys) -> None:
    code, _, err = run(capsys, "--db", str(crafted.db))
    assert code == 2 and "give a command" in err


@pytest.mark.parametrize(
    "specs",
    [
        (("a", 0.0, 1.0, 4),),
        (("a", 0.0, 1.0, 3), ("b", 0.0, 1.0, 2), ("c", 1.0, 100.0, 2)),
    ],
)
def test_grid_with_one_or_three_descriptors(tmp_path, capsys, specs) -> None:
    import numpy as np

    from archive import Archive, ArchiveConfig
    from archive.records import DescriptorSpec
    from archive.testing import synthetic_candidate

    descs = tuple(DescriptorSpec(n, lo, hi, b, log=lo > 0) for n, lo, hi, b in specs)
    db = tmp_path / "g.db"
    rng = np.random.default_rng(1)
    with Archive.create(
        url_or_path=db, config=ArchiveConfig(islands=1, descriptors=descs), run_config={}, seed=0
    ) as a:
        for i in range(6):
            values = {d.name: float(rng.uniform(d.low, d.high)) for d in descs}
            a.add([synthetic_candidate(i, rng, contexts=1, personas=4, axes=2, descriptors=values)])
        n_elites = len(a.grid().elites)
    data = run_json(capsys, db, "grid", "--png", str(tmp_path / "g.png"))
    assert data["shape"] == [d.bins for d in descs] and data["filled"] == n_elites
    assert np.asarray(data["fitness"], dtype=float).shape == tuple(data["shape"])
    code, out, _ = run(capsys, "--db", str(db), "grid")
    assert code == 0 and out.count("\n") >= 3 and (tmp_path / "g.png").stat().st_size > 1000
    if len(descs) > 2:
        assert "best over c" in out

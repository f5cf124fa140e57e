"""End-to-end runs on the simulated world: summary shape, report, resume, SIGKILL + resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evolve.cli import main
from metrics import METRIC_NAMES

pytestmark = pytest.mark.ray

SMALL = """
seed = 3
[contexts]
train = ["esports_community", "online_dating_users", "parish_congregation", "rural_broadband_adoption"]
validation = ["fishing_village_quota_cuts", "online_course_learners"]
test = ["divorced_coparents", "pentecostal_diaspora_church"]
[evaluation]
n = 8
mc_samples = 2000
timeout_s = 60
[cascade]
smoke_contexts = 1
threshold = 0.8
[islands]
count = 2
migration_interval = 4
[budget]
evaluations = 6
"""


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "run.toml"
    path.write_text(SMALL + extra)
    return path


def _six(d) -> bool:
    return isinstance(d, dict) and set(d) == set(METRIC_NAMES)


def _evaluated_ids(db: Path) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT program_id, detail FROM events WHERE kind = 'evaluated' ORDER BY id")
        return [pid for pid, detail in rows if json.loads(detail or "{}").get("stage") == "train"]


@pytest.fixture(scope="module")
def short_run(ray_session, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    db = tmp / "archive.db"
    code = main(["run", "--config", str(_config(tmp)), "--db", str(db), "--json"])
    return code, db


def test_short_run_summary(short_run, capsys):
    code, db = short_run
    assert code == 0
    assert db.exists()


def test_short_run_json_shape(ray_session, tmp_path, capsys):
    db = tmp_path / "archive.db"
    assert (
        main(["run", "--config", str(_config(tmp_path)), "--db", str(db), "--json", "--budget-evals", "3"])
        == 0
    )
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["simulated"] is True
    assert summary["db"] == str(db)
    assert summary["evaluations"] == 3
    # what to expect on this machine, measured on the seeds (issue 23): the field and its line
    expect = summary["expect"]
    assert expect["measured_on"] == "seeds" and expect["seconds_per_evaluation"] > 0
    assert expect["minutes_for_evaluations"] == pytest.approx(
        3 * expect["seconds_per_evaluation"] / 60, abs=0.01
    )
    assert expect["line"] in captured.err and "for 3 evaluations on this machine" in expect["line"]
    assert summary["programs"] >= 3
    assert _six(summary["champion"]["train"]) and _six(summary["champion"]["validation"])
    assert set(summary["seeds"]) == {"naive", "batch", "sobol"}
    assert all(_six(v) for v in summary["seeds"].values())
    assert set(summary["test"]) == {"champion", "naive", "batch", "sobol"}
    assert all(_six(v) for v in summary["test"].values())
    refs = summary["references"]  # the noise floor and the random reference beside the scores
    assert refs["random_seeds"] == 8 and all(
        _six(refs[s][k]) for s in ("validation", "test") for k in ("floor", "random")
    )
    assert refs["test"]["floor"]["coverage"] < refs["test"]["random"]["coverage"]
    report = Path(summary["report"])
    assert report.read_text().count("SIMULATED") >= 1
    assert report.read_text().count("*floor: n × centre*") == 2
    assert "(run 1, finished;" in report.read_text()  # the report describes the run as it ended
    # the sim respondent makes no calls: the spend table says why it has no respondent row
    assert "answers every questionnaire in process, with no model call" in report.read_text()
    for png in ("fitness.png", "grid.png", "test_metrics.png", "personas.png"):
        assert (report.parent / png).stat().st_size > 1000
    # validation decides the champion: nothing has a better validation fitness than it
    with sqlite3.connect(db) as conn:
        best = conn.execute(
            "SELECT program_id FROM evaluations WHERE stage='validation' ORDER BY fitness DESC LIMIT 1"
        ).fetchone()[0]
    assert best == summary["champion"]["id"]
    # test contexts are used once per program, even when the champion is a seed
    with sqlite3.connect(db) as conn:
        per_program = dict(
            conn.execute(
                "SELECT program_id, COUNT(*) FROM evaluations WHERE stage='test' GROUP BY program_id"
            ).fetchall()
        )
    assert set(per_program.values()) == {1}
    assert set(per_program) == {summary["champion"]["id"], *summary["seed_ids"].values()}


def test_resume_continues_without_reevaluating(short_run, capsys):
    _, db = short_run
    before = _evaluated_ids(db)
    assert len(before) == 6
    capsys.readouterr()
    assert main(["run", "--db", str(db), "--resume", "--budget-evals", "9", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    after = _evaluated_ids(db)
    assert summary["evaluations"] == 9
    assert after[:6] == before and len(after) == 9
    assert len(set(after)) == len(after), "a program was evaluated twice"
    with sqlite3.connect(db) as conn:
        seeds = conn.execute(
            "SELECT COUNT(*) FROM evaluations e JOIN programs p ON p.id = e.program_id "
            "WHERE p.label LIKE 'seed:%' AND e.stage = 'train'"
        ).fetchone()[0]
        kinds = [r[0] for r in conn.execute("SELECT kind FROM events WHERE kind LIKE 'run_%' ORDER BY id")]
    assert seeds == 3, "seeds were re-evaluated on resume"
    assert kinds.count("run_started") == 1 and "run_resumed" in kinds


def test_new_run_refuses_existing_db(short_run, capsys):
    _, db = short_run
    assert main(["run", "--db", str(db), "--budget-evals", "1"]) == 1
    assert "already exists: use --resume" in capsys.readouterr().err


def test_sigkill_then_resume(ray_session, tmp_path):
    """A driver killed with SIGKILL mid-run resumes from its database with nothing lost."""
    import ray

    address = ray.get_runtime_context().gcs_address
    db = tmp_path / "archive.db"
    config = _config(tmp_path).read_text().replace("evaluations = 6", "evaluations = 40")
    (tmp_path / "run.toml").write_text(config)
    env = dict(os.environ)
    cmd = [
        sys.executable,
        "-m",
        "evolve",
        "run",
        "--config",
        str(tmp_path / "run.toml"),
        "--db",
        str(db),
        "--ray-address",
        address,
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    if len(_evaluated_ids(db)) >= 3:
                        break
                except sqlite3.OperationalError:
                    pass
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.2)
        else:
            pytest.fail("the run did not reach 3 evaluations in time")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = _evaluated_ids(db)
    assert len(kept) >= 3
    resumed = subprocess.run(
        cmd[:-2] + ["--resume", "--budget-evals", str(len(kept) + 2), "--json", "--ray-address", address],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads(resumed.stdout)
    after = _evaluated_ids(db)
    assert after[: len(kept)] == kept
    assert summary["evaluations"] == len(kept) + 2 == len(after)
    assert len(set(after)) == len(after)


def test_inspect_and_export_on_a_real_run(short_run, tmp_path, capsys):
    """The user's path after a run: inspect every view, export the champion, run it."""
    _, db = short_run
    capsys.readouterr()
    assert main(["inspect", "--db", str(db), "summary", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["simulated"] is True and summary["programs"] >= 4 and summary["evaluations"] > 6
    assert main(["inspect", "--db", str(db), "top", "-k", "3", "--json"]) == 0
    top = json.loads(capsys.readouterr().out)["programs"]
    assert 1 <= len(top) <= 3 and all(set(p["metrics"]) == set(METRIC_NAMES) for p in top)
    assert [p["fitness"] for p in top] == sorted((p["fitness"] for p in top), reverse=True)
    champion = summary["champion"]["id"]
    assert main(["inspect", "--db", str(db), "lineage", champion, "--json"]) == 0
    lineage = json.loads(capsys.readouterr().out)
    assert lineage["steps"][0]["id"] == champion and lineage["steps"][-1]["label"].startswith("seed:")
    assert main(["inspect", "--db", str(db), "grid", "--png", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").stat().st_size > 1000
    assert "island" in capsys.readouterr().out
    assert main(["inspect", "--db", str(db), "rare", "--json", "-k", "3"]) == 0
    rare = json.loads(capsys.readouterr().out)
    assert rare["regions"] and all(r["programs"] >= 1 for r in rare["regions"])
    out = tmp_path / "champion.py"
    assert main(["export", "--db", str(db), "--best", "--out", str(out)]) == 0
    text = out.read_text()
    assert "SIMULATED" in text and champion in text
    capsys.readouterr()
    assert (
        main(["generate", "--generator", str(out), "--context", "divorced_coparents", "-n", "5", "--json"])
        == 0
    )
    assert len(json.loads(capsys.readouterr().out)["personas"]) == 5

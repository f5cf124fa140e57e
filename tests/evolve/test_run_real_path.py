"""The real-model path end to end, against a stdlib OpenAI-compatible stub on 127.0.0.1:
the LLM mutator's edits applied or rejected with the reason fed back, tokens and cost per
call, an estimate that bounds the calls made, labels that tell the truth, a run's life
(failed with its cause, resumable; finished runs resume only on a raised budget; changed
settings refused; the report next to its database), and one-line failures in seconds."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from stub_openai_server import MutationScript, SimReplies, StubServer, role_of

from evolve.budget.estimate import estimate_run
from evolve.cli import main
from evolve.config import load_config
from evolve.loop.run import load_context_sets
from evolve.outputs.labels import simulated_roles, simulation_label

BASE = """
seed = 1
[contexts]
train = ["esports_community", "online_dating_users"]
validation = ["fishing_village_quota_cuts"]
test = ["divorced_coparents"]
[evaluation]
n = 5
mc_samples = 1000
timeout_s = 60
[cascade]
smoke_contexts = 0
threshold = 0.0
[islands]
count = 1
[mutation]
full_rewrite_rate = 0.0
[ray]
max_in_flight = 2
"""


def _errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


def _rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def _events(db: Path, kind: str) -> list[dict]:
    return [
        json.loads(d or "{}")
        for (d,) in _rows(db, f"SELECT detail FROM events WHERE kind = '{kind}' ORDER BY id")
    ]


def _status(db: Path) -> str:
    return _rows(db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1")[0][0]


@pytest.mark.ray
@pytest.mark.slow  # about 35-50 s on 2 cores
def test_llm_mutator_against_the_stub_and_the_estimate_bounds_the_calls(
    ray_session, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("HOME", str(tmp_path))  # the response cache goes to this test's folder
    script = MutationScript(kinds=("no_match", "empty", "valid", "prose", "fenced"))
    replies = SimReplies(mutator=script)
    with StubServer(reply=replies) as srv:
        role = f'{{ model = "openai/gpt-4o-mini", api_base = "{srv.base_url}" }}'
        cfg = tmp_path / "run.toml"
        # one candidate at a time: the next prompt is built after the last answer's rejection is
        # recorded, whatever the machine's load (with 2 in flight the order raced it)
        serial = BASE.replace("max_in_flight = 2", "max_in_flight = 1")
        cfg.write_text(
            serial + f"[models]\nmutator = {role}\npersona = {role}\nrespondent = {role}\n"
            "[budget]\nevaluations = 2\n[search]\npromotion = false\n"
        )
        db = tmp_path / "real" / "archive.db"
        assert main(["run", "--config", str(cfg), "--db", str(db), "--json"]) == 0
        roles = [role_of(r.messages) for r in srv.requests]
    out = capsys.readouterr()
    summary = json.loads(out.out)
    # labels: every role the run uses is real (author, unused, defaults to sim: not a reason)
    assert summary["simulated"] is False and summary["simulated_roles"] == []
    assert "SIMULATED" not in out.err
    assert _status(db) == "finished" and Path(summary["report"]).parent == db.parent
    # every kind of mutation answer was met; rejects carry their reason and are fed back
    assert {"valid", "no_match", "empty"} <= set(script.sent)
    reasons = {e["reason"] for e in _events(db, "rejected")}
    assert "diff_failed" in reasons or "no_op" in reasons
    mutator_prompts = [r.messages[-1]["content"] for r in srv.requests if role_of(r.messages) == "mutator"]
    if "diff_failed" in reasons:
        assert any("last proposal rejected" in p for p in mutator_prompts[1:])
    programs = _rows(db, "SELECT operator, model, prompt_tokens FROM programs WHERE operator = 'llm_diff'")
    assert programs and all(m == "openai/gpt-4o-mini" and pt > 0 for _, m, pt in programs)
    calls = _rows(
        db, "SELECT role, prompt_tokens, completion_tokens, cost_usd FROM llm_calls WHERE role = 'mutator'"
    )
    assert len(calls) >= roles.count("mutator")
    assert all(pt > 0 for _, pt, _, _ in calls) and sum(c for *_, c in calls) > 0  # gpt-4o-mini is priced
    # the estimate: an upper bound with retries; without, within 25 % on this fault-free stub.
    # This run has no promotion races ([search] promotion = false): which programs a race
    # draws is the search's luck (the seeds cost 1 to 6 persona calls per context here), not
    # the cost model's; the estimate then counts no race either
    config = load_config(cfg)
    est = estimate_run(config, load_context_sets(config))
    assert est["stages"]["races"] == {"mutator": 0.0, "persona": 0.0, "respondent": 0.0}
    made = {r: roles.count(r) for r in ("persona", "respondent")}
    made["persona"] += roles.count("preflight")
    # calls the response cache answered were asked for all the same: evaluations are paired
    # (the same seeds), so a child that behaves like its parent asks the same prompts
    cached = dict(_rows(db, "SELECT role, COUNT(*) FROM llm_calls WHERE cached GROUP BY role"))
    asked = {r: made[r] + cached.get(r, 0) for r in made}
    expected = {r.role: r.calls for r in est["run"]}
    print(
        f"estimate vs stub: made {made}, cached {cached}, expected {expected}, upper {est['run_upper_calls']}"
    )
    for r in ("persona", "respondent"):
        assert est["run_upper_calls"][r] >= made[r], (r, made, est["run_upper_calls"])
    total_asked = asked["persona"] + asked["respondent"]
    total_expected = expected["persona"] + expected["respondent"]
    assert abs(total_expected - total_asked) <= 0.25 * total_asked, (made, cached, expected)


def test_labels_name_the_simulated_roles():
    config = load_config_text(BASE + '[models]\npersona = "openai/gpt-4o-mini"\n[budget]\nevaluations = 1\n')
    assert simulated_roles(config) == ["mutator", "respondent"]
    label = simulation_label(simulated_roles(config))
    assert "mutator = offline operator" in label and "respondent = SIMULATED" in label
    assert "real model for persona" in label
    real = load_config_text(
        BASE + '[models]\nmutator = "openai/a"\npersona = "openai/a"\nrespondent = "openai/a"\n'
        "[budget]\nevaluations = 1\n"
    )
    assert simulated_roles(real) == [] and simulation_label([]) == ""  # author stays sim: unused by a run
    assert "every role" in simulation_label(["mutator", "persona", "respondent"])


def load_config_text(text: str):
    import tomllib

    from evolve.config import config_from_dict

    return config_from_dict(tomllib.loads(text))


def test_unreachable_model_or_cluster_fails_in_seconds_and_writes_nothing(tmp_path, capsys, monkeypatch):
    db = tmp_path / "out" / "archive.db"
    t0 = time.monotonic()
    assert (
        main(
            [
                "run",
                "--model",
                "openai/my-model",
                "--api-base",
                "http://127.0.0.1:9/v1",
                "--budget-evals",
                "1",
                "--db",
                str(db),
            ]
        )
        == 1
    )
    err = _errors(capsys)
    assert (
        len(err) == 1
        and "roles mutator, persona, respondent, model openai/my-model: cannot connect" in err[0]
    )
    monkeypatch.delenv("NOPE_KEY", raising=False)
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        BASE + '[models]\npersona = { model = "openai/gpt-4o-mini", api_key_env = "NOPE_KEY" }\n'
        "[budget]\nevaluations = 1\n"
    )
    assert main(["run", "--config", str(cfg), "--db", str(db)]) == 1
    err = _errors(capsys)
    assert len(err) == 1 and err[0].endswith(
        "role persona, model openai/gpt-4o-mini: environment variable NOPE_KEY is not set"
    )
    assert main(["run", "--budget-evals", "1", "--ray-address", "127.0.0.1:1", "--db", str(db)]) == 1
    err = _errors(capsys)
    assert len(err) == 1 and err[0].startswith("error: ray: cannot reach the cluster at 127.0.0.1:1")
    for argv in (
        [
            "generate",
            "--generator",
            "seed:naive",
            "--context",
            "esports_community",
            "--model",
            "openai/x",
            "--api-base",
            "http://127.0.0.1:9/v1",
        ],
        [
            "contexts",
            "draft",
            "--description",
            "a town",
            "--axes",
            "2",
            "--model",
            "openai/x",
            "--api-base",
            "http://127.0.0.1:9/v1",
        ],
    ):
        assert main(argv) == 1
        err = _errors(capsys)
        assert len(err) == 1 and "model openai/x: cannot connect" in err[0], argv
    assert time.monotonic() - t0 < 60
    assert not db.parent.exists()


def test_resume_of_broken_files_is_one_line(tmp_path, capsys):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 50)
    assert main(["run", "--resume", "--db", str(garbage)]) == 1
    assert f"{garbage} is not an archive database (not an SQLite file)" in _errors(capsys)[0]
    assert main(["run", "--resume", "--db", str(tmp_path)]) == 1
    assert "is a directory" in _errors(capsys)[0]
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 20000 + "]" * 20000 + "\n")
    assert main(["run", "--config", str(deep)]) == 2
    assert "nested too deeply" in _errors(capsys)[0]
    from archive import Archive
    from evolve.loop.run import archive_config

    locked = tmp_path / "locked.db"
    config = load_config_text(BASE + "[budget]\nevaluations = 1\n")
    holder = Archive.create(url_or_path=str(locked), config=archive_config(config), run_config={}, seed=0)
    try:
        assert main(["run", "--resume", "--db", str(locked)]) == 1
        assert "is in use by another run (locked)" in _errors(capsys)[0]
    finally:
        holder.close()
    ro = Path("/proc/persona-evolve-test/archive.db")
    assert main(["run", "--budget-evals", "1", "--db", str(ro)]) == 1
    assert "cannot create the archive" in _errors(capsys)[0]


def test_closed_pipe_is_quiet(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        f"{sys.executable} -m evolve contexts list | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.strip() and "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


@pytest.mark.ray
def test_a_run_dies_marked_failed_then_resumes_and_finishes(ray_session, tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "run.toml"
    cfg.write_text(BASE + "[budget]\nevaluations = 1\n")
    db = tmp_path / "a" / "archive.db"
    from evolve.loop import controller as controller_module

    real_evolve = controller_module.Controller.evolve

    async def boom(self):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(controller_module.Controller, "evolve", boom)
    assert main(["run", "--config", str(cfg), "--db", str(db)]) == 1
    err = _errors(capsys)
    assert len(err) == 1 and "run failed: the disk is full" in err[0] and "--resume" in err[0]
    assert _status(db) == "failed" and _events(db, "run_failed")[0]["cause"] == "the disk is full"
    monkeypatch.setattr(controller_module.Controller, "evolve", real_evolve)
    # a changed setting is refused, listing the differences
    assert main(["run", "--db", str(db), "--resume", "-n", "7"]) == 1
    err = _errors(capsys)
    assert len(err) == 1 and "evaluation.n stored 5, given 7" in err[0]
    assert main(["run", "--db", str(db), "--resume", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert _status(db) == "finished" and summary["evaluations"] == 1
    # finished: nothing to do unless a cap is raised
    before = len(_events(db, "evaluated"))
    assert main(["run", "--db", str(db), "--resume"]) == 0
    assert "already finished" in capsys.readouterr().err and len(_events(db, "evaluated")) == before
    # a copy resumed with a raised budget: the raise is logged, the report lands next to the copy
    copy = tmp_path / "b" / "archive.db"
    copy.parent.mkdir()
    shutil.copy(db, copy)
    assert main(["run", "--db", str(copy), "--resume", "--budget-evals", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert Path(summary["report"]).parent == copy.parent and summary["evaluations"] == 2
    raised = _events(copy, "budget_raised")
    assert raised and raised[0]["from"]["evaluations"] == 1 and raised[0]["to"]["evaluations"] == 2
    assert summary["simulated"] is True and "every role" in summary["simulation"]

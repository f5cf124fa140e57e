"""A finished run resumed with a raised cap (issue 10): ``inspect summary`` (text and JSON)
and ``report.md`` name each raise, when and which cap went from what to what, and count
against the caps in force. The short sim run is the real-path tests' config."""

from __future__ import annotations

import html
import json

import pytest
from test_run_real_path import BASE

from evolve.cli import main

pytestmark = pytest.mark.ray


def _summary(capsys, db, *extra: str) -> str:
    capsys.readouterr()
    assert main(["inspect", "--db", str(db), "summary", *extra]) == 0
    return capsys.readouterr().out


def test_inspect_summary_and_report_name_the_raise_with_old_and_new_caps(ray_session, tmp_path, capsys):
    first, second = 1, 2
    cfg = tmp_path / "run.toml"
    cfg.write_text(BASE + f"[budget]\nevaluations = {first}\n")
    db = tmp_path / "archive.db"
    assert main(["run", "--config", str(cfg), "--db", str(db)]) == 0
    text = _summary(capsys, db)
    assert "budget raised" not in text and "killed" not in text
    assert f"evaluations: {first} of {first} " in text

    assert main(["run", "--db", str(db), "--resume", "--budget-evals", str(second)]) == 0
    text = _summary(capsys, db)
    raised = [line for line in text.splitlines() if line.startswith("budget raised ")]
    assert len(raised) == 1, text
    assert raised[0].endswith(f": evaluations {first} -> {second}")  # the only cap that changed
    assert f"evaluations: {second} of {second} " in text  # counted against the cap in force
    assert "killed" not in text  # nothing was killed: no note about estimated calls

    data = json.loads(_summary(capsys, db, "--json"))
    (entry,) = data["budget_raises"]
    assert entry["changes"] == {"evaluations": {"from": first, "to": second}}
    assert data["run"]["created_at"] <= entry["ts"] <= data["run"]["updated_at"]
    assert data["config"]["budget"]["evaluations"] == second
    assert data["budget"]["evaluations"] == {"limit": second, "used": second}
    assert data["killed"]["evaluations"] == 0

    report = (db.parent / "report.md").read_text().splitlines()
    assert f"- {raised[0]}" in report  # the report says it in the same words
    assert f"| evaluations | {second} | {second} |" in report

    from starlette.testclient import TestClient

    from evolve.outputs.viewer import create_app

    with TestClient(
        create_app(str(db)), base_url="http://127.0.0.1"
    ) as client:  # the viewer answers local hosts only
        page = client.get("/report")
    assert page.status_code == 200 and html.escape(raised[0]) in page.text  # the viewer's report says it too

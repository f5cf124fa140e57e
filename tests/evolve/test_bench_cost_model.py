"""scripts/bench_cost.py with ``--respondent-model``: every mode answered by a real model
through litellm (here the stub server on 127.0.0.1), its calls counted from the provider's
replies; a model that cannot be reached is one line and exit 2, in seconds."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest
from stub_openai_server import SimReplies, StubServer, role_of

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_cost.py"
SMALL = [
    "--programs",
    "3",
    "--contexts",
    "2",
    "--n",
    "3",
    "--reference-draws",
    "1",
    "--subset",
    "1",
    "--draws",
    "5",
    "--mc",
    "200",
    "--json",
]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_cost_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_mode_is_answered_by_the_model_and_its_calls_are_counted(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    with StubServer(reply=SimReplies()) as srv:
        code = _bench().main([*SMALL, "--respondent-model", "openai/gpt-4o-mini", "--api-base", srv.base_url])
        roles = [role_of(r.messages) for r in srv.requests]
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["respondent"] == "openai/gpt-4o-mini" and result["programs"] == 3
    rows = {r["mode"]: r for r in result["rows"]}
    assert {"item", "axis", "questionnaire"} <= set(rows)
    # the rows count what reached the server: item mode twice (the row and one reference
    # draw), axis and questionnaire, each per program summed over its contexts
    per_program = (
        2 * rows["item"]["respondent_calls"]
        + rows["axis"]["respondent_calls"]
        + rows["questionnaire"]["respondent_calls"]
    )
    assert roles.count("respondent") == pytest.approx(3 * per_program)
    assert roles.count("preflight") == 1
    assert roles.count("respondent") > 0 and "persona" not in roles  # personas stay the sim's, in process
    # questionnaire mode: one call per persona (N = 3), 2 contexts
    assert rows["questionnaire"]["respondent_calls"] >= 3 * 2
    assert (
        rows["item"]["respondent_calls"]
        > rows["axis"]["respondent_calls"]
        >= rows["questionnaire"]["respondent_calls"]
    )


def test_an_unreachable_model_is_one_line_and_exit_2(capsys):
    start = time.monotonic()
    code = _bench().main(
        [*SMALL, "--respondent-model", "openai/gpt-4o-mini", "--api-base", "http://127.0.0.1:9/v1"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: pre-flight failed: role respondent")
    assert "cannot connect" in err[0]
    assert time.monotonic() - start < 30

"""``persona-evolve contexts``: list, validate and draft through ``evolve.cli.main``."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
from fakes import ScriptedClient

from evolve.cli import cmd_contexts, main
from generators.context_loader import SPLITS, load_context, load_split, shipped_dir


def ctx_json(k: int = 3, ident: str = "chess_club") -> dict[str, Any]:
    return {
        "id": ident,
        "description": "Members of a city chess club.",
        "scale": {"min": 1, "max": 5},
        "axes": [
            {
                "name": f"axis_{i}",
                "description": f"trait {i}",
                "low": f"low {i}",
                "high": f"high {i}",
                "items": [{"text": f"S{i}{j}.", "reverse": j == 1} for j in range(3)],
            }
            for i in range(k)
        ],
    }


@pytest.fixture
def fake_author(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace the LLM client factory; the test sets ``state['replies']``."""
    state: dict[str, Any] = {"replies": [json.dumps(ctx_json())], "models": []}

    def build(model: str, api_base: str | None) -> ScriptedClient:
        state["models"].append((model, api_base))
        state["client"] = ScriptedClient(state["replies"])
        return state["client"]

    monkeypatch.setattr(cmd_contexts, "_build_author_client", build)
    return state


# --- list -----------------------------------------------------------------------------


def test_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contexts", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["id", "split", "K", "items", "description"]
    total = sum(len(load_split(s)) for s in SPLITS)
    assert lines[-1] == f"{total} contexts"
    row = next(line for line in lines if line.startswith("airline_rebooking_desk "))
    assert row.split()[1:4] == ["train", "3", "12"]
    assert all(len(line) < 140 for line in lines)  # descriptions are truncated


def test_list_split_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contexts", "list", "--split", "test", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["id"] for d in data] == [c.id for c in load_split("test")]
    assert {d["split"] for d in data} == {"test"}
    first = data[0]
    assert set(first) >= {"id", "split", "k", "items", "axes", "description"}
    assert first["k"] == len(first["axes"])


def test_list_bad_split_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["contexts", "list", "--split", "dev"])
    assert info.value.code == 2


def test_contexts_without_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contexts"]) == 2
    assert "validate" in capsys.readouterr().out


# --- validate -------------------------------------------------------------------------


def test_validate_shipped_dir_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contexts", "validate", str(shipped_dir("validation"))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(load_split("validation"))
    assert all(line.startswith("ok  ") for line in lines)
    path = shipped_dir("validation") / "union_strike_vote.json"
    assert f"ok  {path} (union_strike_vote, 4 axes, 13 items)" in lines


def test_validate_bad_file_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(ctx_json()))
    data = ctx_json(ident="other")
    data["axes"] = data["axes"][:1]
    data["axes"][0]["hgih"] = "x"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert main(["contexts", "validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"ok  {good} (chess_club, 3 axes, 9 items)"
    assert f"{bad}: $.axes: need 2-6 axes, got 1" in out
    assert f"{bad}: $.axes[0].hgih: unknown field (did you mean 'high'?)" in out


def test_validate_not_json_and_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    missing = tmp_path / "missing.json"
    assert main(["contexts", "validate", str(broken), str(missing)]) == 1
    out = capsys.readouterr().out
    assert f"{broken}: line 1:2: not valid JSON" in out
    assert f"{missing}: cannot read: no such file or directory" in out


def test_validate_duplicate_ids_and_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(ctx_json()))
    assert main(["contexts", "validate", "--json", str(tmp_path)]) == 1
    results = json.loads(capsys.readouterr().out)
    assert [r["ok"] for r in results] == [True, False]
    assert "duplicate context id 'chess_club'" in results[1]["problems"][0]


def test_validate_empty_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contexts", "validate", str(tmp_path)]) == 1
    assert "no *.json context files" in capsys.readouterr().out


# --- draft ----------------------------------------------------------------------------


def test_draft_prints_json(fake_author: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "contexts",
            "draft",
            "--description",
            "A chess club",
            "--axes",
            "3",
            "--model",
            "openai/x",
            "--api-base",
            "http://127.0.0.1:9/v1",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == ctx_json()
    assert fake_author["models"] == [("openai/x", "http://127.0.0.1:9/v1")]
    assert "SIMULATED" not in captured.err


def test_draft_sim_prints_simulated_note(
    fake_author: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["contexts", "draft", "--description", "A chess club", "--axes", "3"]) == 0
    captured = capsys.readouterr()
    assert fake_author["models"] == [("sim", None)]
    assert "SIMULATED template" in captured.err


def test_draft_out_file_and_force(
    fake_author: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sub" / "chess.json"
    argv = ["contexts", "draft", "--description", "A chess club", "--axes", "3", "--out", str(out)]
    assert main(argv) == 0
    assert f"wrote {out} (chess_club, 3 axes, 9 items)" in capsys.readouterr().out
    assert load_context(out).to_dict() == ctx_json()
    assert main(argv) == 1
    assert capsys.readouterr().err.strip() == f"error: {out}: already exists (use --force to overwrite)"
    assert main(argv + ["--force"]) == 0


def test_draft_retry_then_success(fake_author: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    fake_author["replies"] = ["not json", "```json\n" + json.dumps(ctx_json()) + "\n```"]
    assert main(["contexts", "draft", "--description", "A chess club", "--axes", "3"]) == 0
    assert len(fake_author["client"].calls) == 2


def test_draft_failure_exit_1(fake_author: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    fake_author["replies"] = [json.dumps(ctx_json(k=2))]
    assert main(["contexts", "draft", "--description", "A chess club", "--axes", "3"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "<draft:sim attempt 3>: $.axes: expected 3 axes as requested, got 2" in err
    assert err[-1].startswith("error: model 'sim' did not produce a valid context")
    assert len(fake_author["client"].calls) == 3


def test_draft_bad_axes_is_user_error(
    fake_author: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["contexts", "draft", "--description", "x", "--axes", "9"]) == 1
    assert capsys.readouterr().err.strip() == "error: --axes must be between 2 and 6, got 9"
    assert fake_author["models"] == []  # no client built


def test_draft_client_exception_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Boom:
        def complete(self, role: str, prompt: str, *, system: str | None = None) -> str:
            raise ConnectionError("refused")

    monkeypatch.setattr(cmd_contexts, "_build_author_client", lambda model, api_base: Boom())
    assert main(["contexts", "draft", "--description", "x", "--axes", "3"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: drafting with model 'sim' failed: ConnectionError: refused"]


def test_draft_through_real_llm_client_with_mock_response(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real LLM layer (litellm ``mock_response``, no network) wired into the command."""
    llm = pytest.importorskip("generators.llm")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    reply = "```json\n" + json.dumps(ctx_json(k=2, ident="mocked_ctx")) + "\n```"

    def build(model: str, api_base: str | None) -> Any:
        cfg = llm.ModelConfig(model="openai/gpt-4o-mini", extra={"mock_response": reply})
        return llm.build_client({"author": cfg})

    monkeypatch.setattr(cmd_contexts, "_build_author_client", build)
    assert (
        main(["contexts", "draft", "--description", "x", "--axes", "2", "--model", "openai/gpt-4o-mini"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["id"] == "mocked_ctx"


@pytest.mark.skipif(importlib.util.find_spec("generators.sim") is None, reason="sim world not installed yet")
def test_draft_with_sim_author_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "drafted.json"
    code = main(
        ["contexts", "draft", "--description", "Fans at a chess tournament", "--axes", "3", "--out", str(out)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "SIMULATED" in captured.err
    assert load_context(out).k == 3


def test_show_writes_a_shipped_context_that_validates_and_round_trips(tmp_path, capsys):
    from evolve.cli import main
    from generators.context_loader import load_context, resolve_context

    out = tmp_path / "ctx.json"
    assert main(["contexts", "show", "airline_rebooking_desk", "--out", str(out)]) == 0
    assert load_context(out).to_dict() == resolve_context("airline_rebooking_desk").to_dict()
    assert main(["contexts", "validate", str(out)]) == 0
    capsys.readouterr()
    assert main(["contexts", "show", "airline_rebooking_dsk"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean: airline_rebooking_desk" in err[0]

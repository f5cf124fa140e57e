"""Program and persona text reaches a person shown, never acted on (control and bidi characters)."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from evolve.cli import main
from evolve.outputs.safe_text import UNSAFE, json_safe, visible, visible_deep

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_inspect_archive_fixture import RARE_CONTEXT, build_crafted_archive  # noqa: E402

HOSTILE = "ok\x1b[2K\r\x1b[32mall 25 personas written OK\x1b[0m \u202eevil\u202c \x9b31m"


def test_visible_escapes_what_acts_and_keeps_what_reads():
    shown = visible(HOSTILE + "\nline two\tZoë 名前")
    assert not UNSAFE.search(shown)
    assert "\\x1b[2K" in shown and "\\x0d" in shown and "\\u202e" in shown and "\\x9b" in shown
    assert shown.endswith("\nline two\tZoë 名前")
    assert visible("plain text") == "plain text"
    assert visible_deep({"a\x1b": ["\u202e", 3, None]}) == {"a\\x1b": ["\\u202e", 3, None]}


@given(st.text())
def test_json_safe_keeps_the_data_and_leaves_nothing_that_acts(text):
    dumped = json_safe(json.dumps({"t": text}, ensure_ascii=False))
    assert not UNSAFE.search(dumped)
    assert json.loads(dumped) == {"t": text}


def test_a_program_error_with_escape_sequences_reaches_the_terminal_shown(tmp_path, capsys):
    program = tmp_path / "p.py"
    program.write_text(f"def generate(context, n, llm, rng):\n    raise RuntimeError({HOSTILE!r})\n")
    assert (
        main(["generate", "--generator", str(program), "--context", "airline_rebooking_desk", "-n", "2"]) == 1
    )
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\r" not in err and "\u202e" not in err and "\x9b" not in err
    assert "all 25 personas written OK" in err and "\\x1b" in err  # shown, as text


def test_inspect_and_the_report_show_hostile_persona_text_as_text(tmp_path, capsys):
    crafted = build_crafted_archive(tmp_path)
    with sqlite3.connect(crafted.db) as conn:
        changed = conn.execute(
            "UPDATE personas SET description = ? || description WHERE context_id = ?", (HOSTILE, RARE_CONTEXT)
        ).rowcount
    assert changed > 0
    for args in (["rare"], ["rare", "--json"], ["summary"], ["top"]):
        assert main(["inspect", "--db", str(crafted.db), *args]) == 0
        out = capsys.readouterr().out
        assert not UNSAFE.search(out.replace("\n", "").replace("\t", "")), args
    assert main(["inspect", "--db", str(crafted.db), "rare", "--json"]) == 0
    found: list[str] = []

    def strings(value):
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            [strings(v) for v in value.values()]
        elif isinstance(value, list):
            [strings(v) for v in value]

    strings(json.loads(capsys.readouterr().out))
    assert any(text.startswith(HOSTILE) for text in found)  # --json keeps the exact text (JSON-escaped)

    from evolve.outputs.report.writer import write_report

    class Writer:  # what run.py passes: the writer archive (only its run id is used)
        run_id = None

    path = write_report(Writer(), {"db": str(crafted.db), "simulated": True}, out_dir=tmp_path / "report")
    text = Path(path).read_text(encoding="utf-8")
    assert not UNSAFE.search(text.replace("\n", "").replace("\t", ""))


def test_the_viewer_shows_hostile_persona_text_as_text(tmp_path):
    from starlette.testclient import TestClient

    from evolve.outputs.viewer import create_app

    crafted = build_crafted_archive(tmp_path)
    with sqlite3.connect(crafted.db) as conn:
        conn.execute(
            "UPDATE personas SET description = ? || description, name = ? WHERE context_id = ?",
            (HOSTILE, "\u202eecnaV serolоD", RARE_CONTEXT),
        )
    client = TestClient(create_app(str(crafted.db)), base_url="http://127.0.0.1")
    for page in ("/rare", f"/program/{crafted.corner_program}"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert not UNSAFE.search(response.text.replace("\n", "").replace("\t", "")), page
        assert "all 25 personas written OK" in response.text and "\\u202e" in response.text, page


def test_progress_notes_are_text_never_markup_or_escapes():
    import io

    from rich.console import Console

    from evolve.outputs.progress import Progress

    progress = Progress(simulated=True, enabled=False)
    buffer = io.StringIO()
    progress.console = Console(file=buffer, width=200, force_terminal=False)
    progress.note("[bold]not markup[/] " + HOSTILE, style="bold yellow")
    out = buffer.getvalue()
    assert "[bold]not markup[/]" in out and not UNSAFE.search(out.replace("\n", ""))


def test_the_live_panel_says_why_a_sim_respondent_has_no_spend():
    import io

    from rich.console import Console

    from evolve.outputs.progress import Progress

    class Stats:
        statuses, rejections, partial_diffs, best_by_island, evaluations = {}, {}, 0, {}, 0

    class Archive:
        def spend_by_role(self):
            return {"persona": {"calls": 10, "prompt_tokens": 5, "completion_tokens": 5, "cost_usd": 0.0}}

    for in_process in (True, False):
        progress = Progress(simulated=True, enabled=False, respondent_in_process=in_process)
        buffer = io.StringIO()
        Console(file=buffer, width=200).print(progress.spend_line(Archive()))
        assert ("respondent: the sim answers in process (no calls)" in buffer.getvalue()) is in_process

"""A run can start from a generator file of the user's own (``[seeds] programs`` ``file:PATH.py``
or a bare ``PATH.py``; ``run --seed-program PATH``): paths relative to the config file or the
current directory, one-line errors naming the file and line, the file stored in the archive
and named in the report, and a resume that uses the stored code when the file changed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from evolve.cli import main
from evolve.cli.cmd_run import effective_config
from evolve.common.seed_programs import SeedProgramError, label_of, load_seed_programs, seed_key
from evolve.config import load_config
from generators.seeds import load_seed

GOOD = load_seed("seed:naive").replace("TEMPERATURE = 1.0", "TEMPERATURE = 0.9")  # a program of its own
assert GOOD != load_seed("seed:naive")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_config_paths_are_relative_to_the_config_file(tmp_path: Path, monkeypatch) -> None:
    cfg = _write(
        tmp_path / "conf" / "run.toml",
        '[seeds]\nprograms = ["seed:naive", "file:gens/my_gen.py", "other.py", "/abs/x.py"]\n',
    )
    monkeypatch.chdir(tmp_path)  # not the config's folder
    programs = load_config(cfg).seeds.programs
    assert programs == (
        "seed:naive",
        f"file:{tmp_path / 'conf' / 'gens' / 'my_gen.py'}",
        f"file:{tmp_path / 'conf' / 'other.py'}",
        "file:/abs/x.py",
    )
    assert [label_of(p) for p in programs] == ["seed:naive", "file:my_gen.py", "file:other.py", "file:x.py"]
    assert seed_key("file:my_gen.py") == "file:my_gen.py" and seed_key("seed:sobol") == "sobol"


def test_seed_program_flag_adds_files_relative_to_the_current_directory(tmp_path: Path, monkeypatch) -> None:
    from evolve.cli import build_parser

    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["run", "--seed-program", "a.py", "--seed-program", "file:sub/b.py"])
    config, overridden = effective_config(args)
    assert config.seeds.programs == (
        "seed:naive",
        "seed:batch",
        "seed:sobol",
        f"file:{tmp_path / 'a.py'}",
        f"file:{tmp_path / 'sub' / 'b.py'}",
    )
    assert "seeds" in overridden
    bad = build_parser().parse_args(["run", "--seed-program", "notes.txt"])
    with pytest.raises(Exception, match="--seed-program: 'notes.txt' is not a generator file"):
        effective_config(bad)


@pytest.mark.parametrize(
    "text, expected",
    [
        (None, "no such file: {path}"),
        ("def generate(context, n, llm, rng):\n    return [\n", "{path}:2: SyntaxError"),
        ("x = 1\n", "{path}: no top-level function 'generate' defined"),
        ("import os\n\ndef generate(context):\n    return []\n", "{path}:3: generate must accept"),
    ],
)
def test_a_bad_file_is_a_one_line_error_naming_file_and_line(
    tmp_path: Path, text: str | None, expected: str
) -> None:
    path = tmp_path / "my_gen.py"
    if text is not None:
        path.write_text(text)
    with pytest.raises(SeedProgramError) as info:
        load_seed_programs([f"file:{path}"])
    message = str(info.value)
    assert "\n" not in message and expected.format(path=path) in message, message


def test_a_bad_file_stops_the_run_before_anything_is_written(tmp_path: Path, capsys) -> None:
    bad = _write(tmp_path / "broken.py", "def generate(context, n, llm, rng)\n    return []\n")
    db = tmp_path / "run" / "archive.db"
    assert main(["run", "--db", str(db), "--seed-program", str(bad), "--budget-evals", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: seeds.programs: ") and f"{bad}:1: SyntaxError" in err[-1]
    assert not db.exists()


def test_a_good_file_loads_with_its_file_label(tmp_path: Path) -> None:
    path = _write(tmp_path / "my_gen.py", GOOD)
    assert load_seed_programs(["seed:sobol", str(path)]) == {
        "seed:sobol": load_seed("seed:sobol"),
        "file:my_gen.py": GOOD,
    }
    with pytest.raises(SeedProgramError, match="share the label 'file:my_gen.py'"):
        load_seed_programs([str(path), f"file:{_write(tmp_path / 'b' / 'my_gen.py', GOOD)}"])


SMALL = """
seed = 3
[contexts]
train = ["esports_community", "online_dating_users"]
validation = ["fishing_village_quota_cuts"]
test = ["divorced_coparents"]
[evaluation]
n = 6
mc_samples = 1000
timeout_s = 60
[cascade]
smoke_contexts = 1
threshold = 0.8
[islands]
count = 1
migration_interval = 4
[budget]
evaluations = 2
[seeds]
programs = ["seed:naive", "gens/my_gen.py"]
"""


def _programs(db: Path) -> dict[str, str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {code: label for code, label in conn.execute("SELECT code, label FROM programs")}


@pytest.mark.ray
def test_a_run_from_a_users_file_then_a_resume_with_the_file_changed(
    ray_session, tmp_path: Path, capsys
) -> None:
    gen = _write(tmp_path / "gens" / "my_gen.py", GOOD)
    cfg = _write(tmp_path / "run.toml", SMALL)
    db = tmp_path / "out" / "archive.db"
    assert main(["run", "--config", str(cfg), "--db", str(db), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "file:my_gen.py" in summary["seeds"] and "file:my_gen.py" in summary["test"]
    assert _programs(db)[GOOD] == "file:my_gen.py"  # stored, content-addressed, by its file name
    report = Path(summary["report"]).read_text()
    assert "file:my_gen.py" in report
    assert main(["inspect", "--db", str(db), "summary"]) == 0
    assert "file:my_gen.py" in capsys.readouterr().out

    gen.write_text(GOOD.replace("TEMPERATURE = 0.9", "TEMPERATURE = 0.8"))  # edited after the start
    assert main(["run", "--db", str(db), "--resume", "--budget-evals", "3", "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert any("my_gen.py changed since the run started" in n for n in resumed["seed_notes"])
    codes = _programs(db)
    assert GOOD in codes and gen.read_text() not in codes  # the stored code, not the file's new text
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        kinds = [k for (k,) in conn.execute("SELECT kind FROM events WHERE kind = 'seed_file_changed'")]
    assert kinds == ["seed_file_changed"]
    assert main(["run", "--db", str(db), "--resume", "--seed-program", str(gen)]) == 2
    assert "--seed-program: a resumed run keeps" in capsys.readouterr().err

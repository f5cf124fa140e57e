"""``run``, ``inspect summary`` and the report show the champion's mean and its interval
(issue 13, item 2), never one lucky draw."""

from __future__ import annotations

import numpy as np

from archive import Archive, ArchiveConfig
from archive.reader import ArchiveReader
from archive.records import EvaluationRecord
from archive.testing import synthetic_candidate
from evolve.cli.cmd_run import render_summary
from evolve.outputs.inspect.source import Source
from evolve.outputs.inspect.summary import render_summary as render_inspect
from evolve.outputs.inspect.summary import summary
from evolve.outputs.report.content import build_report
from evolve.outputs.report.writer import render_markdown

INTERVAL = {
    "mean": 0.712,
    "low": 0.69,
    "high": 0.734,
    "n": 12,
    "confidence": 0.9,
    "replicates": 3,
    "contexts": 4,
}


def test_run_summary_text_shows_the_interval():
    text = render_summary(
        {
            "db": "x.db",
            "evaluations": 3,
            "champion": {"id": "abc", "validation_interval": INTERVAL},
            "seeds": {},
            "test": {},
        }
    )
    assert (
        "champion: abc   validation fitness 0.7120 [0.6900, 0.7340] (90 % interval, 4 contexts x 3 seeds)"
        in text
    )


def test_one_seed_and_one_context_are_singular():
    one = render_summary(
        {
            "db": "x.db",
            "evaluations": 3,
            "seeds": {},
            "test": {},
            "champion": {"id": "abc", "validation_interval": {**INTERVAL, "replicates": 1, "contexts": 1}},
        }
    )
    assert "(90 % interval, 1 context x 1 seed)" in one


def test_inspect_and_report_show_the_champion_interval(tmp_path):
    db = tmp_path / "a.db"
    rng = np.random.default_rng(0)
    with Archive.create(url_or_path=db, config=ArchiveConfig(islands=1), run_config={}, seed=0) as a:
        ids = [r.program_id for r in a.add([synthetic_candidate(i, rng, contexts=2) for i in range(2)])]
        for pid, f in zip(ids, (0.9, 0.7)):
            a.record_evaluation(pid, EvaluationRecord("validation", [], f, None))
        a.record_event("champion", program_id=ids[1], detail=INTERVAL)
    with ArchiveReader.open(db) as reader:
        data = summary(Source.of(reader))
        assert data["champion"]["id"] == ids[1] and data["champion"]["interval"]["low"] == 0.69
        assert "mean 0.7120 [0.6900, 0.7340] (90 % interval)" in render_inspect(data)
        markdown = render_markdown(build_report(reader))
    assert "validation fitness over 4 contexts x 3 seeds: mean 0.7120 [0.6900, 0.7340]" in markdown

"""``inspect holes`` on the crafted archive, the rare page's kNN against a brute force, the
viewer's /holes and /front pages, and the additive index an old archive gets on open."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from test_inspect_archive_fixture import RARE_AXES, RARE_CONTEXT, Crafted, crafted  # noqa: F401

from archive import Archive
from archive.exemplars import cells_of, default_bins
from evolve.cli import main
from evolve.outputs.inspect import dumps, holes, open_source, rare, render_holes
from evolve.outputs.inspect.holes import pole_of
from evolve.outputs.inspect.rare import _knn
from evolve.outputs.viewer import create_app


def _stored_cells(db: Path, context: str, bins: int) -> set[tuple[int, ...]]:
    with open_source(db) as src:
        z = src.reader.context_positions(context).z
    z = z[~np.isnan(z).any(axis=1)]
    return {tuple(int(x) for x in c) for c in cells_of(z, bins)}


@pytest.mark.parametrize("bins", [None, 2, 4])
def test_holes_are_every_cell_no_stored_persona_reached(crafted: Crafted, bins: int | None) -> None:
    with open_source(crafted.db) as src:
        data = holes(src, context=RARE_CONTEXT, bins=bins, limit=10_000)
    b = bins or default_bins(3)
    reached = _stored_cells(crafted.db, RARE_CONTEXT, b)
    every = set(itertools.product(range(b), repeat=3))
    listed = {tuple(h["cell"]) for h in data["holes"]}
    assert listed == every - reached
    assert data["holes_total"] == len(every - reached) == data["cells_total"] - data["cells_reached"]
    assert [a["name"] for a in data["axes"]] == list(RARE_AXES)
    assert all(a["low"] and a["high"] for a in data["axes"])  # a shipped context: poles known
    depths = [h["depth"] for h in data["holes"]]
    assert depths == sorted(depths, reverse=True)
    assert sum(data["depths"].values()) == data["holes_total"]
    for h in data["holes"]:
        for axis, c in zip(RARE_AXES, h["cell"]):
            assert h["ranges"][axis] == [round(c / b, 4), round((c + 1) / b, 4)]
            assert h["poles"][axis] == pole_of(c, b)
    for p in data["pairs"]:
        i, j = (RARE_AXES.index(a) for a in p["axes"])
        proj = {(c[i], c[j]) for c in reached}
        assert {tuple(h["cell"]) for h in p["holes"]} == set(itertools.product(range(b), repeat=2)) - proj
        assert p["reached"] == len(proj)


def test_limit_caps_the_listing_not_the_counts(crafted: Crafted) -> None:
    with open_source(crafted.db) as src:
        full = holes(src, context=RARE_CONTEXT, limit=10_000)
        capped = holes(src, context=RARE_CONTEXT, limit=3)
    assert capped["holes"] == full["holes"][:3]
    assert capped["holes_total"] == full["holes_total"] and capped["pairs"] == full["pairs"]


def test_pole_of_splits_at_the_centre() -> None:
    assert [pole_of(i, 5) for i in range(5)] == ["low", "low", "middle", "high", "high"]
    assert [pole_of(i, 4) for i in range(4)] == ["low", "low", "high", "high"]
    assert pole_of(0, 1) == "middle"


def test_cli_text_json_and_errors(crafted: Crafted, capsys) -> None:
    assert main(["inspect", "--db", str(crafted.db), "holes", "--context", RARE_CONTEXT]) == 0
    text = capsys.readouterr().out
    assert "SIMULATED" in text.splitlines()[0] and "holes, deepest first" in text and "2-D holes" in text
    assert main(["inspect", "--db", str(crafted.db), "holes", "--context", RARE_CONTEXT, "--json"]) == 0
    first = capsys.readouterr().out
    assert main(["inspect", "--db", str(crafted.db), "--json", "holes", "--context", RARE_CONTEXT]) == 0
    assert capsys.readouterr().out == first
    data = json.loads(first)
    assert set(data) == {
        "context",
        "axes",
        "bins",
        "simulated",
        "personas",
        "programs",
        "skipped",
        "cells_total",
        "cells_reached",
        "holes_total",
        "limit",
        "depths",
        "holes",
        "axis_holes",
        "pairs",
        "contexts",
    }
    with open_source(crafted.db) as src:
        assert json.loads(dumps(holes(src, context=RARE_CONTEXT))) == data
        assert render_holes(holes(src, context=RARE_CONTEXT)) == text.rstrip("\n")
    for args, needle in (
        (["--bins", "200"], "fewer bins"),
        (["--context", "nope"], "nope"),
        (["--limit", "-1"], "--limit"),
    ):
        assert main(["inspect", "--db", str(crafted.db), "holes", *args]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 40), st.integers(1, 4), st.integers(0, 6), st.integers(0, 2**31))
def test_rare_knn_is_exact_with_copies(n: int, k: int, copies: int, seed: int) -> None:
    """The k-th nearest other row, brute force, with exact copies among the rows."""
    rng = np.random.default_rng(seed)
    z = np.rint(rng.random((n, k)) * 65534) / 65534
    z = np.vstack([z, z[rng.integers(0, n, size=copies)]])
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    kk = min(5, len(z) - 1)
    expected = np.sort(d, axis=1)[:, kk - 1]
    assert np.allclose(_knn(z, 5), expected)


def test_viewer_pages_render(crafted: Crafted) -> None:
    with TestClient(create_app(str(crafted.db)), base_url="http://127.0.0.1") as client:
        page = client.get(f"/holes?context={RARE_CONTEXT}")
        assert page.status_code == 200
        with open_source(crafted.db) as src:
            data = holes(src, context=RARE_CONTEXT)
        counts = f"{data['cells_reached']}/{data['cells_total']} cells reached, {data['holes_total']} holes"
        assert counts in page.text
        assert page.text.count('class="hole"') == sum(len(p["holes"]) for p in data["pairs"])
        assert page.text.count('class="reached"') == sum(p["reached"] for p in data["pairs"])
        assert client.get("/holes?context=nope").status_code == 404
        assert client.get("/holes?bins=99").status_code == 400
        front_page = client.get("/front")
        assert front_page.status_code == 200 and 'id="front-figure"' in front_page.text
        assert crafted.champion in front_page.text and "sim client" in front_page.text
        rare_page = client.get("/rare")
        assert 'id="rare-holes-link"' in rare_page.text


def test_old_archive_gets_the_index_on_writable_open_and_reads_without_it(
    crafted: Crafted, tmp_path: Path
) -> None:
    db = tmp_path / "old.db"
    db.write_bytes(crafted.db.read_bytes())
    con = sqlite3.connect(db)
    con.execute("DROP INDEX ix_context_results_context")
    con.commit()
    con.close()
    with open_source(db) as src:  # read-only: works without the index
        assert rare(src, context=RARE_CONTEXT)["personas"] > 0
    Archive.open(url_or_path=db).close()
    con = sqlite3.connect(db)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    con.close()
    assert "ix_context_results_context" in names

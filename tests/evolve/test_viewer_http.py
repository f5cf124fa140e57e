"""The viewer over plain HTTP (Starlette's TestClient, no browser): every route, the
read-only and token rules, escaping of LLM/program text, live status, the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient
from test_inspect_archive_fixture import RARE_CONTEXT, Crafted, crafted  # noqa: F401

from archive import (
    Archive,
    ArchiveConfig,
    Candidate,
    ContextResult,
    EvaluationRecord,
    MutationInfo,
    ProgramRecord,
)
from evolve.outputs.viewer import create_app, is_loopback, new_token
from evolve.outputs.viewer.security import COOKIE_NAME
from metrics import METRIC_NAMES

XSS_NAME = "<script>window.__xss=2</script>"
XSS_CODE_LINE = '</pre><img src=x onerror="window.__xss=1">'
XSS_CONTEXT = "esports_community"  # a shipped context with 2 axes


def build_probe_archive(db: Path) -> dict[str, str]:
    """A tiny archive whose program text, label and persona texts try to inject HTML."""
    rng = np.random.default_rng(3)
    code = (
        "BANNER = '" + XSS_CODE_LINE.replace("'", "\\'") + "'\n\n"
        "def generate(context, n, llm, rng):\n    return [{'name': BANNER, 'description': BANNER}] * n\n"
    )
    personas = [
        {"name": XSS_NAME, "description": "I say " + XSS_CODE_LINE + " & <b>not bold</b>", "mood": "<i>x</i>"}
    ]
    personas += [{"name": f"plain {i}", "description": f"ordinary {i}"} for i in range(1, 6)]
    a = Archive.create(
        url_or_path=db,
        config=ArchiveConfig(islands=1),
        seed=0,
        run_config={
            "models": {"persona": {"model": "sim"}},
            "contexts": {"train": [XSS_CONTEXT]},
            "evaluation": {"n": 6},
        },
    )
    z = rng.random((6, 2))
    metrics = {m: float(rng.random()) for m in METRIC_NAMES}
    ev = EvaluationRecord(
        "train", [ContextResult(XSS_CONTEXT, metrics, z, personas=personas)], 0.5, metrics, keep_personas=True
    )
    seed = a.add(
        [
            Candidate(
                ProgramRecord(code=code, parent_id=None, island=0, generation=0, label="seed:<b>probe</b>"),
                ev,
                {"tail_share": 0.2, "llm_tokens_per_persona": 100.0},
            )
        ]
    )[0]
    child_code = code.replace("] * n", "] * n  # child").replace("def generate", "X = 1\n\ndef generate")
    child = a.add(
        [
            Candidate(
                ProgramRecord(
                    code=child_code,
                    parent_id=seed.program_id,
                    island=0,
                    generation=1,
                    mutation=MutationInfo(
                        "llm_diff", model="<b>m</b>", directive=XSS_NAME, diff=XSS_CODE_LINE
                    ),
                ),
                ev,
                {"tail_share": 0.8, "llm_tokens_per_persona": 100.0},
            )
        ]
    )[0]
    a.record_event(
        "evaluated",
        program_id=child.program_id,
        island=0,
        detail={"stage": "train", "fitness": 0.5, "status": "new_cell", "elapsed_s": 1.0},
    )
    a.close()
    return {"seed": str(seed.program_id), "child": str(child.program_id)}


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    db = tmp_path_factory.mktemp("probe") / "probe.db"
    return db, build_probe_archive(db)


@pytest.fixture(scope="module")
def client(crafted: Crafted):  # noqa: F811
    app = create_app(str(crafted.db))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def test_every_page_route_answers(client: TestClient, crafted: Crafted) -> None:  # noqa: F811
    champ = crafted.champion
    pages = {
        "/": ["Champion", champ, "Spend per role", "Fitness over evaluations", "SIMULATED"],
        "/grid": ["all islands", "island 0", "island 1", "tail_share", "[0.00, 0.10)"],
        "/grid?island=1": ["island 1"],
        f"/program/{champ}": [
            "Lineage",
            "Per context",
            "Personas",
            "smaller batches",
            "diff against its parent",
        ],
        f"/program/{champ}?stage=validation": ["fishing_village_quota_cuts"],
        f"/program/{crafted.corner_program}?context={RARE_CONTEXT}": ["Dolores Vance"],
        "/compare": ["Compare two programs"],
        f"/compare?a=seed:sobol&b={champ}": ["B − A", "Diff A → B", "coverage"],
        "/rare": [RARE_CONTEXT, "Dolores Vance", "Most isolated personas"],
        f"/rare?context={RARE_CONTEXT}&k=3&bins=4": ["#3"],
    }
    for path, needles in pages.items():
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
        for n in needles:
            assert n in r.text, (path, n)
        assert (
            "content-security-policy" in r.headers
            and "script-src 'self'" in r.headers["content-security-policy"]
        )
        assert r.headers["cache-control"] == "no-store"


def test_overview_links_to_the_champion_and_grid_cells_to_their_elites(
    client: TestClient, crafted: Crafted
) -> None:  # noqa: F811
    html = client.get("/").text
    assert f'href="/program/{crafted.champion}"' in html
    grid = client.get("/grid").text
    linked = set(re.findall(r'class="grid-cell" href="/program/([0-9a-f]{16})"', grid))
    with Archive.open(url_or_path=crafted.db, readonly=True) as a:
        elites = {e.program_id for e in a.grid().elites}
    assert linked == elites


def test_program_page_lineage_is_a_clickable_chain_and_weakest_context_first(
    client: TestClient, crafted: Crafted
) -> None:  # noqa: F811
    html = client.get(f"/program/{crafted.champion}").text
    chain = re.search(r'<ol class="lineage" id="lineage">(.*?)</ol>', html, re.S).group(1)
    ids = re.findall(r'href="/program/([0-9a-f]{16})"', chain)
    assert ids == list(reversed(crafted.lineage))  # seed first, the program last
    rows = re.search(r'<table id="contexts">(.*?)</table>', html, re.S).group(1)
    fits = [float(x) for x in re.findall(r'</td>\s*<td>train</td><td class="num">([0-9.]+)</td>', rows)]
    assert len(fits) == 2 and fits == sorted(fits)


def test_program_refs_redirect_to_the_canonical_url_and_unknown_is_404(
    client: TestClient, crafted: Crafted
) -> None:  # noqa: F811
    r = client.get("/program/seed:sobol?stage=train", follow_redirects=False)
    assert (
        r.status_code == 302
        and r.headers["location"] == f"/program/{crafted.seeds['seed:sobol']}?stage=train"
    )
    r = client.get(f"/program/{crafted.champion[:8]}", follow_redirects=False)
    assert r.headers["location"] == f"/program/{crafted.champion}"
    r = client.get("/program/ffffffffffff")
    assert r.status_code == 404 and "unknown program" in r.text
    assert client.get("/compare?a=seed:sobol&b=nope:nope").status_code == 404
    assert client.get("/compare?a=seed:sobol").status_code == 400
    assert client.get("/grid?island=9").status_code == 400
    assert client.get("/?run=abc").status_code == 400
    assert client.get("/?run=99").status_code == 404
    assert client.get("/rare?context=not_a_context").status_code == 404


def test_json_and_asset_routes(client: TestClient) -> None:
    s = client.get("/api/status").json()
    assert s["status"] == "finished" and s["run"] == 1 and s["version"]
    refs = client.get("/api/references").json()
    # the run's train contexts are the split name "train": resolved, both lines are drawn
    assert refs["available"] and {ln["name"] for ln in refs["lines"]} == {"floor", "random"}
    values = {ln["name"]: ln["value"] for ln in refs["lines"]}
    assert 0 < values["floor"] < values["random"] < 1
    js = client.get("/static/plotly.min.js")
    assert (
        js.status_code == 200 and len(js.content) > 1_000_000 and "javascript" in js.headers["content-type"]
    )
    assert client.get("/static/viewer.js").status_code == 200
    assert client.get("/static/viewer.css").status_code == 200
    assert client.get("/favicon.ico").status_code == 200
    assert client.get("/static/nothing.js").status_code == 404


def test_only_get_and_head(client: TestClient, crafted: Crafted) -> None:  # noqa: F811
    before = crafted.db.read_bytes()
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = client.request(method, "/api/status")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert client.head("/").status_code == 200
    assert crafted.db.read_bytes() == before


def test_loopback_viewer_refuses_foreign_host_headers(crafted: Crafted) -> None:  # noqa: F811
    with TestClient(create_app(str(crafted.db)), base_url="http://evil.example") as c:
        assert c.get("/").status_code == 403
    with TestClient(create_app(str(crafted.db)), base_url="http://localhost:8765") as c:
        assert c.get("/").status_code == 200


def test_token_rule(crafted: Crafted) -> None:  # noqa: F811
    token = new_token()
    assert len(token) >= 32 and token != new_token()
    app = create_app(str(crafted.db), token=token, allowed_hosts=None)
    with TestClient(app, base_url="http://10.1.2.3") as c:
        for path in (
            "/",
            "/grid",
            "/api/status",
            "/static/viewer.js",
            "/static/plotly.min.js",
            "/program/seed:sobol",
        ):
            assert c.get(path).status_code == 403, path
        assert c.get("/?token=wrong").status_code == 403
        assert c.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert c.get("/api/status", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        r = c.get(f"/?token={token}")
        assert r.status_code == 200 and COOKIE_NAME in r.headers["set-cookie"]
        assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]
        assert c.get("/grid").status_code == 200  # the cookie now carries the token
    with TestClient(app, base_url="http://10.1.2.3", cookies={COOKIE_NAME: "nope"}) as c:
        assert c.get("/grid").status_code == 403
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.com")


def test_llm_and_program_text_is_escaped(probe) -> None:
    db, ids = probe
    with TestClient(create_app(str(db)), base_url="http://127.0.0.1") as c:
        pages = [
            c.get(f"/program/{ids['child']}").text,
            c.get(f"/program/{ids['seed']}").text,
            c.get("/").text,
            c.get("/rare").text,
            c.get(f"/compare?a={ids['seed']}&b={ids['child']}").text,
            c.get("/grid").text,
        ]
    for html in pages:
        assert "<script>window.__xss" not in html
        assert "<img src=x" not in html
        assert "<b>probe</b>" not in html and "<b>m</b>" not in html and "<b>not bold</b>" not in html
    program = pages[0]
    assert "&lt;/pre&gt;&lt;img src=x onerror=" in program  # the code, as text
    assert "&lt;script&gt;window.__xss=2&lt;/script&gt;" in program  # the directive, as text
    # JSON payloads for the scatter escape "<" so a </script> inside cannot close the tag
    payload = re.search(
        r'<script type="application/json" id="scatter-data">(.*?)</script>', program, re.S
    ).group(1)
    assert "<" not in payload and "\\u003cscript\\u003e" in payload
    rare = pages[3]
    assert "&lt;script&gt;window.__xss=2&lt;/script&gt;" in rare


def test_status_version_moves_while_a_run_writes(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    build_probe_archive(db)
    app = create_app(str(db))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        first = c.get("/api/status").json()
        w = Archive.open(url_or_path=db)
        try:
            w.record_event("evaluated", program_id=None, island=0, detail={"stage": "train", "fitness": 0.9})
            second = c.get("/api/status").json()
            assert second["version"] != first["version"]
            assert second["proposal_evaluations"] == first["proposal_evaluations"] + 1
            assert c.get("/").status_code == 200  # pages render while the writer holds the archive
        finally:
            w.close()


def test_view_command_prints_url_and_serves(crafted: Crafted) -> None:  # noqa: F811
    import httpx

    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    for host, needs_token in (("127.0.0.1", False), ("0.0.0.0", True)):
        proc = subprocess.Popen(
            [sys.executable, "-m", "evolve", "view", "--db", str(crafted.db), "--host", host, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            line = proc.stdout.readline()
            m = re.search(r"http://[^:]+:(\d+)/(\?token=(\S+))?", line)
            assert m, line
            port, token = m.group(1), m.group(3)
            assert (token is not None) == needs_token
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 15
            while True:
                try:
                    r = httpx.get(f"{base}/api/status", timeout=5)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            assert r.status_code == (403 if needs_token else 200)
            if needs_token:
                assert httpx.get(f"{base}/api/status?token={token}", timeout=5).status_code == 200
        finally:
            proc.terminate()
            proc.wait(10)


def test_view_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from evolve.cli import main

    assert main(["view", "--db", str(tmp_path / "none.db")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: view: no such database") and err.count("\n") == 1

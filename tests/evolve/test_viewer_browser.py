"""The viewer in a real headless browser (Debian's chromium + chromedriver via selenium)
on a real short run's archive: pages load without console errors, a grid cell leads to its
program, a scatter point shows its persona's text, XSS probes render as text, live updates.

Screenshots of the main pages go to /tmp/viewer_shots/*.png.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from test_run_e2e import SMALL as SMALL_RUN
from test_viewer_http import XSS_CODE_LINE, XSS_NAME, build_probe_archive

from archive import Archive
from archive.reader import ArchiveReader
from evolve.cli import main
from evolve.outputs.viewer import create_app
from evolve.outputs.viewer.server import start_in_thread

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = Path(os.environ.get("VIEWER_SHOTS", "/tmp/viewer_shots"))

pytestmark = [
    pytest.mark.ray,
    # In CI (.ci/run sets CI=true and installs the browser) a missing browser is a failure, not a skip.
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and os.environ.get("CI") != "true",
        reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
    ),
]


@pytest.fixture(scope="session")
def real_run(ray_session, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `run` on the sim world at a tiny budget (6 evaluations, 2 islands)."""
    tmp = tmp_path_factory.mktemp("viewer_run")
    (tmp / "run.toml").write_text(SMALL_RUN)  # the e2e tests' short run
    db = tmp / "archive.db"
    assert main(["run", "--config", str(tmp / "run.toml"), "--db", str(db), "--json"]) == 0
    return db


@pytest.fixture(scope="module")
def server(real_run: Path):
    running = start_in_thread(create_app(str(real_run)))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="viewer-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def load(driver: Any, url: str, *, chart: str | None = None) -> list[dict[str, Any]]:
    """Open ``url``, wait until loaded (and ``chart`` drawn), return the browser log."""
    driver.get("about:blank")  # leave the earlier page first: its polling can fail while it unloads
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    wait_for(lambda: driver.execute_script("return document.readyState") == "complete", what=f"{url} to load")
    if chart:
        wait_for(
            lambda: driver.execute_script(f"return !!document.querySelector('#{chart} .main-svg')"),
            what=f"chart #{chart}",
        )
    time.sleep(0.2)
    return driver.get_log("browser")


def problems(log: list[dict[str, Any]]) -> list[str]:
    """Console errors, plus any Content-Security-Policy complaint at any level."""
    return [e["message"] for e in log if e["level"] == "SEVERE" or "Content Security Policy" in e["message"]]


def screenshot(driver: Any, name: str) -> Path:
    """A full-page PNG (Chrome DevTools capture beyond the viewport)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path = SHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _champion_and_child(db: Path) -> tuple[str, str]:
    with ArchiveReader.open(db) as r:
        champ = r.champion()
        assert champ is not None
        child = next(v for v in r.top(20) if v.parent_id is not None)
        return champ.program.id, child.id


def test_each_page_loads_without_console_errors(server, browser, real_run: Path) -> None:
    champ, child = _champion_and_child(real_run)
    pages = [
        ("overview", "/", "fitness-chart"),
        ("grid", "/grid", None),
        ("program_champion", f"/program/{champ}?stage=validation", "scatter"),
        ("program_child", f"/program/{child}", "scatter"),
        ("rare", "/rare", None),
        ("compare", f"/compare?a=seed:sobol&b={child}", None),
    ]
    for name, path, chart in pages:
        log = load(browser, server.url + path, chart=chart)
        assert problems(log) == [], (path, problems(log))
        assert "persona-evolve viewer" in browser.title
        assert screenshot(browser, name).stat().st_size > 10_000
    # the overview links to the champion and shows the seeds and (when available) references
    load(browser, server.url + "/", chart="fitness-chart")
    link = browser.find_element("css selector", "#champion a.pid")
    assert link.get_attribute("href").endswith(f"/program/{champ}")
    names = browser.execute_script("return document.getElementById('fitness-chart').data.map(t => t.name)")
    assert any("seed:sobol" in n for n in names) and any("best so far" in n for n in names)


def test_grid_cell_leads_to_its_program(server, browser) -> None:
    load(browser, server.url + "/grid")
    cell = browser.find_element("css selector", "#grid-all a.grid-cell")
    pid = cell.get_attribute("data-program")
    cell.click()
    wait_for(lambda: f"/program/{pid}" in browser.current_url, what="program page")
    assert browser.find_element("id", "program-id").text == pid


def test_scatter_point_shows_its_persona_text(server, browser, real_run: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    champ, _ = _champion_and_child(real_run)
    load(browser, server.url + f"/program/{champ}?stage=validation", chart="scatter")
    context = browser.find_element("id", "scatter-context").get_attribute("value")
    points = browser.find_elements("css selector", "#scatter .scatterlayer .trace:first-child path.point")
    assert points, "no scatter points"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", points[0])
    ActionChains(browser).move_to_element(points[0]).pause(0.2).click().perform()
    panel = browser.find_element("id", "persona-panel")
    wait_for(panel.is_displayed, what="persona panel")
    name = browser.find_element("id", "persona-name").text
    text = browser.find_element("id", "persona-description").get_attribute("textContent")
    with ArchiveReader.open(real_run) as r:
        ev = r.best_evaluation(champ, "validation")
        stored = {
            p.persona.get("name"): p.persona.get("description")
            for p in r.personas(context_id=context, program_id=champ, evaluation_id=ev.id)
        }
    assert name in stored and text == stored[name] and len(text) > 50
    # the axis selectors redraw and keep the URL shareable
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "scatter-x")).select_by_index(1)
    wait_for(lambda: "x=1" in browser.current_url, what="x in the URL")
    screenshot(browser, "program_scatter_persona")


def test_xss_probes_render_as_text(browser, tmp_path: Path) -> None:
    db = tmp_path / "probe.db"
    ids = build_probe_archive(db)
    running = start_in_thread(create_app(str(db)))
    try:
        log = load(browser, running.url + f"/program/{ids['child']}", chart="scatter")
        assert problems(log) == []
        code = browser.find_element("id", "code")
        assert XSS_CODE_LINE in code.text
        assert browser.execute_script("return document.querySelectorAll('main img').length") == 0
        browser.find_element("css selector", "#persona-list").find_element(
            "xpath", ".."
        ).click()  # open <details>
        browser.find_element("css selector", ".persona-pick[data-index='0']").click()
        wait_for(browser.find_element("id", "persona-panel").is_displayed, what="persona panel")
        assert browser.find_element("id", "persona-name").text == XSS_NAME
        assert XSS_CODE_LINE in browser.find_element("id", "persona-description").text
        screenshot(browser, "xss_probe_program")
        for path in ("/", "/rare", f"/compare?a={ids['seed']}&b={ids['child']}", "/grid"):
            assert problems(load(browser, running.url + path)) == [], path
            assert browser.execute_script("return document.querySelectorAll('main img').length") == 0
        assert browser.execute_script("return typeof window.__xss") == "undefined"
    finally:
        running.stop()


def test_live_pages_follow_a_writing_run(browser, tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    ids = build_probe_archive(db)
    running = start_in_thread(create_app(str(db), poll_seconds=0.3))
    try:
        load(browser, running.url + f"/program/{ids['child']}")
        notice = browser.find_element("id", "live-notice")
        assert not notice.is_displayed()
        with Archive.open(url_or_path=db) as w:
            w.record_event(
                "evaluated", program_id=ids["child"], island=0, detail={"stage": "train", "fitness": 0.6}
            )
        wait_for(notice.is_displayed, timeout=8, what="the live notice")
        load(browser, running.url + "/")
        before = browser.find_element("id", "live-evals").text
        browser.execute_script("window.__marker = 1")
        with Archive.open(url_or_path=db) as w:
            w.record_event(
                "evaluated", program_id=ids["child"], island=0, detail={"stage": "train", "fitness": 0.7}
            )
        wait_for(
            lambda: browser.execute_script("return window.__marker === undefined"),
            timeout=8,
            what="the overview to reload",
        )
        wait_for(lambda: browser.execute_script("return document.readyState") == "complete")
        assert int(browser.find_element("id", "live-evals").text) == int(before) + 1
    finally:
        running.stop()


def test_front_and_holes_pages_draw_in_the_browser(server, browser, real_run: Path) -> None:
    """/front draws the plotly front (points = validated programs), /holes one SVG grid per
    axis pair; neither logs a console error."""
    from evolve.outputs.inspect import Source, front, holes

    with ArchiveReader.open(real_run) as r:
        src = Source.of(r)
        fr = front(src)
        hd = holes(src)
    log = load(browser, server.url + "/front", chart="front-chart")
    assert not problems(log), problems(log)
    drawn = browser.execute_script(
        "return document.getElementById('front-chart').data"
        ".reduce(function (n, t) { return n + (t.name === 'champion' ? 0 : t.x.length); }, 0)"
    )
    assert drawn == len(fr["front"]) + len(fr["dominated"])
    screenshot(browser, "front")
    log = load(browser, server.url + f"/holes?context={hd['context']}")
    assert not problems(log), problems(log)
    grids = browser.execute_script("return document.querySelectorAll('#holes-pairs svg').length")
    holes_drawn = browser.execute_script("return document.querySelectorAll('#holes-pairs rect.hole').length")
    assert grids == len(hd["pairs"])
    assert holes_drawn == sum(len(p["holes"]) for p in hd["pairs"])
    screenshot(browser, "holes")

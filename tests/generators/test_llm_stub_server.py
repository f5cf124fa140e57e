"""The reusable OpenAI-compatible stub server (tests/stub_openai_server.py) on its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))
from stub_openai_server import StubServer  # noqa: E402


def post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_fixed_reply_usage_and_both_paths():
    with StubServer(reply="fixed", prompt_tokens=7, completion_tokens=3) as srv:
        assert srv.base_url == f"http://127.0.0.1:{srv.port}/v1" and srv.port > 0
        msgs = [{"role": "user", "content": "hello"}]
        status, data = post(srv.base_url + "/chat/completions", {"model": "m1", "messages": msgs})
        assert status == 200
        assert data["choices"][0]["message"] == {"role": "assistant", "content": "fixed"}
        assert data["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
        assert data["model"] == "m1" and data["object"] == "chat.completion"
        status, _ = post(f"http://127.0.0.1:{srv.port}/chat/completions", {"model": "m1", "messages": msgs})
        assert status == 200
        status, _ = post(f"http://127.0.0.1:{srv.port}/v1/embeddings", {})
        assert status == 404
        assert [r.path for r in srv.requests] == ["/v1/chat/completions", "/chat/completions"]
        assert srv.requests[0].messages == msgs


def test_callable_reply_and_default_usage():
    with StubServer(reply=lambda msgs: msgs[-1]["content"].upper()) as srv:
        _, data = post(
            srv.base_url + "/chat/completions", {"messages": [{"role": "user", "content": "abcdefgh"}]}
        )
        assert data["choices"][0]["message"]["content"] == "ABCDEFGH"
        assert data["usage"]["prompt_tokens"] == 2 and data["usage"]["completion_tokens"] == 2


def test_scripted_failures_then_success():
    with StubServer(reply="ok", failures=[429, 500]) as srv:
        url = srv.base_url + "/chat/completions"
        body = {"messages": [{"role": "user", "content": "x"}]}
        codes = [post(url, body)[0] for _ in range(3)]
        assert codes == [429, 500, 200]
        srv.fail_next([503])
        assert srv.pending_failures == 1
        status, data = post(url, body)
        assert status == 503 and data["error"]["type"] == "service_unavailable"
        assert [r.status for r in srv.requests] == [429, 500, 200, 503]


def test_latency_and_in_flight_measurement():
    import threading

    with StubServer(reply="ok", latency_s=0.2) as srv:
        body = {"messages": [{"role": "user", "content": "x"}]}
        ts = [
            threading.Thread(target=post, args=(srv.base_url + "/chat/completions", body)) for _ in range(4)
        ]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert time.perf_counter() - t0 >= 0.2  # the latency is served (overlap: max_in_flight)
        assert srv.max_in_flight == 4 and srv.in_flight == 0


def test_runnable_as_script():
    proc = subprocess.Popen(
        [sys.executable, str(TESTS / "stub_openai_server.py"), "--reply", "from-cli", "--fail", "429"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "stub OpenAI server at http://127.0.0.1:" in line
        base = line.split(" at ")[1].split()[0]
        body = {"messages": [{"role": "user", "content": "x"}]}
        assert post(base + "/chat/completions", body)[0] == 429
        status, data = post(base + "/chat/completions", body)
        assert status == 200 and data["choices"][0]["message"]["content"] == "from-cli"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("bad", [b"not json"])
def test_bad_body_is_400(bad):
    with StubServer() as srv:
        req = urllib.request.Request(srv.base_url + "/chat/completions", data=bad)
        with pytest.raises(urllib.error.HTTPError) as ei:
            urllib.request.urlopen(req, timeout=10)
        assert ei.value.code == 400

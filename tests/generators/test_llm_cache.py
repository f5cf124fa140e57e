"""ResponseCache: persistence, first-writer-wins, disabled mode, concurrent writers."""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from generators.llm import CachedResponse, ResponseCache

ROOT = Path(__file__).resolve().parents[2]


def _resp(text: str, cost: float = 0.01) -> CachedResponse:
    return CachedResponse(text=text, model="openai/x", prompt_tokens=3, completion_tokens=5, cost_usd=cost)


def test_put_get_roundtrip_and_persistence(tmp_path):
    path = tmp_path / "sub" / "cache.sqlite"
    c = ResponseCache(path)
    assert c.enabled and c.get("k") is None and len(c) == 0
    c.put("k", _resp("hello"))
    assert c.get("k") == _resp("hello")
    assert (c.hits, c.misses) == (1, 1)
    c.close()
    again = ResponseCache(path)
    assert again.get("k") == _resp("hello") and len(again) == 1
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode.lower() == "wal"


def test_first_writer_wins(tmp_path):
    c = ResponseCache(tmp_path / "c.sqlite")
    c.put("k", _resp("first"))
    c.put("k", _resp("second"))
    assert c.get("k").text == "first" and len(c) == 1


def test_disabled_stores_nothing():
    c = ResponseCache.disabled()
    c.put("k", _resp("x"))
    assert not c.enabled and c.get("k") is None and len(c) == 0


def test_pickle_carries_only_the_path(tmp_path):
    c = ResponseCache(tmp_path / "c.sqlite")
    c.put("k", _resp("x"))
    c2 = pickle.loads(pickle.dumps(c))
    assert c2.path == c.path and c2.get("k").text == "x"


def test_threads_share_one_cache(tmp_path):
    c = ResponseCache(tmp_path / "c.sqlite")

    def work(t: int) -> None:
        for i in range(50):
            c.put(f"{t}-{i}", _resp(f"{t}-{i}"))
            assert c.get(f"{t}-{i}") is not None

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(c) == 200


_WRITER = """
import sys
from generators.llm import CachedResponse, ResponseCache
path, worker = sys.argv[1], int(sys.argv[2])
c = ResponseCache(path)
for i in range(150):
    c.put(f"shared-{i}", CachedResponse(f"w{worker}", "m", 1, 1, 0.0))
    c.put(f"own-{worker}-{i}", CachedResponse(f"w{worker}", "m", 1, 1, 0.0))
    assert c.get(f"own-{worker}-{i}") is not None
print("done")
"""


def test_several_processes_write_at_once(tmp_path):
    path = tmp_path / "shared.sqlite"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(w)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert out.strip() == "done"
    c = ResponseCache(path)
    assert len(c) == 150 + 4 * 150
    # every shared key holds exactly one answer, written by one of the workers
    assert all(c.get(f"shared-{i}").text in {"w0", "w1", "w2", "w3"} for i in range(150))

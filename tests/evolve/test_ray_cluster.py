"""A run on a real two-node Ray cluster (`ray start --head` + `ray start --address` on
this machine): evaluations land on both nodes, and an API key reaches the workers only
through `[ray] pass_env` (the nodes are started without it)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[1]))
from stub_openai_server import StubServer  # noqa: E402

from evolve.execution.ray_runtime import worker_env  # noqa: E402

pytestmark = pytest.mark.slow

TOKEN_VAR = "PE_CLUSTER_TEST_TOKEN"


def test_worker_env_forwards_only_named_variables(monkeypatch):
    monkeypatch.setenv(TOKEN_VAR, "secret-value")
    monkeypatch.setenv("OTHER_SECRET_KEY", "nope")
    env = worker_env([TOKEN_VAR, "NOT_SET_ANYWHERE"])
    assert env[TOKEN_VAR] == "secret-value"
    assert "OTHER_SECRET_KEY" not in env and "NOT_SET_ANYWHERE" not in env
    assert env["RAY_USAGE_STATS_ENABLED"] == "0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_cluster(temp: str) -> None:
    """Kill only this cluster's processes (their command lines name its temp dir);
    `ray stop` would also stop the test session's own Ray. Linux: reads /proc."""
    victims = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if temp in cmdline:
            victims.append(int(entry.name))
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in victims):
        time.sleep(0.1)


@pytest.fixture
def two_node_cluster():
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        ray_bin = Path(shutil.which("ray") or "ray")
    env = {k: v for k, v in os.environ.items() if k != TOKEN_VAR}
    # Ray reads RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER as "allow multi-node clusters" on every
    # platform; the test session sets it to 0 for its local Ray, this cluster needs 1.
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="1")
    port = _free_port()
    # its own short temp dir (Ray's socket paths must stay under 107 characters)
    temp = tempfile.mkdtemp(prefix="pe-ray-", dir="/tmp")
    common = ["--num-cpus", "1", "--disable-usage-stats", "--object-store-memory", str(150 * 1024 * 1024)]
    head = subprocess.run(
        [
            str(ray_bin),
            "start",
            "--head",
            "--port",
            str(port),
            "--node-ip-address",
            "127.0.0.1",
            "--include-dashboard",
            "false",
            "--temp-dir",
            temp,
            *common,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert head.returncode == 0, head.stderr[-2000:]
    address = f"127.0.0.1:{port}"
    try:
        worker = subprocess.run(
            [str(ray_bin), "start", "--address", address, "--node-ip-address", "127.0.0.1", *common],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert worker.returncode == 0, worker.stderr[-2000:]
        yield address
    finally:
        _stop_cluster(temp)
        shutil.rmtree(temp, ignore_errors=True)


def test_run_on_two_nodes_with_key_pass_through(two_node_cluster, tmp_path):
    from generators.sim import SimLLM

    sim = SimLLM()
    counter = {"n": 0}

    def reply(messages):
        counter["n"] += 1
        return sim.respond("persona", messages, seed=counter["n"])

    with StubServer(reply=reply) as server:
        config = tmp_path / "run.toml"
        config.write_text(f"""
seed = 1
[models]
persona = {{ model = "openai/sim-behind-stub", api_base = "{server.base_url}", api_key_env = "{TOKEN_VAR}" }}
[contexts]
train = ["esports_community", "online_dating_users", "parish_congregation"]
validation = ["online_course_learners"]
test = ["divorced_coparents"]
[evaluation]
n = 6
mc_samples = 1000
[cascade]
threshold = 0.0
[islands]
count = 2
[budget]
evaluations = 8
[ray]
pass_env = ["{TOKEN_VAR}"]
""")
        env = dict(os.environ, **{TOKEN_VAR: "sk-cluster-token", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"})
        db = tmp_path / "archive.db"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "evolve",
                "run",
                "--config",
                str(config),
                "--db",
                str(db),
                "--ray-address",
                two_node_cluster,
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        auth = {r.headers.get("authorization") for r in server.requests}
    summary = json.loads(done.stdout)
    assert summary["evaluations"] == 8
    assert auth == {"Bearer sk-cluster-token"}, "the key did not reach every worker through pass_env"
    with sqlite3.connect(db) as conn:
        details = [
            json.loads(d) for (d,) in conn.execute("SELECT detail FROM events WHERE kind = 'evaluated'")
        ]
    nodes = {d["node"] for d in details if d.get("stage") == "train" and d.get("node")}
    assert len(nodes) == 2, f"evaluations ran on {len(nodes)} node(s)"

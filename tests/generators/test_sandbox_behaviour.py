"""How the sandbox behaves for programs that fail, hang, exhaust limits or use the llm
proxy: each failure must become a short readable error on the job, never a crash of the
calling process. (What the kernel refuses, route by route, is in test_sandbox_kernel.py.)"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

from generators.sandbox import GenerationJob, JobResult, SandboxLimits, isolation_report, run_generator

CTX = {
    "id": "ctx",
    "description": "a test setting",
    "axes": [
        {"name": "risk", "description": "appetite for risk", "low": "cautious", "high": "bold"},
        {"name": "trust", "description": "trust in institutions", "low": "sceptical", "high": "trusting"},
    ],
}
FAST = SandboxLimits(wall_timeout_s=3.0, cpu_time_s=5, memory_mb=1024)


async def echo(prompts, *, system, temperature, max_tokens, job_index):
    await asyncio.sleep(random.uniform(0.0, 0.02))  # replies complete out of order
    return [f"echo[{job_index}]:{p}" for p in prompts]


def run(
    code: str,
    *,
    n: int = 2,
    jobs: int = 1,
    limits: SandboxLimits = FAST,
    llm=echo,
    parallel: int = 4,
    seeds=None,
) -> list[JobResult]:
    seeds = list(range(jobs)) if seeds is None else seeds
    work = [GenerationJob(context=CTX, n=n, seed=s) for s in seeds]
    results = run_generator(code, work, llm=llm, limits=limits, parallel=parallel)
    assert len(results) == len(work)
    return results


def one(code: str, **kw) -> JobResult:
    return run(code, **kw)[0]


OK_BODY = "    return [{'name': f'p{i}', 'description': 'd'} for i in range(n)]\n"


def hostile(before: str) -> str:
    """A generate() that runs ``before`` (indented body lines) then returns valid personas."""
    body = "".join(f"    {line}\n" for line in before.strip("\n").splitlines())
    return "import os, sys\n\ndef generate(context, n, llm, rng):\n" + body + OK_BODY


def assert_refused(result: JobResult, fragment: str) -> None:
    assert result.personas is None
    assert result.error is not None and "\n" not in result.error
    assert result.error.startswith("PermissionError at line"), result.error
    assert "sandbox:" in result.error and fragment in result.error, result.error


# -- baseline -----------------------------------------------------------------------


def test_valid_program_returns_personas_and_sees_context_and_rng():
    code = (
        "def generate(context, n, llm, rng):\n"
        "    return [{'name': f'p{i}', 'description': context.axes[1].low, 'u': float(rng.random())}"
        " for i in range(n)]\n"
    )
    a, b = run(code, n=3, jobs=2, seeds=[7, 7])
    assert a.error is None and a.personas is not None and len(a.personas) == 3
    assert a.personas[0]["description"] == "sceptical"
    assert a.personas == b.personas  # same seed, same rng stream


# -- load-time failures ----------------------------------------------------------------


def test_syntax_error_reports_line_number():
    code = "import math\n\ndef generate(context, n, llm, rng):\n    x = (1 +\n    return []\n"
    r = one(code)
    assert r.personas is None
    assert r.error is not None and r.error.startswith("SyntaxError at line "), r.error
    assert "line 4" in r.error or "line 5" in r.error
    assert r.detail and "<generator>" in r.detail


def test_module_level_exception_is_reported_as_load_error():
    r = one("x = 1\ny = {}['missing']\n\ndef generate(context, n, llm, rng):\n    return []\n", jobs=1)
    assert r.error == "KeyError at line 2 (loading the program): 'missing'"


def test_missing_generate_function():
    r = one("def make(context, n):\n    return []\n")
    assert r.error == "program defines no generate(context, n, llm, rng) function"


# -- exceptions and return-value checks --------------------------------------------------


def test_exception_in_generate_traceback_points_at_program_line():
    code = "def helper(x):\n    return 1 / x\n\ndef generate(context, n, llm, rng):\n    return helper(0)\n"
    r = one(code)
    assert r.error == "ZeroDivisionError at line 2: division by zero"
    assert 'File "<generator>", line 5, in generate' in r.detail
    assert 'File "<generator>", line 2, in helper' in r.detail
    assert "return 1 / x" in r.detail and r.detail.rstrip().endswith("ZeroDivisionError: division by zero")
    assert len(r.detail) <= 2100


def test_wrong_return_type():
    r = one("def generate(context, n, llm, rng):\n    return {'name': 'x'}\n")
    assert r.error == "generate() returned dict, expected list of dicts"


def test_persona_count_short_is_kept_too_many_or_none_is_an_error():
    short = one("def generate(context, n, llm, rng):\n    return [{'name': 'a', 'description': 'b'}]\n", n=3)
    assert short.error is None and short.personas == [{"name": "a", "description": "b"}]
    many = one(
        "def generate(context, n, llm, rng):\n    return [{'name': 'a', 'description': 'b'}] * (n + 1)\n", n=3
    )
    assert many.error == "generate() returned 4 personas, expected at most 3"
    assert (
        one("def generate(context, n, llm, rng):\n    return []\n", n=3).error
        == "generate() returned no personas, expected 3"
    )


def test_missing_name_or_description():
    code = (
        "def generate(context, n, llm, rng):\n"
        "    out = [{'name': f'p{i}', 'description': 'd'} for i in range(n)]\n"
        "    del out[2]['description']\n"
        "    return out\n"
    )
    assert one(code, n=4).error == "persona 2: missing 'description'"
    code2 = "def generate(context, n, llm, rng):\n    return [{'description': 'd'}] * n\n"
    assert one(code2).error == "persona 0: missing 'name'"


def test_non_json_serialisable_persona():
    code = (
        "def generate(context, n, llm, rng):\n"
        "    out = [{'name': f'p{i}', 'description': 'd', 'n': rng.integers(9)} for i in range(n)]\n"
        "    out[1]['tags'] = {'a', 'b'}\n"
        "    return out\n"
    )
    r = one(code)
    assert r.error == "persona 1: field 'tags' is not JSON-serialisable (set)"


def test_numpy_scalars_are_converted_not_rejected():
    code = (
        "def generate(context, n, llm, rng):\n"
        "    return [{'name': 'a', 'description': 'b', 'k': rng.integers(5), 'x': rng.random(1)[0]}"
        " for _ in range(n)]\n"
    )
    r = one(code)
    assert r.error is None and isinstance(r.personas[0]["k"], int)


# -- time, memory, CPU -------------------------------------------------------------------


def test_infinite_loop_is_killed_at_wall_timeout_and_location_reported():
    code = "def generate(context, n, llm, rng):\n    i = 0\n    while True:\n        i += 1\n"
    t0 = time.monotonic()
    r = one(code, limits=SandboxLimits(wall_timeout_s=1.5, cpu_time_s=30))
    took = time.monotonic() - t0
    assert r.error == "timeout: generate() exceeded the 1.5 s wall limit"
    assert 1.4 <= took < 4.0
    assert r.detail and ("line 4, in generate" in r.detail or "line 3, in generate" in r.detail), r.detail


def test_memory_hog_reports_memory_limit():
    code = (
        "import numpy as np\n"
        "def generate(context, n, llm, rng):\n"
        "    blob = np.ones(4 * 1024**3 // 8)\n"
        "    return []\n"
    )
    r = one(code, limits=SandboxLimits(wall_timeout_s=3.0, memory_mb=256))
    assert r.error == "MemoryError: generate() exceeded the 256 MB memory limit"
    assert "line 3, in generate" in r.detail


def test_memory_hog_pure_python():
    code = "def generate(context, n, llm, rng):\n    x = bytearray(4 * 1024**3)\n    return []\n"
    r = one(code, limits=SandboxLimits(wall_timeout_s=3.0, memory_mb=256))
    assert r.error == "MemoryError: generate() exceeded the 256 MB memory limit"


def test_cpu_limit_kills_busy_loop():
    code = "def generate(context, n, llm, rng):\n    while True:\n        pass\n"
    # a wall limit far above the CPU limit: on a loaded machine the loop gets its CPU second late
    r = one(code, limits=SandboxLimits(wall_timeout_s=30.0, cpu_time_s=1))
    assert r.error == "CPU limit: generate() exceeded the 1 s CPU-time limit"


def test_scipy_sobol_gives_distinct_points_in_the_sandbox():
    """scipy reads Sobol's direction numbers lazily (importlib.resources); if that import
    were refused, its compiled code would swallow the error and repeat one point."""
    code = (
        "from scipy.stats import qmc\n"
        "def generate(context, n, llm, rng):\n"
        "    pts = qmc.Sobol(d=2, scramble=False).random(4)\n"
        "    return [{'name': f'p{i}', 'description': repr([float(v) for v in p])}"
        " for i, p in enumerate(pts)]\n"
    )
    r = one(code, n=4, limits=SandboxLimits(wall_timeout_s=20.0))
    assert r.error is None, r.detail
    points = [p["description"] for p in r.personas]
    assert len(set(points)) == 4 and points[1] == "[0.5, 0.5]", points
    assert "refused import" not in r.stdout_tail


def test_a_refused_import_leaves_a_trace_even_if_swallowed():
    code = (
        "def generate(context, n, llm, rng):\n"
        "    try:\n        __import__('sqlite3')\n    except ImportError:\n        pass\n"
        "    return [{'name': 'p', 'description': 'd'}] * n\n"
    )
    r = one(code)
    assert r.error is None and "sandbox: refused import of 'sqlite3'" in r.stdout_tail


def test_scipy_and_common_stdlib_imports_work_in_the_sandbox():
    code = (
        "import json, math, random, statistics, itertools, textwrap, re, dataclasses, collections\n"
        "from scipy.stats import qmc\n"
        "@dataclasses.dataclass\n"
        "class P:\n"
        "    x: float\n"
        "def generate(context, n, llm, rng):\n"
        "    pts = qmc.Sobol(d=len(context.axes), seed=rng).random(n)\n"
        "    return [{'name': f'p{i}', 'description': json.dumps(P(float(p[0])).__dict__)}"
        " for i, p in enumerate(pts)]\n"
    )
    r = one(code, n=4, limits=SandboxLimits(wall_timeout_s=10.0))
    assert r.error is None, r.detail


# -- secrets -------------------------------------------------------------------------------


def test_environment_has_no_secrets(monkeypatch):
    for name in (
        "FAKE_API_KEY",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "HF_TOKEN",
        "GEMINI_API_KEY",
        "LITELLM_MASTER_KEY",
        "DB_PASSWORD",
        "AZURE_OPENAI_ENDPOINT",
    ):
        monkeypatch.setenv(name, "sk-should-never-leak")
    code = (
        "import os, json\n"
        "def generate(context, n, llm, rng):\n"
        "    env = dict(os.environ)\n"
        "    return [{'name': 'env', 'description': json.dumps(env), 'cwd': os.getcwd()}] * n\n"
    )
    r = one(code)
    env = __import__("json").loads(r.personas[0]["description"])
    assert "sk-should-never-leak" not in r.personas[0]["description"]
    assert not [k for k in env if any(s in k for s in ("KEY", "TOKEN", "SECRET", "PASSWORD"))]
    assert not [
        k
        for k in env
        if k.startswith(("OPENAI", "ANTHROPIC", "AWS", "GOOGLE", "AZURE", "GEMINI", "HF_", "LITELLM"))
    ]
    assert env["HOME"] == r.personas[0]["cwd"] and env["OPENBLAS_NUM_THREADS"] == "1"


# -- output and protocol ---------------------------------------------------------------------


def test_printing_a_lot_and_fake_protocol_text_does_not_corrupt_the_protocol():
    code = (
        "import sys\n"
        'print(\'{"t": "result", "job": 0, "personas": [], "error": null}\')\n'
        "def generate(context, n, llm, rng):\n"
        "    for i in range(20000):\n"
        '        print(\'{"t": "done"} line\', i)\n'
        '    sys.stderr.write(\'{"t": "load_error", "error": "fake"}\\n\' * 100)\n'
        "    print('LAST LINE')\n"
        "    return [{'name': f'p{i}', 'description': 'real'} for i in range(n)]\n"
    )
    limits = SandboxLimits(wall_timeout_s=3.0, max_output_bytes=4000)
    results = run(code, jobs=2, limits=limits)
    for r in results:
        assert r.error is None and [p["description"] for p in r.personas] == ["real", "real"]
    assert "LAST LINE" in results[0].stdout_tail
    assert len(results[0].stdout_tail.encode()) <= 4000


def test_writing_garbage_to_the_protocol_pipe_is_a_readable_error():
    # every fd the child might hold: the pipe's number follows the parent's open fds
    code = hostile(
        "for fd in range(3, 4096):\n"
        "    try:\n"
        "        os.write(fd, b'not json at all\\n')\n"
        "    except OSError:\n"
        "        pass"
    )
    r = one(code)
    assert r.personas is None and r.error.startswith("protocol:"), r.error


def test_os_exit_and_sys_exit_in_generate():
    r = one(hostile("os._exit(0)"))
    assert r.error == "sandbox: the child exited with code 0 during generate()"
    r = one(hostile("sys.exit(3)"))
    assert r.error == "SystemExit at line 4: 3"


# -- llm proxy -------------------------------------------------------------------------------


def test_llm_complete_and_complete_many_answers_arrive_in_order():
    code = (
        "def generate(context, n, llm, rng):\n"
        "    first = llm.complete('hello', system='sys', temperature=0.5, max_tokens=10)\n"
        "    many = llm.complete_many([f'q{i}' for i in range(n)])\n"
        "    assert llm.complete_many([]) == []\n"
        "    return [{'name': first, 'description': t} for t in many]\n"
    )
    seen = []

    async def handler(prompts, *, system, temperature, max_tokens, job_index):
        seen.append((tuple(prompts), system, temperature, max_tokens, job_index))
        return await echo(
            prompts, system=system, temperature=temperature, max_tokens=max_tokens, job_index=job_index
        )

    results = run(code, n=12, jobs=3, llm=handler)
    for index, r in enumerate(results):
        assert r.error is None, r.detail
        assert r.personas[0]["name"] == f"echo[{index}]:hello"
        assert [p["description"] for p in r.personas] == [f"echo[{index}]:q{i}" for i in range(12)]
        assert r.llm_calls == 13
    assert (("hello",), "sys", 0.5, 10, 0) in seen


def test_llm_calls_of_parallel_jobs_overlap():
    """Four jobs' LLM calls are in flight at once: each call waits until all four have
    arrived (a serial sandbox would never release the first), no clock involved."""
    code = (
        "def generate(context, n, llm, rng):\n"
        "    return [{'name': t, 'description': t} for t in llm.complete_many(['a'] * n)]\n"
    )
    inflight = {"now": 0, "most": 0}
    all_arrived: dict[str, asyncio.Event] = {}

    async def gathering(prompts, **_):
        event = all_arrived.setdefault("event", asyncio.Event())
        inflight["now"] += 1
        inflight["most"] = max(inflight["most"], inflight["now"])
        if inflight["now"] == 4:
            event.set()
        try:
            await asyncio.wait_for(event.wait(), timeout=60)
        except asyncio.TimeoutError:
            raise ConnectionError(f"only {inflight['now']} calls in flight") from None
        return list(prompts)

    results = run(code, jobs=4, llm=gathering, parallel=4)
    assert [r.error for r in results] == [None] * 4
    assert inflight["most"] == 4


def test_llm_handler_failure_is_a_readable_error_and_catchable():
    async def broken(prompts, **_):
        raise ConnectionError("provider down")

    r = one(
        (
            "def generate(context, n, llm, rng):\n"
            "    return [{'name': llm.complete('x'), 'description': 'd'}] * n\n"
        ),
        llm=broken,
    )
    assert r.error == "LLMUnavailable at line 2: llm call failed: ConnectionError: provider down"
    code = (
        "from sandbox_runtime import LLMUnavailable\n"
        "def generate(context, n, llm, rng):\n"
        "    try:\n"
        "        text = llm.complete('x')\n"
        "    except LLMUnavailable:\n"
        "        text = 'fallback'\n"
        "    return [{'name': text, 'description': 'd'}] * n\n"
    )
    assert one(code, llm=broken).personas[0]["name"] == "fallback"


def test_llm_handler_returning_wrong_shape_is_an_error_in_the_program():
    async def short(prompts, **_):
        return ["only one"]

    r = one(
        (
            "def generate(context, n, llm, rng):\n"
            "    return [{'name': t, 'description': t} for t in llm.complete_many(['a', 'b'])]\n"
        ),
        llm=short,
    )
    assert r.error.startswith("LLMUnavailable at line 2:") and "1 replies for 2 prompts" in r.error


def test_llm_bad_arguments_raise_in_the_program():
    r = one("def generate(context, n, llm, rng):\n    llm.complete_many('not a list')\n")
    assert r.error == "TypeError at line 2: llm.complete_many: prompts must be a list of strings, got a str"


# -- partial results, isolation report, robustness ---------------------------------------------


def test_partial_results_on_timeout():
    code = (
        "import time\n"
        "def generate(context, n, llm, rng):\n"
        "    if context.id == 'slow':\n"
        "        time.sleep(30)\n"
        "    return [{'name': f'p{i}', 'description': 'fast'} for i in range(n)]\n"
    )
    jobs = [
        GenerationJob(context=CTX, n=2, seed=0),
        GenerationJob(context={**CTX, "id": "slow"}, n=2, seed=1),
        GenerationJob(context=CTX, n=2, seed=2),
    ]
    results = run_generator(code, jobs, llm=echo, limits=SandboxLimits(wall_timeout_s=1.5), parallel=2)
    assert results[0].error is None and results[2].error is None
    assert [p["description"] for p in results[0].personas] == ["fast", "fast"]
    assert results[1].error == "timeout: generate() exceeded the 1.5 s wall limit"
    assert "line 4, in generate" in results[1].detail


def test_isolation_report_lists_active_layers():
    report = isolation_report()
    assert report["error"] is None
    layers = " | ".join(report["layers"])
    for needed in (
        "process group",
        "env allow-list",
        "fresh tmp cwd",
        "rlimits: AS=",
        "audit guard",
        "network namespace:",
        "pid namespace:",
        "landlock:",
        "seccomp:",
    ):
        assert needed in layers
    assert report["missing"] == [], report
    assert 0 < report["startup_s"] < 10


def test_the_caller_never_crashes_on_bad_input():
    r = run_generator(b"not str", [GenerationJob(context=CTX, n=1, seed=0)], llm=echo, limits=FAST)  # type: ignore[arg-type]
    assert r[0].error.startswith("sandbox: internal error: TypeError")
    bad_ctx = [GenerationJob(context={"id": "x", "description": object(), "axes": []}, n=1, seed=0)]
    assert run_generator(OK_BODY, bad_ctx, llm=echo, limits=FAST)[0].error.startswith(
        "sandbox: internal error"
    )
    assert run_generator("", [], llm=echo) == []


def test_sync_wrapper_works_inside_a_running_loop():
    async def inner():
        return run_generator(
            hostile("pass"), [GenerationJob(context=CTX, n=1, seed=0)], llm=echo, limits=FAST
        )

    assert asyncio.run(inner())[0].error is None


def test_no_sandbox_process_left_after_a_run():
    code = (
        "import os, threading, time\n"
        "def generate(context, n, llm, rng):\n"
        "    threading.Thread(target=time.sleep, args=(60,)).start()\n"
        "    return [{'name': 'p', 'description': os.getcwd()}] * n\n"
    )
    workdir = one(code).personas[0]["description"]
    time.sleep(0.1)
    leftovers = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if workdir.encode() in cmd:  # this run's child (or its relay) still alive
            leftovers.append(pid)
    assert not leftovers

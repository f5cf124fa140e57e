"""LLMClient over litellm: mock_response, the stub server, retries, cache, budget, concurrency, sim."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stub_openai_server import StubServer  # noqa: E402

from generators.llm import (  # noqa: E402
    Budget,
    BudgetExceeded,
    LLMClient,
    LLMError,
    ModelConfig,
    ResponseCache,
    SimBackend,
    build_client,
)
from generators.llm.backend import import_litellm  # noqa: E402

litellm = import_litellm()

MINI = "openai/gpt-4o-mini"
USER = [{"role": "user", "content": "hi"}]


def mock(text="hello", **extra) -> ModelConfig:
    return ModelConfig(model=MINI, extra={"mock_response": text, **extra})


def stub_cfg(srv: StubServer, **kw) -> ModelConfig:
    return ModelConfig(model="openai/stub-model", api_base=srv.base_url, extra={"api_key": "sk-stub"}, **kw)


class EchoSim:
    """A tiny SimBackend: echoes role, seed and the last message."""

    def __init__(self) -> None:
        self.calls = 0

    def respond(self, role, messages, *, seed=None):
        self.calls += 1
        return f"sim[{role}|{seed}] {messages[-1]['content']}"


def client(models, **kw) -> LLMClient:
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("sim_backend", EchoSim())
    return LLMClient(models=models, **kw)


@pytest.fixture
def srv():
    with StubServer(reply=lambda msgs: "re: " + msgs[-1]["content"]) as s:
        yield s


# ---------------------------------------------------------------- mock_response


def test_mock_response_text_tokens_and_known_cost():
    c = client({"persona": mock("hello")})
    comp = asyncio.run(c.acomplete("persona", USER))
    assert comp.text == "hello" and comp.role == "persona" and comp.model == MINI and not comp.cached
    assert (comp.prompt_tokens, comp.completion_tokens) == (10, 20)  # litellm's mock usage
    price = litellm.model_cost["gpt-4o-mini"]
    expected = 10 * price["input_cost_per_token"] + 20 * price["output_cost_per_token"]
    assert comp.cost_known and comp.cost_usd == pytest.approx(expected) and comp.cost_usd > 0
    u = c.usage()["persona"]
    assert (u.calls, u.cached_calls, u.prompt_tokens, u.completion_tokens, u.errors, u.retries) == (
        1,
        0,
        10,
        20,
        0,
        0,
    )
    assert u.cost_usd == pytest.approx(expected) and u.model == MINI
    assert c.usage()["mutator"].calls == 0


def test_unknown_model_costs_zero_and_is_flagged(srv):
    c = client({"mutator": stub_cfg(srv)})
    comp = asyncio.run(c.acomplete("mutator", USER))
    assert comp.text == "re: hi"
    assert comp.cost_usd == 0.0 and comp.cost_known is False
    assert c.drain_records()[0].cost_known is False


def test_stub_server_usage_and_request_params(srv):
    srv.prompt_tokens, srv.completion_tokens = 123, 45
    c = client({"author": stub_cfg(srv, temperature=0.3, max_tokens=77)})
    comp = asyncio.run(c.acomplete("author", USER, seed=5))
    assert (comp.prompt_tokens, comp.completion_tokens) == (123, 45)
    body = srv.requests[-1].body
    assert body["temperature"] == 0.3 and body["max_tokens"] == 77 and body["seed"] == 5
    assert body["messages"] == USER and body["model"] == "stub-model"
    asyncio.run(c.acomplete("author", USER, temperature=0.9, max_tokens=5))  # per-call override
    body = srv.requests[-1].body
    assert body["temperature"] == 0.9 and body["max_tokens"] == 5 and "seed" not in body


def test_complete_sync_with_system_prompt(srv):
    c = client({"persona": stub_cfg(srv)})
    assert c.complete("persona", "question", system="be brief") == "re: question"
    assert srv.requests[-1].messages == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "question"},
    ]
    assert c.complete_many("persona", ["a", "b", "c"]) == ["re: a", "re: b", "re: c"]


def test_api_key_read_from_env_at_call_time(srv, monkeypatch):
    cfg = ModelConfig(model="openai/stub-model", api_base=srv.base_url, api_key_env="PE_TEST_STUB_KEY")
    c = client({"mutator": cfg})
    monkeypatch.delenv("PE_TEST_STUB_KEY", raising=False)
    with pytest.raises(LLMError, match=r"role=mutator.*PE_TEST_STUB_KEY is not set"):
        c.complete("mutator", "x")
    assert srv.requests == []
    monkeypatch.setenv("PE_TEST_STUB_KEY", "sk-from-env")
    assert c.complete("mutator", "x") == "re: x"
    assert srv.requests[-1].headers["authorization"] == "Bearer sk-from-env"
    assert "sk-from-env" not in repr(c.drain_records()) + repr(cfg) + repr(c.usage())


def test_unknown_role_and_bad_messages():
    c = client({})
    with pytest.raises(ValueError, match="unknown LLM role 'judge'"):
        c.complete("judge", "x")
    with pytest.raises(ValueError, match="messages"):
        asyncio.run(c.acomplete("persona", []))
    with pytest.raises(ValueError, match=r"messages\[0\]"):
        asyncio.run(c.acomplete("persona", [{"content": "no role"}]))


# --------------------------------------------------------------------- retries


def test_retry_on_429_then_success(srv):
    srv.fail_next([429, 429])
    c = client({"mutator": stub_cfg(srv)})
    comp = asyncio.run(c.acomplete("mutator", USER))
    assert comp.text == "re: hi"
    assert [r.status for r in srv.requests] == [429, 429, 200]
    u = c.usage()["mutator"]
    assert (u.calls, u.retries, u.errors) == (1, 2, 0)
    rec = c.drain_records()
    assert len(rec) == 1 and rec[0].retries == 2 and rec[0].error is None


def test_retry_on_5xx_then_success(srv):
    srv.fail_next([500, 503, 502])
    c = client({"mutator": stub_cfg(srv)})
    assert c.complete("mutator", "x") == "re: x"
    assert [r.status for r in srv.requests] == [500, 503, 502, 200]
    assert c.usage()["mutator"].retries == 3


def test_retry_exhaustion_on_stub(srv):
    srv.fail_next([429] * 10)
    c = client({"mutator": stub_cfg(srv)}, max_retries=2)
    with pytest.raises(LLMError) as ei:
        c.complete("mutator", "x")
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith(
        "LLM call failed after 3 attempts (role=mutator, model=openai/stub-model): RateLimitError"
    )
    assert len(srv.requests) == 3
    u = c.usage()["mutator"]
    assert (u.calls, u.errors, u.retries) == (1, 1, 2)
    assert c.drain_records()[0].error == msg


@pytest.mark.parametrize(
    "status,name", [(400, "BadRequestError"), (401, "AuthenticationError"), (404, "NotFoundError")]
)
def test_no_retry_on_client_errors(srv, status, name):
    srv.fail_next([status, status])
    c = client({"respondent": stub_cfg(srv)})
    with pytest.raises(
        LLMError, match=rf"^LLM call failed \(role=respondent, model=openai/stub-model\): {name}"
    ):
        c.complete("respondent", "x")
    assert len(srv.requests) == 1
    assert c.usage()["respondent"].retries == 0


def test_timeout_is_retried_then_reported():
    with StubServer(reply="late", latency_s=0.6) as slow:
        c = client({"mutator": stub_cfg(slow, timeout_s=0.15)}, max_retries=1)
        with pytest.raises(LLMError, match=r"after 2 attempts .*Timeout"):  # the reply would come at 0.6 s
            c.complete("mutator", "x")
        assert c.usage()["mutator"].retries == 1


def test_mock_response_exception_instance_is_retried_until_exhausted():
    # litellm 1.106: an openai.APIError subclass given as mock_response is raised as-is on every call.
    exc = litellm.RateLimitError(message="mock 429", llm_provider="openai", model="gpt-4o-mini")
    c = client({"mutator": mock(exc)}, max_retries=3)
    with pytest.raises(
        LLMError, match=r"after 4 attempts \(role=mutator, model=openai/gpt-4o-mini\): RateLimitError"
    ):
        c.complete("mutator", "x")
    u = c.usage()["mutator"]
    assert (u.retries, u.errors, u.cost_usd) == (3, 1, 0.0)


def test_mock_response_auth_error_is_not_retried():
    exc = litellm.AuthenticationError(message="bad key", llm_provider="openai", model="gpt-4o-mini")
    c = client({"mutator": mock(exc)}, max_retries=3)
    with pytest.raises(
        LLMError, match=r"^LLM call failed \(role=mutator, model=openai/gpt-4o-mini\): AuthenticationError"
    ):
        c.complete("mutator", "x")
    assert c.usage()["mutator"].retries == 0


def test_mock_response_plain_exception_becomes_retried_500():
    # litellm wraps a non-API exception in MockException(status 500) -> InternalServerError.
    c = client({"mutator": mock(ValueError("boom"))}, max_retries=1)
    with pytest.raises(LLMError, match=r"after 2 attempts .*InternalServerError.*boom"):
        c.complete("mutator", "x")


def test_backoff_grows_and_is_capped():
    c = client({}, backoff_base_s=0.5)
    for k in range(5):
        d = c._backoff_s(k, RuntimeError())
        assert 0.5 * 0.5 * 2**k <= d <= 0.5 * 1.5 * 2**k
    assert c._backoff_s(20, RuntimeError()) == 60.0


# ----------------------------------------------------------------------- cache


def test_cache_hits_are_free_and_keyed_by_params(tmp_path, srv):
    cache = ResponseCache(tmp_path / "c.sqlite")
    c = client({"persona": stub_cfg(srv)}, cache=cache)
    first = c.complete("persona", "q", seed=1)
    comp = asyncio.run(c.acomplete("persona", [{"role": "user", "content": "q"}], seed=1))
    assert comp.text == first and comp.cached and comp.cost_usd == 0.0
    assert len(srv.requests) == 1
    c.complete("persona", "q", seed=2)  # other seed: miss
    c.complete("persona", "q", seed=1, temperature=0.5)  # other temperature: miss
    c.complete("persona", "q", seed=1, max_tokens=9)  # other max_tokens: miss
    assert len(srv.requests) == 4
    u = c.usage()["persona"]
    assert (u.calls, u.cached_calls) == (5, 1)
    # a fresh client (e.g. another process) reads the same file
    c2 = client({"persona": stub_cfg(srv)}, cache=ResponseCache(tmp_path / "c.sqlite"))
    assert asyncio.run(c2.acomplete("persona", [{"role": "user", "content": "q"}], seed=1)).cached
    assert len(srv.requests) == 4


def test_cache_hit_keeps_tokens_but_bills_nothing(tmp_path):
    c = client({"persona": mock("hello")}, cache=ResponseCache(tmp_path / "c.sqlite"))
    a = asyncio.run(c.acomplete("persona", USER))
    b = asyncio.run(c.acomplete("persona", USER))
    assert not a.cached and b.cached and b.text == "hello"
    assert (b.prompt_tokens, b.completion_tokens, b.cost_usd) == (10, 20, 0.0)
    u = c.usage()["persona"]
    assert (u.prompt_tokens, u.completion_tokens) == (10, 20)
    assert u.cost_usd == pytest.approx(a.cost_usd)
    recs = c.drain_records()
    assert [r.cached for r in recs] == [False, True] and recs[1].cost_usd == 0.0


def test_errors_are_not_cached(tmp_path, srv):
    srv.fail_next([400])
    c = client({"persona": stub_cfg(srv)}, cache=ResponseCache(tmp_path / "c.sqlite"))
    with pytest.raises(LLMError):
        c.complete("persona", "q")
    assert c.complete("persona", "q") == "re: q"
    assert len(c.cache) == 1


# ---------------------------------------------------------------------- budget


def test_budget_max_calls_exact_message():
    c = client({}, budget=Budget(max_calls=1000))
    msgs = [[{"role": "user", "content": str(i)}] for i in range(1000)]
    assert len(asyncio.run(c.acomplete_many("respondent", msgs))) == 1000
    with pytest.raises(BudgetExceeded) as ei:
        c.complete("respondent", "one more")
    assert str(ei.value) == "LLM budget exhausted: 1,000 calls reached (max_calls=1000)"


def test_budget_max_calls_with_many_and_cache(tmp_path):
    c = client({"persona": mock("x")}, budget=Budget(max_calls=5), cache=ResponseCache(tmp_path / "c.sqlite"))
    msgs = [[{"role": "user", "content": str(i)}] for i in range(8)]
    with pytest.raises(BudgetExceeded, match="5 calls reached"):
        asyncio.run(c.acomplete_many("persona", msgs))
    assert c.usage()["persona"].calls == 5 and len(c.cache) == 5


def test_cache_hits_still_answer_after_budget_is_spent(tmp_path):
    c = client({"persona": mock("x")}, budget=Budget(max_calls=2), cache=ResponseCache(tmp_path / "c.sqlite"))
    c.complete("persona", "a")
    c.complete("persona", "b")
    with pytest.raises(BudgetExceeded):
        c.complete("persona", "c")
    assert c.complete("persona", "a") == "x"  # free: from the cache
    u = c.usage()["persona"]
    assert (u.calls, u.cached_calls) == (3, 1)


def test_budget_max_tokens_and_cost():
    c = client({"persona": mock("x")}, budget=Budget(max_tokens=50))  # 30 tokens per mock call
    c.complete("persona", "a")
    c.complete("persona", "b")
    with pytest.raises(BudgetExceeded, match=r"60 tokens used \(max_tokens=50\)"):
        c.complete("persona", "c")
    one = asyncio.run(client({"persona": mock("x")}).acomplete("persona", USER)).cost_usd
    c = client({"persona": mock("x")}, budget=Budget(max_cost_usd=1.5 * one))
    c.complete("persona", "a")
    c.complete("persona", "b")
    with pytest.raises(BudgetExceeded, match=r"max_cost_usd="):
        c.complete("persona", "c")
    assert c.spent[0] == 2


def test_sim_tokens_count_against_budget():
    c = client({}, budget=Budget(max_tokens=20))
    c.complete("author", "x" * 80)  # 20 + 4 prompt tokens estimated
    with pytest.raises(BudgetExceeded, match="tokens used"):
        c.complete("author", "y")


# ----------------------------------------------------------------- concurrency


def test_concurrency_bound_on_stub_server():
    with StubServer(reply="ok", latency_s=0.15) as slow:
        c = client({"respondent": stub_cfg(slow)}, max_concurrency=3)
        t0 = time.perf_counter()
        out = c.complete_many("respondent", [f"q{i}" for i in range(12)])
        wall = time.perf_counter() - t0
    assert out == ["ok"] * 12
    assert slow.max_in_flight == 3 and c.max_in_flight == 3
    assert wall >= 4 * 0.15 * 0.9  # 12 calls in waves of 3


def test_concurrency_bound_with_mock_delay_and_order():
    c = client({"persona": mock("x", mock_delay=0.05)}, max_concurrency=4)
    msgs = [[{"role": "user", "content": str(i)}] for i in range(16)]
    out = asyncio.run(c.acomplete_many("persona", msgs))
    assert len(out) == 16 and c.max_in_flight == 4


def test_many_preserves_order_with_uneven_latency():
    def reply(msgs):
        i = int(msgs[-1]["content"])
        time.sleep(0.01 * (5 - i % 5))
        return f"a{i}"

    with StubServer(reply=reply) as s:
        c = client({"persona": stub_cfg(s)}, max_concurrency=8)
        assert c.complete_many("persona", [str(i) for i in range(10)]) == [f"a{i}" for i in range(10)]


def test_failure_in_many_raises_after_all_finish(srv):
    srv.fail_next([401])
    c = client({"persona": stub_cfg(srv)}, max_concurrency=1)
    with pytest.raises(LLMError, match="AuthenticationError"):
        c.complete_many("persona", ["a", "b", "c"])
    assert len(srv.requests) == 3
    assert c.usage()["persona"].calls == 3 and c.usage()["persona"].errors == 1


# ------------------------------------------------------------- sync from loops


def test_complete_inside_running_loop_and_from_worker_thread(srv):
    c = client({"persona": stub_cfg(srv)})

    async def main():
        inline = c.complete("persona", "inline")  # blocks this loop, still works
        threaded = await asyncio.to_thread(c.complete, "persona", "thread")
        awaited = (await c.acomplete("persona", [{"role": "user", "content": "await"}])).text
        return inline, threaded, awaited

    assert asyncio.run(main()) == ("re: inline", "re: thread", "re: await")
    # a second, unrelated event loop works too (litellm runs on the shared LLM loop)
    assert asyncio.run(main()) == ("re: inline", "re: thread", "re: await")


def test_complete_from_many_threads(srv):
    c = client({"persona": stub_cfg(srv)})
    results: dict[int, str] = {}

    def work(i):
        results[i] = c.complete("persona", str(i))

    ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert results == {i: f"re: {i}" for i in range(8)}


# -------------------------------------------------------------------------- sim


def test_sim_roles_use_backend_with_estimated_tokens(tmp_path):
    sim = EchoSim()
    assert isinstance(sim, SimBackend)
    c = client({"persona": "sim"}, sim_backend=sim, cache=ResponseCache(tmp_path / "c.sqlite"))
    comp = asyncio.run(c.acomplete("persona", [{"role": "user", "content": "abcdefgh"}], seed=7))
    assert comp.text == "sim[persona|7] abcdefgh"
    assert comp.model == "sim" and comp.cost_usd == 0.0 and not comp.cached
    assert comp.prompt_tokens == 2 + 4 and comp.completion_tokens == -(-len(comp.text) // 4)
    c.complete("persona", "abcdefgh", seed=7)
    assert sim.calls == 2 and len(c.cache) == 0  # never cached
    u = c.usage()["persona"]
    assert u.model == "sim" and u.calls == 2 and u.cached_calls == 0
    assert all(r.model == "sim" for r in c.drain_records())


def test_sim_failure_becomes_llm_error():
    class Broken:
        def respond(self, role, messages, *, seed=None):
            raise KeyError("nope")

    c = client({}, sim_backend=Broken())
    with pytest.raises(LLMError, match=r"^LLM call failed \(role=author, model=sim\): KeyError"):
        c.complete("author", "x")
    assert c.usage()["author"].errors == 1


def test_mixed_roles_and_drain_records(srv):
    c = client({"mutator": stub_cfg(srv), "persona": mock("m")})
    c.complete("mutator", "a")
    c.complete("persona", "b")
    c.complete("respondent", "c")
    recs = c.drain_records()
    assert [(r.role, r.model) for r in recs] == [
        ("mutator", "openai/stub-model"),
        ("persona", MINI),
        ("respondent", "sim"),
    ]
    assert all(r.latency_s >= 0 for r in recs)
    assert c.drain_records() == []
    assert c.usage()["mutator"].calls == 1  # usage is not drained


def test_build_client(tmp_path):
    c = build_client(
        {"persona": "sim"}, cache_path=tmp_path / "x.sqlite", budget=Budget(max_calls=3), max_concurrency=2
    )
    assert c.cache.enabled and c.budget.max_calls == 3 and c.max_concurrency == 2
    assert c.models["persona"].model == "sim"
    assert not build_client({}).cache.enabled


def test_default_sim_backend_is_imported_lazily(monkeypatch):
    import types

    made = []

    class FakeSimLLM:
        def __init__(self):
            made.append(self)

        def respond(self, role, messages, *, seed=None):
            return "fake-sim"

    monkeypatch.setitem(sys.modules, "generators.sim", types.SimpleNamespace(SimLLM=FakeSimLLM))
    c = LLMClient(models={})
    assert made == []  # nothing built until a sim call
    assert c.complete("persona", "x") == "fake-sim" and c.complete("author", "y") == "fake-sim"
    assert len(made) == 1

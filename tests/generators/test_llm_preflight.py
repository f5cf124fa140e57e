"""Pre-flight: one tiny call per distinct real model; a failure is one line naming role, model, cause."""

from __future__ import annotations

import time

import pytest
from stub_openai_server import StubServer

from generators.llm import ModelConfig
from generators.llm.preflight import PreflightError, preflight

CLOSED = "http://127.0.0.1:9/v1"  # discard port: nothing listens


def _fails(models, **kw) -> str:
    t0 = time.monotonic()
    with pytest.raises(PreflightError) as info:
        preflight(models, **kw)
    assert time.monotonic() - t0 < 10
    message = str(info.value)
    assert "\n" not in message and message.startswith("pre-flight failed: ")
    return message


def test_one_call_per_distinct_model_and_sim_needs_none():
    with StubServer(reply="ok") as srv:
        same = ModelConfig(model="openai/gpt-4o-mini", api_base=srv.base_url)
        records = preflight({"mutator": ModelConfig(), "persona": same, "respondent": same})
        assert len(srv.requests) == 1 and srv.requests[0].body["max_tokens"] == 1
    assert [r["role"] for r in records] == ["persona"] and records[0]["cost_usd"] > 0
    assert preflight({"persona": ModelConfig(), "respondent": ModelConfig()}) == []


@pytest.mark.parametrize("status, cause", [(401, "authentication refused"), (404, "unknown model")])
def test_provider_refusals_name_the_cause(status, cause):
    with StubServer(reply="ok", failures=[status]) as srv:
        message = _fails({"persona": ModelConfig(model="openai/my-model", api_base=srv.base_url)})
    assert "role persona, model openai/my-model: " + cause in message


@pytest.mark.parametrize("model", ["openai/my-model", "hosted_vllm/qwen2.5-7b"])
def test_a_server_that_refuses_the_connection_is_named_as_such(model):
    message = _fails({"respondent": ModelConfig(model=model, api_base=CLOSED)})
    assert message == (
        f"pre-flight failed: role respondent, model {model}: cannot connect at {CLOSED} "
        "(connection refused or unreachable)"
    )


def test_missing_env_and_timeout(monkeypatch):
    monkeypatch.delenv("NOPE_KEY", raising=False)
    message = _fails({"mutator": ModelConfig(model="openai/gpt-4o-mini", api_key_env="NOPE_KEY")})
    assert message == (
        "pre-flight failed: role mutator, model openai/gpt-4o-mini: environment variable NOPE_KEY is not set"
    )
    with StubServer(reply="ok", latency_s=4) as srv:
        message = _fails({"author": ModelConfig(model="openai/slow", api_base=srv.base_url)}, timeout_s=1)
    assert "role author, model openai/slow: no answer within 1 s" in message


def test_several_failures_in_one_line(monkeypatch):
    monkeypatch.delenv("NOPE_KEY", raising=False)
    message = _fails(
        {
            "mutator": ModelConfig(model="openai/a", api_key_env="NOPE_KEY"),
            "persona": ModelConfig(model="openai/b", api_base=CLOSED),
        }
    )
    assert "role mutator, model openai/a" in message and "role persona, model openai/b" in message

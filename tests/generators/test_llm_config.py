"""Config, token estimator, cache key and accounting of the LLM layer (no litellm needed)."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generators.llm import (
    ROLES,
    Budget,
    BudgetExceeded,
    CallRecord,
    LLMError,
    ModelConfig,
    cache_key,
    estimate_messages_tokens,
    estimate_tokens,
    resolve_models,
)
from generators.llm.accounting import Accountant


def test_roles_and_defaults():
    assert ROLES == ("mutator", "persona", "respondent", "author")
    cfg = ModelConfig()
    assert cfg.model == "sim" and cfg.is_sim and cfg.timeout_s == 60.0 and dict(cfg.extra) == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.model = "x"  # frozen


def test_resolve_models_strings_missing_and_unknown():
    got = resolve_models(
        {"mutator": "openai/gpt-4o-mini", "persona": ModelConfig(model="sim", temperature=0.7)}
    )
    assert got["mutator"] == ModelConfig(model="openai/gpt-4o-mini")
    assert got["persona"].temperature == 0.7
    assert got["respondent"].model == "sim" and got["author"].model == "sim"
    with pytest.raises(ValueError, match="unknown LLM role"):
        resolve_models({"judge": "sim"})
    with pytest.raises(TypeError):
        resolve_models({"mutator": 3})  # type: ignore[dict-item]


@pytest.mark.parametrize("kwargs", [{"model": ""}, {"timeout_s": 0}, {"max_tokens": 0}])
def test_model_config_validation(kwargs):
    with pytest.raises(ValueError):
        ModelConfig(**kwargs)


def test_budget_validation():
    with pytest.raises(ValueError):
        Budget(max_calls=-1)
    assert Budget().max_calls is None


def test_budget_exceeded_is_llm_error():
    assert issubclass(BudgetExceeded, LLMError) and issubclass(LLMError, RuntimeError)


@given(st.text(max_size=500))
def test_estimate_tokens_is_ceil_quarter(text):
    assert estimate_tokens(text) == math.ceil(len(text) / 4)


@given(st.text(max_size=200), st.text(max_size=200))
def test_estimate_tokens_subadditive(a, b):
    ab = estimate_tokens(a + b)
    assert max(estimate_tokens(a), estimate_tokens(b)) <= ab <= estimate_tokens(a) + estimate_tokens(b)


def test_estimate_messages_tokens():
    msgs = [{"role": "system", "content": "abcd"}, {"role": "user", "content": "abcde"}]
    assert estimate_messages_tokens(msgs) == (1 + 4) + (2 + 4)
    assert estimate_messages_tokens([]) == 0


_params = st.dictionaries(
    st.sampled_from(["temperature", "max_tokens", "api_base", "x"]),
    st.one_of(st.none(), st.integers(0, 5), st.floats(0, 2)),
)


@given(_params, st.one_of(st.none(), st.integers(0, 10)))
def test_cache_key_ignores_param_order_and_none(params, seed):
    msgs = [{"role": "user", "content": "hi"}]
    reordered = dict(reversed(list(params.items())))
    no_none = {k: v for k, v in params.items() if v is not None}
    k = cache_key("m", msgs, params, seed)
    assert k == cache_key("m", msgs, reordered, seed) == cache_key("m", msgs, no_none, seed)
    assert len(k) == 64


def test_cache_key_sensitive_to_each_part():
    msgs = [{"role": "user", "content": "hi"}]
    base = cache_key("m", msgs, {"temperature": 0.5}, 1)
    assert base != cache_key("m2", msgs, {"temperature": 0.5}, 1)
    assert base != cache_key("m", [{"role": "user", "content": "ho"}], {"temperature": 0.5}, 1)
    assert base != cache_key("m", msgs, {"temperature": 0.6}, 1)
    assert base != cache_key("m", msgs, {"temperature": 0.5, "max_tokens": 10}, 1)
    assert base != cache_key("m", msgs, {"temperature": 0.5}, 2)
    assert base != cache_key("m", msgs, {"temperature": 0.5}, None)
    # non-JSON values hash by repr rather than failing
    assert cache_key("m", msgs, {"extra.mock_response": ValueError("x")}, None)


_records = st.lists(
    st.builds(
        CallRecord,
        role=st.sampled_from(ROLES),
        model=st.just("m"),
        prompt_tokens=st.integers(0, 1000),
        completion_tokens=st.integers(0, 1000),
        cost_usd=st.floats(0, 1),
        latency_s=st.floats(0, 10),
        cached=st.booleans(),
        error=st.one_of(st.none(), st.just("boom")),
        cost_known=st.booleans(),
        retries=st.integers(0, 4),
    ),
    max_size=30,
)


@given(_records)
def test_accountant_totals_match_records(records):
    acct = Accountant()
    for r in records:
        acct.record(r)
    usage = acct.usage()
    for role in ROLES:
        mine = [r for r in records if r.role == role]
        billed = [r for r in mine if not r.cached]
        u = usage[role]
        assert u.calls == len(mine)
        assert u.cached_calls == sum(r.cached for r in mine)
        assert u.prompt_tokens == sum(r.prompt_tokens for r in billed)
        assert u.completion_tokens == sum(r.completion_tokens for r in billed)
        assert u.cost_usd == pytest.approx(sum(r.cost_usd for r in billed))
        assert u.errors == sum(r.error is not None for r in mine)
        assert u.retries == sum(r.retries for r in mine)
    assert acct.drain_records() == records
    assert acct.drain_records() == []


def test_accountant_budget_messages():
    acct = Accountant(budget=Budget(max_calls=2))
    acct.reserve()
    acct.reserve()
    with pytest.raises(BudgetExceeded, match=r"^LLM budget exhausted: 2 calls reached \(max_calls=2\)$"):
        acct.reserve()
    acct = Accountant(budget=Budget(max_tokens=10))
    acct.reserve()
    acct.record(CallRecord("persona", "m", 1500, 500, 0.0, 0.1, False))
    with pytest.raises(BudgetExceeded, match=r"2,000 tokens used \(max_tokens=10\)"):
        acct.reserve()
    acct = Accountant(budget=Budget(max_cost_usd=0.5))
    acct.reserve()
    acct.record(CallRecord("persona", "m", 1, 1, 0.75, 0.1, False))
    with pytest.raises(BudgetExceeded, match=r"\$0\.7500 spent \(max_cost_usd=0\.5\)"):
        acct.reserve()


def test_import_is_lazy_about_litellm():
    code = (
        "import sys, generators.llm; assert 'litellm' not in sys.modules, 'litellm imported eagerly'; "
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

"""Validation and loading of context JSON: every error kind, with the exact JSON path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.context import Context
from generators.context_loader import (
    SPLITS,
    ContextError,
    context_from_dict,
    load_context,
    load_dir,
    load_split,
    resolve_context,
    resolve_contexts,
    shipped_dir,
)

SRC = "ctx.json"


def valid() -> dict[str, Any]:
    return {
        "id": "tiny_ctx",
        "description": "A small test setting.",
        "scale": {"min": 1, "max": 5},
        "axes": [
            {
                "name": "trust",
                "description": "How much they trust the shop",
                "low": "suspicious",
                "high": "trusting",
                "items": [
                    {"text": "I trust them.", "reverse": False},
                    {"text": "They cheat.", "reverse": True},
                ],
            },
            {
                "name": "patience",
                "description": "How patient they are",
                "low": "impatient",
                "high": "patient",
                "items": [
                    {"text": "I can wait."},
                    {"text": "I want it now.", "reverse": True},
                    {"text": "Queues are fine."},
                ],
            },
            {
                "name": "thrift",
                "description": "How careful with money",
                "low": "spends freely",
                "high": "saves every penny",
                "items": [{"text": "I compare prices."}, {"text": "I buy on impulse.", "reverse": True}],
            },
        ],
    }


def problems_of(data: Any) -> list[str]:
    with pytest.raises(ContextError) as info:
        context_from_dict(data, source=SRC)
    return info.value.problems


def write(tmp_path: Path, name: str, content: bytes | str | dict) -> Path:
    path = tmp_path / name
    if isinstance(content, dict):
        content = json.dumps(content)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


# --- the valid case -------------------------------------------------------------------


def test_valid_dict_builds_context() -> None:
    ctx = context_from_dict(valid(), source=SRC, split="train")
    assert ctx.id == "tiny_ctx"
    assert (ctx.scale_min, ctx.scale_max) == (1, 5)
    assert ctx.k == 3 and ctx.axis_names == ("trust", "patience", "thrift")
    assert ctx.n_items == 7
    assert ctx.axes[1].items[0].reverse is False  # default
    assert ctx.axes[0].items[1].reverse is True
    assert ctx.split == "train" and ctx.source == SRC


def test_default_source_is_not_stored() -> None:
    assert context_from_dict(valid()).source is None


def test_context_error_is_value_error_and_joins_lines() -> None:
    err = ContextError(["a: $: x", "a: $.id: y"])
    assert isinstance(err, ValueError)
    assert str(err) == "a: $: x\na: $.id: y"
    assert ContextError("one").problems == ["one"]


# --- missing fields -------------------------------------------------------------------


@pytest.mark.parametrize("field", ["id", "description", "scale", "axes"])
def test_missing_top_level_field(field: str) -> None:
    data = valid()
    del data[field]
    assert f"{SRC}: $.{field}: missing field" in problems_of(data)


def test_missing_nested_fields_exact_paths() -> None:
    data = valid()
    del data["axes"][2]["items"][0]["text"]
    del data["axes"][1]["low"]
    del data["scale"]["max"]
    probs = problems_of(data)
    assert f"{SRC}: $.axes[2].items[0].text: missing field" in probs
    assert f"{SRC}: $.axes[1].low: missing field" in probs
    assert f"{SRC}: $.scale.max: missing field" in probs
    assert len(probs) == 3  # all problems collected, nothing else reported


@pytest.mark.parametrize("field", ["name", "description", "low", "high", "items"])
def test_missing_axis_field(field: str) -> None:
    data = valid()
    del data["axes"][0][field]
    assert problems_of(data) == [f"{SRC}: $.axes[0].{field}: missing field"]


def test_empty_strings_rejected() -> None:
    data = valid()
    data["description"] = "   "
    data["axes"][0]["high"] = ""
    data["axes"][1]["items"][2]["text"] = "\n"
    probs = problems_of(data)
    assert f"{SRC}: $.description: must be a non-empty string" in probs
    assert f"{SRC}: $.axes[0].high: must be a non-empty string" in probs
    assert f"{SRC}: $.axes[1].items[2].text: must be a non-empty string" in probs


# --- counts ---------------------------------------------------------------------------


def test_fewer_than_two_axes() -> None:
    data = valid()
    data["axes"] = data["axes"][:1]
    assert problems_of(data) == [f"{SRC}: $.axes: need 2-6 axes, got 1"]


def test_more_than_six_axes() -> None:
    data = valid()
    base = data["axes"][0]
    data["axes"] = [dict(copy.deepcopy(base), name=f"axis_{i}") for i in range(7)]
    assert problems_of(data) == [f"{SRC}: $.axes: need 2-6 axes, got 7"]


def test_axis_with_fewer_than_two_items() -> None:
    data = valid()
    data["axes"][1]["items"] = [{"text": "Only one."}]
    assert problems_of(data) == [f"{SRC}: $.axes[1].items: need 2-6 items, got 1"]


def test_axis_with_two_items_is_accepted() -> None:
    ctx = context_from_dict(valid())
    assert len(ctx.axes[0].items) == 2


def test_axis_with_seven_items_rejected() -> None:
    data = valid()
    data["axes"][0]["items"] = [{"text": f"Statement {i}."} for i in range(7)]
    assert problems_of(data) == [f"{SRC}: $.axes[0].items: need 2-6 items, got 7"]


# --- scale ----------------------------------------------------------------------------


@pytest.mark.parametrize(("lo", "hi"), [(5, 3), (4, 4)])
def test_scale_min_not_below_max(lo: int, hi: int) -> None:
    data = valid()
    data["scale"] = {"min": lo, "max": hi}
    assert problems_of(data) == [f"{SRC}: $.scale: min ({lo}) must be < max ({hi})"]


# --- duplicates -----------------------------------------------------------------------


def test_duplicate_axis_names_case_insensitive() -> None:
    data = valid()
    data["axes"][2]["name"] = "Trust"
    assert problems_of(data) == [
        f"{SRC}: $.axes[2].name: duplicate axis name 'Trust' (same as $.axes[0].name)"
    ]


def test_duplicate_item_text_in_axis() -> None:
    data = valid()
    data["axes"][1]["items"][2]["text"] = "i can  WAIT."
    assert problems_of(data) == [
        f"{SRC}: $.axes[1].items[2].text: duplicate item text (same as $.axes[1].items[0])"
    ]


def test_duplicate_json_key_in_file(tmp_path: Path) -> None:
    text = json.dumps(valid()).replace('"id": "tiny_ctx"', '"id": "tiny_ctx", "id": "other"', 1)
    path = write(tmp_path, "dup.json", text)
    with pytest.raises(ContextError) as info:
        load_context(path)
    assert info.value.problems == [f"{path}: $.id: key given more than once (the last value was used)"]


# --- unknown keys ---------------------------------------------------------------------


def test_unknown_key_with_suggestion() -> None:
    data = valid()
    data["axes"][0]["hgih"] = data["axes"][0].pop("high")
    probs = problems_of(data)
    assert f"{SRC}: $.axes[0].hgih: unknown field (did you mean 'high'?)" in probs
    assert f"{SRC}: $.axes[0].high: missing field" in probs


def test_unknown_keys_at_every_level() -> None:
    data = valid()
    data["descripton"] = "typo"
    data["scale"]["maximum"] = 5
    data["axes"][1]["items"][0]["reversed"] = True
    data["zzz"] = 1
    probs = problems_of(data)
    assert f"{SRC}: $.descripton: unknown field (did you mean 'description'?)" in probs
    assert f"{SRC}: $.scale.maximum: unknown field (did you mean 'max'?)" in probs
    assert f"{SRC}: $.axes[1].items[0].reversed: unknown field (did you mean 'reverse'?)" in probs
    assert f"{SRC}: $.zzz: unknown field" in probs
    assert len(probs) == 4


def test_unknown_key_that_is_not_an_identifier_is_quoted() -> None:
    data = valid()
    data["my key"] = 1
    assert problems_of(data) == [f'{SRC}: $["my key"]: unknown field']


# --- wrong types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.__setitem__("id", 7), "$.id: expected string, got integer"),
        (lambda d: d.__setitem__("description", ["a"]), "$.description: expected string, got array"),
        (lambda d: d.__setitem__("scale", [1, 5]), "$.scale: expected object, got array"),
        (lambda d: d["scale"].__setitem__("min", "1"), "$.scale.min: expected integer, got string"),
        (lambda d: d["scale"].__setitem__("max", 5.0), "$.scale.max: expected integer, got number"),
        (lambda d: d["scale"].__setitem__("min", True), "$.scale.min: expected integer, got boolean"),
        (lambda d: d.__setitem__("axes", {"a": 1}), "$.axes: expected array, got object"),
        (lambda d: d["axes"].__setitem__(1, "trust"), "$.axes[1]: expected object, got string"),
        (lambda d: d["axes"][0].__setitem__("name", None), "$.axes[0].name: expected string, got null"),
        (lambda d: d["axes"][0].__setitem__("items", "a, b"), "$.axes[0].items: expected array, got string"),
        (
            lambda d: d["axes"][0]["items"].__setitem__(0, "I trust them."),
            "$.axes[0].items[0]: expected object, got string",
        ),
        (
            lambda d: d["axes"][2]["items"][1].__setitem__("reverse", "yes"),
            "$.axes[2].items[1].reverse: expected boolean, got string",
        ),
        (
            lambda d: d["axes"][2]["items"][1].__setitem__("reverse", 1),
            "$.axes[2].items[1].reverse: expected boolean, got integer",
        ),
        (
            lambda d: d["axes"][2]["items"][1].__setitem__("text", 3),
            "$.axes[2].items[1].text: expected string, got integer",
        ),
    ],
)
def test_wrong_types(mutate: Any, expected: str) -> None:
    data = valid()
    mutate(data)
    assert problems_of(data) == [f"{SRC}: {expected}"]


def test_top_level_not_an_object() -> None:
    assert problems_of([1, 2]) == [f"{SRC}: $: expected object, got array"]


@pytest.mark.parametrize("bad", ["Airline", "has space", "ümlaut", "a.b"])
def test_bad_id_characters(bad: str) -> None:
    data = valid()
    data["id"] = bad
    assert problems_of(data) == [f"{SRC}: $.id: must use only a-z, 0-9, '_' and '-', got {bad!r}"]


def test_many_problems_are_all_collected() -> None:
    data = valid()
    data["id"] = ""
    data["scale"] = {"min": 9, "max": 2}
    data["axes"][0]["name"] = "patience"
    data["axes"][2]["items"] = []
    data["axes"][2]["lwo"] = "x"
    probs = problems_of(data)
    assert len(probs) == 5
    assert all(p.startswith(f"{SRC}: $") for p in probs)


# --- files ----------------------------------------------------------------------------


def test_load_context_file(tmp_path: Path) -> None:
    path = write(tmp_path, "tiny_ctx.json", valid())
    ctx = load_context(path, split="validation")
    assert ctx.source == str(path) and ctx.split == "validation"
    assert ctx.to_dict()["axes"][0]["items"][1] == {"text": "They cheat.", "reverse": True}


def test_load_context_accepts_utf8_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.json", b"\xef\xbb\xbf" + json.dumps(valid()).encode())
    assert load_context(path).id == "tiny_ctx"


def test_non_utf8_names_byte_offset(tmp_path: Path) -> None:
    raw = json.dumps(valid()).encode()
    offset = raw.index(b"small")
    raw = raw[:offset] + b"\xff" + raw[offset + 1 :]
    path = write(tmp_path, "latin.json", raw)
    with pytest.raises(ContextError) as info:
        load_context(path)
    (line,) = info.value.problems
    assert line.startswith(f"{path}: byte {offset}: not valid UTF-8")
    assert "ff" in line


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.json", '{\n  "id": "x",\n  "description" "missing colon"\n}\n')
    with pytest.raises(ContextError) as info:
        load_context(path)
    assert info.value.problems == [f"{path}: line 3:17: not valid JSON: Expecting ':' delimiter"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ContextError, match=r"nope\.json: cannot read"):
        load_context(path)


def test_file_problems_are_prefixed_with_the_path(tmp_path: Path) -> None:
    data = valid()
    del data["axes"][0]["items"][0]["text"]
    path = write(tmp_path, "c.json", data)
    with pytest.raises(ContextError) as info:
        load_context(path)
    assert info.value.problems == [f"{path}: $.axes[0].items[0].text: missing field"]


def test_load_dir_collects_problems_of_all_files(tmp_path: Path) -> None:
    write(tmp_path, "good.json", valid())
    write(tmp_path, "bad1.json", "not json")
    bad2 = valid()
    bad2["id"] = "other"
    bad2["scale"]["min"] = 9
    write(tmp_path, "bad2.json", bad2)
    with pytest.raises(ContextError) as info:
        load_dir(tmp_path)
    probs = info.value.problems
    assert len(probs) == 2
    assert any("bad1.json: line 1:1: not valid JSON" in p for p in probs)
    assert any("bad2.json: $.scale: min (9) must be < max (5)" in p for p in probs)


def test_load_dir_sorted_and_duplicate_ids(tmp_path: Path) -> None:
    b = valid()
    b["id"] = "b_ctx"
    a = valid()
    a["id"] = "a_ctx"
    write(tmp_path, "1.json", b)
    write(tmp_path, "2.json", a)
    assert [c.id for c in load_dir(tmp_path)] == ["a_ctx", "b_ctx"]
    write(tmp_path, "3.json", a)
    with pytest.raises(ContextError, match="duplicate context id 'a_ctx'"):
        load_dir(tmp_path)


def test_load_dir_empty(tmp_path: Path) -> None:
    with pytest.raises(ContextError, match=r"no \*\.json context files"):
        load_dir(tmp_path)


# --- shipped / resolve ----------------------------------------------------------------


def test_unknown_split() -> None:
    with pytest.raises(ContextError, match="unknown split 'dev'"):
        shipped_dir("dev")
    with pytest.raises(ContextError):
        load_split("dev")


def test_resolve_context_by_path_and_by_id(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.json", valid())
    assert resolve_context(str(path)).id == "tiny_ctx"
    ctx = resolve_context("airline_rebooking_desk")
    assert ctx.split == "train" and ctx.k >= 2


def test_resolve_context_unknown_id_suggests_close_ids() -> None:
    with pytest.raises(ContextError) as info:
        resolve_context("airline_rebooking")
    msg = str(info.value)
    assert "airline_rebooking: unknown context" in msg
    assert "did you mean: airline_rebooking_desk" in msg


def test_resolve_context_missing_path() -> None:
    with pytest.raises(ContextError, match=r"nowhere/x\.json: cannot read"):
        resolve_context("nowhere/x.json")


def test_resolve_contexts_mixes_splits_dirs_files_ids(tmp_path: Path) -> None:
    write(tmp_path, "mine.json", valid())
    got = resolve_contexts(["test", str(tmp_path), "airline_rebooking_desk", "test"])
    ids = [c.id for c in got]
    assert ids[: len(load_split("test"))] == [c.id for c in load_split("test")]
    assert ids[-2:] == ["tiny_ctx", "airline_rebooking_desk"]
    assert len(ids) == len(set(ids))  # the repeated split is kept once


def test_resolve_contexts_conflicting_ids(tmp_path: Path) -> None:
    data = valid()
    data["id"] = "airline_rebooking_desk"
    path = write(tmp_path, "clash.json", data)
    with pytest.raises(ContextError, match="already used by a different context"):
        resolve_contexts(["train", str(path)])


def test_resolve_contexts_collects_all_bad_refs() -> None:
    with pytest.raises(ContextError) as info:
        resolve_contexts(["no_such_ctx_1", "train", "no_such_ctx_2"])
    assert len(info.value.problems) == 2


def test_splits_constant() -> None:
    assert SPLITS == ("train", "validation", "test")


# --- round trip (property) ------------------------------------------------------------

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(
    lambda s: s.strip() != ""
)


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    k = draw(st.integers(2, 6))
    names = draw(
        st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), min_size=k, max_size=k, unique=True)
    )
    lo = draw(st.integers(-3, 3))
    hi = lo + draw(st.integers(1, 9))
    axes = []
    for name in names:
        texts = draw(st.lists(_text, min_size=2, max_size=6, unique_by=lambda s: " ".join(s.lower().split())))
        axes.append(
            {
                "name": name,
                "description": draw(_text),
                "low": draw(_text),
                "high": draw(_text),
                "items": [{"text": t, "reverse": draw(st.booleans())} for t in texts],
            }
        )
    return {
        "id": draw(st.from_regex(r"[a-z0-9_-]{1,20}", fullmatch=True)),
        "description": draw(_text),
        "scale": {"min": lo, "max": hi},
        "axes": axes,
    }


@settings(max_examples=60, deadline=None)
@given(contexts())
def test_round_trip_to_dict_from_dict(data: dict[str, Any]) -> None:
    ctx = context_from_dict(data)
    assert isinstance(ctx, Context)
    assert ctx.to_dict() == data
    again = context_from_dict(json.loads(json.dumps(ctx.to_dict())))
    assert again == ctx

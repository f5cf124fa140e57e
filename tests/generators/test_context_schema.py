"""The shipped JSON Schema of a context file: valid, the source of the limits, and in step
with the loader on every shipped context and on generated documents."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.context_loader import all_shipped, context_from_dict
from generators.context_schema import (
    AXES_MAX,
    AXES_MIN,
    ITEMS_MAX,
    ITEMS_MIN,
    SCHEMA_PATH,
    context_schema,
    json_path,
    schema_problems,
)


def test_the_schema_is_a_valid_draft_2020_12_schema_and_ships_as_package_data() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert SCHEMA_PATH.parent.name == "schemas" and SCHEMA_PATH.parent.parent.name == "generators"


def test_the_limits_are_read_from_the_schema() -> None:
    schema = context_schema()
    assert (AXES_MIN, AXES_MAX) == (
        schema["properties"]["axes"]["minItems"],
        schema["properties"]["axes"]["maxItems"],
    )
    items = schema["$defs"]["axis"]["properties"]["items"]
    assert (ITEMS_MIN, ITEMS_MAX) == (items["minItems"], items["maxItems"])


def test_every_shipped_context_fits_the_schema_as_written_by_to_dict() -> None:
    contexts = [ctx for split in all_shipped().values() for ctx in split]
    assert len(contexts) >= 3
    for ctx in contexts:
        assert schema_problems(ctx.to_dict(), source=ctx.id) == [], ctx.id


def test_json_path_quotes_keys_that_are_not_identifiers() -> None:
    assert json_path(["axes", 2, "items", 0, "text"]) == "$.axes[2].items[0].text"
    assert json_path(["my key"]) == '$["my key"]'
    assert json_path([]) == "$"


_SAMPLE: dict[str, Any] = {
    "id": "sample_ctx",
    "description": "A small sample.",
    "scale": {"min": 1, "max": 5},
    "axes": [
        {
            "name": f"axis_{i}",
            "description": "d",
            "low": "l",
            "high": "h",
            "items": [{"text": f"Statement {i}.{j}."} for j in range(2)],
        }
        for i in range(2)
    ],
}
_PATHS = [
    ["id"],
    ["description"],
    ["scale"],
    ["scale", "min"],
    ["axes"],
    ["axes", 0],
    ["axes", 1, "name"],
    ["axes", 0, "items"],
    ["axes", 1, "items", 0],
    ["axes", 0, "items", 1, "text"],
    ["axes", 1, "items", 0, "reverse"],
]
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 9),
    st.floats(allow_nan=False, width=16),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=3),
    st.just({}),
)


@settings(max_examples=150, deadline=None)
@given(path=st.sampled_from(_PATHS), value=_VALUES)
def test_the_loader_accepts_a_document_exactly_when_it_reports_no_problem(
    path: list[Any], value: Any
) -> None:
    """Any one field replaced by any JSON value: the loader builds a context, or raises
    naming the replaced field's path (or the part the rule checks) and nothing unrelated."""
    data = copy.deepcopy(_SAMPLE)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    problems = schema_problems(data, source="s")
    try:
        ctx = context_from_dict(data, source="s")
    except ValueError as exc:
        lines = exc.problems  # type: ignore[attr-defined]
        assert lines, "an error must list its problems"
        assert all(line.startswith("s: $") for line in lines)
        assert set(problems) <= set(lines)
        where = json_path(path)
        assert any(
            line.startswith(f"s: {where}") or line.startswith(f"s: {json_path(path[:-1])}") for line in lines
        )
    else:
        assert problems == []
        assert ctx.id == data["id"]

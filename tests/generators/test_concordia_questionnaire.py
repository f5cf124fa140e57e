"""Concordia questionnaires as contexts: conversion, `contexts import` of a directory with
broken files, imported items asked the Concordia way, and questionnaires accepted as --context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolve.cli import main
from generators.concordia.questionnaire import (
    NEUTRAL_POLES,
    looks_like_questionnaire,
    questionnaire_to_context,
)
from generators.context_loader import ContextError, context_from_dict, load_context, resolve_contexts
from generators.respondent import _named, item_layout

CHOICES = ["never", "rarely", "sometimes", "often", "always"]


def questionnaire(
    name: str = "Night Market Vendors",
    dims=("haggling zeal", "risk taking"),
    per_dim: int = 3,
    choices=CHOICES,
) -> dict:
    questions = []
    for d in dims:
        for j in range(per_dim):
            questions.append(
                {
                    "preprompt": "Think about {player_name}'s week.",
                    "statement": f"{{player_name}} shows {d} in situation {j}.",
                    "choices": list(choices),
                    "ascending_scale": j != 1,
                    "dimension": d,
                }
            )
    return {
        "name": name,
        "context": "Vendors at a crowded night market.",
        "dimensions": list(dims),
        "questions": questions,
    }


def test_conversion_scale_reverse_poles_and_origin() -> None:
    ctx = context_from_dict(questionnaire_to_context(questionnaire(choices=CHOICES[:4]), source="q.json"))
    assert ctx.id == "night_market_vendors"
    assert (ctx.scale_min, ctx.scale_max) == (1, 4)  # choices of any length -> the scale
    assert ctx.axis_names == ("haggling zeal", "risk taking")
    assert [it.reverse for it in ctx.axes[0].items] == [False, True, False]  # ascending_scale false
    assert ctx.axes[0].low == "low haggling zeal" and ctx.axes[0].high == "high haggling zeal"
    assert ctx.origin["poles"] == NEUTRAL_POLES and ctx.origin["format"] == "concordia-questionnaire"
    text = ctx.axes[0].items[0].text
    assert text.startswith("Think about {player_name}'s week. {player_name} shows haggling zeal")
    assert "1 = never; 2 = rarely; 3 = sometimes; 4 = often" in text
    assert "items" not in json.dumps(ctx.public_dict())  # programs still never see the items
    assert context_from_dict(ctx.to_dict()).origin == ctx.origin  # round trip keeps the origin


def test_too_many_items_are_cut_and_recorded() -> None:
    data = questionnaire_to_context(questionnaire(per_dim=8), source="q.json")
    assert all(len(a["items"]) == 6 for a in data["axes"])
    assert data["origin"]["dropped"] == {"haggling zeal": 2, "risk taking": 2}


@pytest.mark.parametrize(
    "mutate, path",
    [
        (lambda q: q.pop("dimensions"), "$.dimensions"),
        (lambda q: q["questions"][2].update(choices=["yes"]), "$.questions[2].choices"),
        (lambda q: q["questions"][4].update(choices=CHOICES[:3]), "$.questions[4].choices"),
        (lambda q: q["questions"][0].update(dimension="nope"), "$.questions[0].dimension"),
        (lambda q: q["questions"][1].update(ascending_scale="no"), "$.questions[1].ascending_scale"),
        (lambda q: q.update(dimensions=["only one"]), "$.dimensions"),
    ],
)
def test_bad_questionnaires_name_the_json_path(mutate, path) -> None:
    q = questionnaire()
    mutate(q)
    with pytest.raises(ContextError) as err:
        questionnaire_to_context(q, source="bad.json")
    assert any(line.startswith(f"bad.json: {path}") for line in err.value.problems), err.value.problems


def test_import_directory_with_broken_files(tmp_path: Path, capsys) -> None:
    src = tmp_path / "concordia_questionnaires"
    src.mkdir()
    (src / "market.json").write_text(json.dumps(questionnaire()))
    (src / "harbour.json").write_text(
        json.dumps(questionnaire("Harbour Pilots", ("caution", "pride", "thrift")))
    )
    (src / "broken_json.json").write_text("{not json")
    (src / "broken_shape.json").write_text(
        json.dumps({"name": "x", "dimensions": ["a", "b"], "questions": [{}]})
    )
    (src / "a_context.json").write_text(json.dumps({"id": "x", "axes": []}))
    out = tmp_path / "ctx"
    code = main(["contexts", "import", str(src), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["harbour_pilots.json", "night_market_vendors.json"]
    assert "broken_json.json: line 1:2: not valid JSON" in err
    assert "broken_shape.json: $.questions[0].statement: missing field" in err
    assert "a_context.json: $: not a Concordia questionnaire" in err
    assert [c.id for c in resolve_contexts([str(out)])] == ["harbour_pilots", "night_market_vendors"]
    assert main(["contexts", "validate", str(out)]) == 0
    capsys.readouterr()


def test_questionnaire_file_is_accepted_as_a_context(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps(questionnaire()))
    assert looks_like_questionnaire(json.loads(path.read_text()))
    ctx = load_context(path)
    assert ctx.id == "night_market_vendors" and ctx.k == 2


def test_respondent_puts_the_persona_name_in_the_placeholders() -> None:
    ctx = context_from_dict(questionnaire_to_context(questionnaire(), source="q.json"))
    texts, _, rev = item_layout(ctx)
    named = _named(texts, {"name": "Ilse Brandt", "description": "..."})
    assert "{player_name}" in texts[0] and "{player_name}" not in named[0]
    assert named[0].startswith("Think about Ilse Brandt's week. Ilse Brandt shows haggling zeal")
    assert rev.tolist() == [False, True, False] * 2


def test_generate_and_score_take_a_questionnaire(tmp_path: Path, capsys) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps(questionnaire()))
    out = tmp_path / "p.jsonl"
    assert (
        main(
            [
                "generate",
                "--generator",
                "seed:sobol",
                "--context",
                str(path),
                "-n",
                "6",
                "--model",
                "sim",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert len(out.read_text().splitlines()) == 6
    assert main(["score", "--personas", str(out), "--context", str(path), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert "coverage" in json.dumps(scores)


def test_the_documented_sample_questionnaire_imports_as_described(tmp_path, capsys):
    """docs/CONCORDIA.md's sample converts and validates: 3 axes, 2 items each, reverse-coded
    where ``ascending_scale`` is false, a 1-5 scale, neutral poles marked."""
    import json
    from pathlib import Path

    from evolve.cli import main
    from generators.context_loader import load_context

    sample = Path(__file__).resolve().parents[2] / "docs" / "examples" / "night_market_questionnaire.json"
    assert main(["contexts", "import", str(sample), "--out", str(tmp_path)]) == 0
    context = load_context(tmp_path / "night_market_vendors.json")
    assert context.k == 3 and context.n_items == 6 and (context.scale_min, context.scale_max) == (1, 5)
    questions = json.loads(sample.read_text())["questions"]
    reversed_items = [item.reverse for axis in context.axes for item in axis.items]
    assert reversed_items == [not q["ascending_scale"] for q in questions]
    assert main(["contexts", "validate", str(tmp_path / "night_market_vendors.json")]) == 0

"""The contexts shipped with the package: they load, and they meet the design's rules."""

from __future__ import annotations

import json
import re

import pytest

from generators.context import Context
from generators.context_loader import (
    SPLITS,
    all_shipped,
    context_from_dict,
    load_split,
    shipped_dir,
    shipped_ids,
)

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@pytest.fixture(scope="module")
def shipped() -> dict[str, list[Context]]:
    return all_shipped()


@pytest.fixture(scope="module")
def every(shipped: dict[str, list[Context]]) -> list[Context]:
    return [c for split in SPLITS for c in shipped[split]]


def test_split_counts(shipped: dict[str, list[Context]]) -> None:
    assert len(shipped["train"]) >= 30
    assert len(shipped["validation"]) >= 10
    assert len(shipped["test"]) >= 10


def test_ids_unique_across_splits(every: list[Context]) -> None:
    ids = [c.id for c in every]
    assert len(ids) == len(set(ids))
    assert len(shipped_ids()) == len(ids)


def test_file_name_is_id_and_split_is_set(shipped: dict[str, list[Context]]) -> None:
    for split, contexts in shipped.items():
        files = sorted(p.name for p in shipped_dir(split).glob("*.json"))
        assert files == sorted(f"{c.id}.json" for c in contexts)
        assert [c.id for c in contexts] == sorted(c.id for c in contexts)
        assert all(c.split == split for c in contexts)


def test_k_between_2_and_5_with_a_mix_in_every_split(shipped: dict[str, list[Context]]) -> None:
    for split, contexts in shipped.items():
        ks = [c.k for c in contexts]
        assert all(2 <= k <= 5 for k in ks), split
        assert ks.count(2) >= 2 and ks.count(3) >= 2, split  # several low-K contexts per split
    all_ks = {c.k for cs in shipped.values() for c in cs}
    assert all_ks == {2, 3, 4, 5}


def test_items_per_axis_3_to_6(every: list[Context]) -> None:
    for c in every:
        for axis in c.axes:
            assert 3 <= len(axis.items) <= 6, (c.id, axis.name)


def test_reverse_share_overall_and_per_axis(every: list[Context]) -> None:
    items = [it for c in every for a in c.axes for it in a.items]
    share = sum(it.reverse for it in items) / len(items)
    assert 0.2 <= share <= 0.45
    for c in every:
        for axis in c.axes:
            flags = [it.reverse for it in axis.items]
            assert any(flags) and not all(flags), (c.id, axis.name)  # both directions keyed


def test_scales(every: list[Context]) -> None:
    scales = [(c.scale_min, c.scale_max) for c in every]
    assert set(scales) <= {(1, 5), (1, 7)}
    assert scales.count((1, 5)) > len(scales) / 2
    assert (1, 7) in scales


def test_axis_and_text_hygiene(every: list[Context]) -> None:
    for c in every:
        assert len(c.description) >= 80, c.id
        assert len({a.name for a in c.axes}) == c.k
        texts = [it.text for a in c.axes for it in a.items]
        assert len(texts) == len(set(texts)), c.id
        for axis in c.axes:
            assert SNAKE.match(axis.name), (c.id, axis.name)
            assert axis.low.strip() and axis.high.strip() and axis.low != axis.high
            assert all(it.text.strip() == it.text for it in axis.items)


def test_round_trip_of_every_shipped_context(every: list[Context]) -> None:
    for c in every:
        again = context_from_dict(json.loads(json.dumps(c.to_dict())), split=c.split)
        assert again.to_dict() == c.to_dict()
        assert again.split == c.split


def test_public_dict_hides_items(every: list[Context]) -> None:
    for c in every:
        assert "items" not in json.dumps(c.public_dict())


def test_load_split_returns_fresh_lists() -> None:
    first = load_split("test")
    first.clear()
    assert len(load_split("test")) >= 10

"""The run's context sets: train, validation, test, the screening set and its smoke subset.

Candidates are scored on the *screening set* (``train``): a fixed subset of the train
contexts drawn once per run from the run seed, stratified by axis count, or every train
context (``all_train``). Everything on train -- the smoke stage, a candidate's fitness,
promotion races at fresh replicates -- uses the screening set, so every comparison is
paired and a race costs what an evaluation costs; an island's best is then checked on
the validation contexts, which the search never optimises on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generators.context import Context


def stratified_pick(groups: list[int], size: int, rng: np.random.Generator) -> list[int]:
    """``size`` distinct indices into ``groups`` (a group label per item), each group given
    its share of ``size`` by largest remainder (ties broken at random), items drawn at
    random within a group. Returns sorted indices; all of them when ``size >= len(groups)``."""
    if size >= len(groups):
        return list(range(len(groups)))
    labels = sorted(set(groups))
    members = {g: [i for i, x in enumerate(groups) if x == g] for g in labels}
    quota = {g: size * len(members[g]) / len(groups) for g in labels}
    take = {g: int(quota[g]) for g in labels}
    left = size - sum(take.values())
    order = sorted(labels, key=lambda g: (-(quota[g] - take[g]), float(rng.random())))
    for g in order[:left]:
        take[g] += 1
    picked = [int(i) for g in labels for i in rng.choice(members[g], size=take[g], replace=False)]
    return sorted(picked)


@dataclass(frozen=True)
class ContextSets:
    """Contexts per stage. ``train`` is the screening set candidates are scored on;
    ``all_train`` every train context given; ``smoke_ids`` the train contexts
    of the cascade's smoke stage. Both subsets are drawn once per run from the run seed
    (stable across resume)."""

    train: tuple[Context, ...]
    validation: tuple[Context, ...]
    test: tuple[Context, ...]
    smoke_ids: tuple[str, ...]
    all_train: tuple[Context, ...] = ()

    @classmethod
    def build(
        cls,
        train: list[Context],
        validation: list[Context],
        test: list[Context],
        *,
        smoke: int,
        seed: int,
        screen: int = 0,
    ) -> "ContextSets":
        """``screen``: train contexts per candidate (0 = all); ``smoke``: of those, how
        many the smoke stage uses. Raises ValueError for duplicate ids or no train context."""
        ids = [c.id for c in train]
        all_ids = ids + [c.id for c in validation] + [c.id for c in test]
        dupes = sorted({i for i in all_ids if all_ids.count(i) > 1})
        if dupes:
            raise ValueError(f"context ids used in more than one stage or twice: {', '.join(dupes)}")
        if not train:
            raise ValueError("no train contexts")
        screened = list(train)
        if screen and screen < len(train):
            picks = stratified_pick([len(c.axes) for c in train], screen, np.random.default_rng([seed, 11]))
            screened = [train[i] for i in picks]
        rng = np.random.default_rng([seed, 7])
        screened_ids = [c.id for c in screened]
        picked: np.ndarray | list[int] = (
            rng.choice(len(screened_ids), size=min(smoke, len(screened_ids)), replace=False) if smoke else []
        )
        smoke_ids = tuple(screened_ids[i] for i in sorted(int(p) for p in picked))
        return cls(tuple(screened), tuple(validation), tuple(test), smoke_ids, tuple(train))

    @property
    def train_ids(self) -> tuple[str, ...]:
        """The screening set's ids: what every candidate's train fitness is a mean over."""
        return tuple(c.id for c in self.train)

    @property
    def all_train_ids(self) -> tuple[str, ...]:
        """Every train context's id; the screening set's when ``all_train`` was not given."""
        return tuple(c.id for c in (self.all_train or self.train))

    @property
    def screened(self) -> bool:
        """True when candidates are scored on a subset of the train contexts."""
        return len(self.all_train_ids) > len(self.train)

    @property
    def validation_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.validation)

    @property
    def test_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.test)

    def by_id(self) -> dict[str, Context]:
        return {c.id: c for c in self.all_train + self.train + self.validation + self.test}

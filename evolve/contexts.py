"""The run's context sets: train, validation, test, and the smoke subset of train."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generators.context import Context


@dataclass(frozen=True)
class ContextSets:
    """Contexts per stage. ``smoke_ids`` are the train contexts of the cascade's smoke
    stage, drawn once per run from the run seed (stable across resume)."""

    train: tuple[Context, ...]
    validation: tuple[Context, ...]
    test: tuple[Context, ...]
    smoke_ids: tuple[str, ...]

    @classmethod
    def build(
        cls,
        train: list[Context],
        validation: list[Context],
        test: list[Context],
        *,
        smoke: int,
        seed: int,
    ) -> "ContextSets":
        ids = [c.id for c in train]
        all_ids = ids + [c.id for c in validation] + [c.id for c in test]
        dupes = sorted({i for i in all_ids if all_ids.count(i) > 1})
        if dupes:
            raise ValueError(f"context ids used in more than one stage or twice: {', '.join(dupes)}")
        if not train:
            raise ValueError("no train contexts")
        rng = np.random.default_rng([seed, 7])
        picked = rng.choice(len(ids), size=min(smoke, len(ids)), replace=False) if smoke else []
        smoke_ids = tuple(ids[i] for i in sorted(int(p) for p in picked))
        return cls(tuple(train), tuple(validation), tuple(test), smoke_ids)

    @property
    def train_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.train)

    @property
    def validation_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.validation)

    @property
    def test_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.test)

    def by_id(self) -> dict[str, Context]:
        return {c.id: c for c in self.train + self.validation + self.test}

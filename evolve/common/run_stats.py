"""The counters of one evolution session, shown live (:mod:`evolve.outputs.progress`) and in the
run's final summary (:mod:`evolve.loop.run`); kept by the controller and its promoter."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunStats:
    """Counters shown live and in the final summary."""

    proposed: int = 0
    evaluated: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)
    partial_diffs: int = 0  # proposals evaluated although some of their blocks did not apply
    best_by_island: dict[int, float] = field(default_factory=dict)
    history: list[tuple[int, float]] = field(default_factory=list)  # (evaluation index, best fitness)
    failures: int = 0  # evaluations or mutator calls that failed, exceptions of the loop
    races: dict[str, int] = field(default_factory=dict)  # "<scope>.<decision>" -> count
    race_evaluations: int = 0  # replicate evaluations run by promotion races
    races_skipped: int = 0  # races not run: the candidate was out of reach (search.reach)

    def count(self, table: dict[str, int], key: str) -> None:
        """Add 1 to ``table[key]`` (0 when absent)."""
        table[key] = table.get(key, 0) + 1

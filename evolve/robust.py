"""Robust selection: the champion whose *worst* simulated world is best.

A champion chosen in one world can owe its lead to that world's quirks (the wording it
reads, its respondent's biases). With ``[world] validate = [...]`` the run's final stage
re-validates a few candidates -- the champion, the best programs on validation, the seed
programs -- on the validation contexts in every listed world (the run's own world
included; its stored validation evaluations are reused), on the same replicate seeds, and
crowns the candidate with the largest worst-world gain, where a program's gain in a world
is its mean validation fitness minus the best seed program's in that world (levels differ
between worlds; gains over the seeds compare). Ties keep the incumbent.

:func:`choose_robust` is the pure rule; :func:`robust_select` runs it against a
:class:`RobustSource` (the controller) and records everything in the archive: one
``robust_validated`` event per candidate and world (its per-context fitness), one
``robust_selection`` event with the table and the choice, and, when the choice differs
from the incumbent, a ``champion`` event (measured like the first champion, with
``basis: robust`` and the worlds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

MAX_CANDIDATES = 8
"""Programs re-validated besides the seeds: the champion and the best on validation."""


@dataclass(frozen=True)
class RobustChoice:
    """The outcome of a robust selection.

    ``worlds``: the worlds compared (the run's own first). ``fitness[pid][world]``: mean
    validation fitness; ``gain[pid][world]``: that minus the best seed's in the world;
    ``worst[pid]``: the minimum gain over worlds (the robust score). ``chosen``: the
    program crowned; ``incumbent``: the champion before; ``seeds``: the seed program ids.
    """

    worlds: tuple[str, ...]
    fitness: Mapping[str, Mapping[str, float]]
    gain: Mapping[str, Mapping[str, float]]
    worst: Mapping[str, float]
    chosen: str
    incumbent: str | None
    seeds: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON form (stored in the ``robust_selection`` event)."""
        return {"worlds": list(self.worlds), "chosen": self.chosen, "incumbent": self.incumbent,
                "seeds": list(self.seeds), "worst": dict(self.worst),
                "fitness": {p: dict(v) for p, v in self.fitness.items()},
                "gain": {p: dict(v) for p, v in self.gain.items()}}


def choose_robust(fitness: Mapping[str, Mapping[str, float]], *, worlds: Sequence[str], seeds: Sequence[str],
                  incumbent: str | None) -> RobustChoice:
    """The candidate (any key of ``fitness``, seeds included) with the largest worst-world
    gain over the best seed; ``fitness[pid][world]`` must cover every world. Ties go to the
    incumbent, then to the earlier key. Raises ValueError when no seed or no world is given
    or a value is missing or not finite."""
    if not worlds or not seeds:
        raise ValueError("robust selection needs at least one world and one seed program")
    for pid, row in fitness.items():
        for world in worlds:
            value = row.get(world)
            if value is None or not math.isfinite(value):
                raise ValueError(f"robust selection: no finite fitness for {pid} in world {world!r}")
    best_seed = {w: max(fitness[s][w] for s in seeds) for w in worlds}
    gain = {pid: {w: row[w] - best_seed[w] for w in worlds} for pid, row in fitness.items()}
    worst = {pid: min(g.values()) for pid, g in gain.items()}
    order = ([incumbent] if incumbent in fitness else []) + [p for p in fitness if p != incumbent]
    chosen = max(order, key=lambda p: worst[p])  # max keeps the first of equals: the incumbent
    return RobustChoice(worlds=tuple(worlds), fitness={p: dict(r) for p, r in fitness.items()}, gain=gain,
                        worst=worst, chosen=chosen, incumbent=incumbent, seeds=tuple(seeds))


class RobustSource(Protocol):
    """What :func:`robust_select` needs from the run (the controller implements it)."""

    def champion_id(self) -> str | None: ...

    def validation_leaders(self, k: int) -> list[str]: ...

    def stored_validation(self, pid: str) -> dict[str, float]: ...

    async def validate_in_world(self, pid: str, world: str) -> dict[str, float]: ...

    def record_event(self, kind: str, *, program_id: str | None, detail: Mapping[str, Any]) -> None: ...

    async def crown(self, pid: str, basis: Mapping[str, Any]) -> None: ...


async def robust_select(source: RobustSource, *, own_world: str, other_worlds: Sequence[str],
                        seed_ids: Sequence[str]) -> RobustChoice | None:
    """Re-validate the candidates in every world, record the table and crown the robust
    choice (see the module docstring). None when nothing can be compared (no seed program
    or no candidate has a validation evaluation)."""
    import asyncio

    incumbent = source.champion_id()
    candidates = list(dict.fromkeys(
        ([incumbent] if incumbent else []) + source.validation_leaders(MAX_CANDIDATES) + list(seed_ids)))
    own = {pid: source.stored_validation(pid) for pid in candidates}
    candidates = [pid for pid in candidates if own[pid]]
    seeds = [pid for pid in seed_ids if pid in candidates]
    if not seeds or not candidates:
        return None
    worlds = [own_world] + [w for w in dict.fromkeys(other_worlds) if w != own_world]
    jobs = [(pid, world) for pid in candidates for world in worlds[1:]]
    tables = await asyncio.gather(*(source.validate_in_world(pid, world) for pid, world in jobs))
    per_context = {(pid, own_world): own[pid] for pid in candidates}
    per_context.update(dict(zip(jobs, tables)))
    for (pid, world), table in per_context.items():
        if world != own_world:
            source.record_event("robust_validated", program_id=pid, detail={"world": world, "fitness": table})
    fitness = {pid: {w: (sum(per_context[(pid, w)].values()) / len(per_context[(pid, w)])
                         if per_context[(pid, w)] else 0.0) for w in worlds} for pid in candidates}
    choice = choose_robust(fitness, worlds=worlds, seeds=seeds, incumbent=incumbent)
    source.record_event("robust_selection", program_id=choice.chosen, detail=choice.as_dict())
    if choice.chosen != incumbent:
        await source.crown(choice.chosen, {"basis": "robust", "worlds": list(worlds),
                                           "worst_world_gain": choice.worst[choice.chosen], "replaces": incumbent})
    return choice

"""Labels a run carries for how its scores were made: simulated world, weak sandbox."""

from __future__ import annotations

from typing import Iterable, Mapping

from .events import EventView

SCORING_ROLES: tuple[str, ...] = ("persona", "respondent")
"""Roles whose output the scores rest on."""


def simulated_roles(models: Mapping[str, str]) -> list[str]:
    """The scoring roles (:data:`SCORING_ROLES`, in that order) whose model in ``models``
    (role -> model string) is ``sim``, the simulated world."""
    return [role for role in SCORING_ROLES if models.get(role) == "sim"]


def simulation_recorded(events: Iterable[EventView]) -> bool:
    """True when any of ``events`` (``run_started``/``run_resumed``) records a scoring role
    among its ``simulated_roles``."""
    for event in events:
        roles = event.detail.get("simulated_roles")
        if roles is not None and any(r in SCORING_ROLES for r in roles):
            return True
    return False


def missing_layers(events: Iterable[EventView]) -> list[str]:
    """The kernel isolation layers named ``missing`` by ``sandbox_weak`` ``events``, each
    once, in first-seen order ([] when none)."""
    missing: list[str] = []
    for event in events:
        for layer in event.detail.get("missing") or []:
            if str(layer) not in missing:
                missing.append(str(layer))
    return missing

"""Live progress of a run (rich), quiet when not on a terminal.

Shows evaluations and their rate, best fitness per island, archive fill, rejections
by reason, tokens and cost per role, and time left on the budget. On a sim run the
header says the results come from the simulated world.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

SIM_BANNER = "SIMULATED WORLD (model 'sim'): a labelled test bed, not a real LLM"


class Progress:
    """Renders a :class:`evolve.controller.Controller`'s state; refreshes at most 4×/s."""

    def __init__(self, *, simulated: bool, enabled: bool | None = None, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = self.console.is_terminal if enabled is None else enabled
        self.simulated = simulated
        self._live: Live | None = None
        self._t0 = time.monotonic()
        self._last = 0.0

    def __enter__(self) -> "Progress":
        if self.enabled:
            self._live = Live(Text("starting…"), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def note(self, message: str) -> None:
        """A line above the live display (or on stderr when not a terminal)."""
        self.console.print(message, highlight=False)

    def update(self, controller: Any) -> None:
        if self._live is None:
            return
        now = time.monotonic()
        if now - self._last < 0.25:
            return
        self._last = now
        self._live.update(self.render(controller))

    def render(self, controller: Any) -> Group:
        stats = controller.stats
        archive = controller.archive
        elapsed = max(1e-9, time.monotonic() - self._t0)
        head = Text()
        if self.simulated:
            head.append(SIM_BANNER + "\n", style="bold yellow")
        head.append(
            f"evaluations {stats.evaluated} ({60 * stats.evaluated / elapsed:.1f}/min)   "
            f"proposed {stats.proposed}   in flight {controller.evaluator.in_flight}   "
            f"{controller.budget.remaining_text()}"
        )
        islands = Table(title="islands", expand=False)
        for col in ("island", "best fitness", "cells filled", "QD score"):
            islands.add_column(col)
        for i in range(controller.config.islands.count):
            qd = archive.qd_stats(i)
            best = stats.best_by_island.get(i)
            islands.add_row(str(i), "-" if best is None else f"{best:.4f}",
                            f"{qd.get('filled', 0)}/{qd.get('cells_total', 0)}", f"{qd.get('qd_score', 0.0):.2f}")
        outcome = Table(title="outcomes", expand=False)
        outcome.add_column("kind")
        outcome.add_column("count", justify="right")
        for key, value in sorted(stats.statuses.items()):
            outcome.add_row(key, str(value))
        for key, value in sorted(stats.rejections.items()):
            outcome.add_row(f"rejected: {key}", str(value))
        if stats.partial_diffs:
            outcome.add_row("partly applied edits", str(stats.partial_diffs))
        spend = Table(title="LLM spend", expand=False)
        for col in ("role", "calls", "tokens", "cost $"):
            spend.add_column(col)
        for role, row in archive.spend_by_role().items():
            spend.add_row(role, str(row.get("calls", 0)),
                          str(row.get("prompt_tokens", 0) + row.get("completion_tokens", 0)),
                          f"{row.get('cost_usd', 0.0):.4f}")
        grid = Table.grid(padding=(0, 2))
        grid.add_row(islands, outcome, spend)
        return Group(head, grid)

"""Progress of a run that anyone can follow.

On a terminal: a live panel (rich) that fits 80 columns: elapsed time, a progress bar
toward the binding budget cap with an ETA, evaluations and their rate, best fitness per
island, archive fill, outcomes and rejections by reason, calls, tokens and cost per role.
Without a terminal (nohup, a cluster log, a pipe): one plain line every ``log_every_s``
seconds (30 by default) with evaluations / budget, best fitness, rate, spend and ETA. A
run with simulated roles says which ones, in the panel and on every log line.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from evolve.outputs.labels import SIM_BANNER, SIM_TAG
from evolve.outputs.safe_text import visible

PANEL_WIDTH = 80
BAR_WIDTH = 24


def clock(seconds: float) -> str:
    """``1h02m``, ``3m05s`` or ``42s`` for a duration in seconds (``-`` if unknown)."""
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        return "-"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """A text progress bar of ``width`` cells for ``share`` in [0, 1]."""
    share = min(1.0, max(0.0, share))
    filled = int(round(share * width))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _compact(n: float) -> str:
    """12, 3.4k, 1.2M: a count in at most 5 characters."""
    n = float(n)
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.0f}"


class Progress:
    """Renders a :class:`evolve.loop.controller.Controller`'s state.

    ``enabled``: the live panel (default: when stderr is a terminal). ``log_every_s``:
    interval of the plain log lines written when the panel is off (None: never).
    ``label``: the line saying which roles are simulated ("" for a fully real run).
    ``respondent_in_process``: the respondent is the sim, which makes no calls (the spend
    line says so instead of showing no respondent at all).
    """

    def __init__(
        self,
        *,
        simulated: bool,
        enabled: bool | None = None,
        console: Console | None = None,
        label: str | None = None,
        log_every_s: float | None = 30.0,
        respondent_in_process: bool = False,
    ) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = self.console.is_terminal if enabled is None else enabled
        self.simulated = simulated
        self.respondent_in_process = respondent_in_process
        self.label = label if label is not None else (SIM_BANNER if simulated else "")
        self.log_every_s = log_every_s
        self._live: Live | None = None
        self._t0 = time.monotonic()
        self._last = 0.0
        self._last_log = time.monotonic()
        self._controller: Any = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.lines_logged = 0

    def __enter__(self) -> "Progress":
        self._t0 = time.monotonic()
        self._last_log = self._t0
        if self.enabled:
            self._live = Live(Text("starting…"), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        elif self.log_every_s:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick, name="progress-log", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join(timeout=2)
            self._ticker = None
            if self._controller is not None:
                self._log_line()

    def note(self, message: str, *, style: str | None = None) -> None:
        """A line above the live display (or on stderr when not a terminal, one line however
        long, as the log lines), in a rich ``style`` (e.g. ``"bold yellow"``); the message is
        text, never markup."""
        self.console.print(
            Text(visible(message), style=style or ""), highlight=False, soft_wrap=not self.console.is_terminal
        )

    def update(self, controller: Any) -> None:
        self._controller = controller
        if self._live is None:
            return
        now = time.monotonic()
        if now - self._last < 0.25:
            return
        self._last = now
        self._live.update(self.render(controller))

    # ------------------------------------------------------------- plain log lines
    def _tick(self) -> None:
        assert self.log_every_s
        while not self._stop.wait(min(1.0, self.log_every_s)):
            if self._controller is not None and time.monotonic() - self._last_log >= self.log_every_s:
                self._log_line()

    def _log_line(self) -> None:
        self._last_log = time.monotonic()
        try:
            line = self.log_line(self._controller)
        except Exception:  # noqa: BLE001 - a progress line must never end a run
            return
        self.console.print(visible(line), highlight=False, markup=False, soft_wrap=True)
        self.lines_logged += 1

    def _state(self, controller: Any) -> dict[str, Any]:
        stats, budget = controller.stats, controller.budget
        elapsed = max(1e-9, time.monotonic() - self._t0)
        name, share = budget.binding() if hasattr(budget, "binding") else ("", 0.0)
        eta = elapsed * (1.0 - share) / share if share > 0 else float("nan")
        best = max(stats.best_by_island.values(), default=None)
        cap = budget.caps.get("evaluations")
        return {
            "elapsed": elapsed,
            "binding": name,
            "share": share,
            "eta": eta,
            "best": best,
            "rate": 60.0 * stats.evaluated / elapsed,
            "evals": stats.evaluated,
            "evals_of": f"{budget.spent.evaluations}/{cap}" if cap else f"{budget.spent.evaluations}",
            "calls": budget.spent.llm_calls,
            "dollars": budget.spent.dollars,
        }

    def log_line(self, controller: Any) -> str:
        """The plain progress line (no terminal): evaluations / budget, best fitness, rate,
        spend, share of the binding cap and ETA."""
        st = self._state(controller)
        best = "-" if st["best"] is None else f"{st['best']:.4f}"
        sim = SIM_TAG if self.simulated else ""
        return (
            f"{time.strftime('%H:%M:%S')} progress{sim}: elapsed {clock(st['elapsed'])}, "
            f"evaluations {st['evals_of']}, best {best}, {st['rate']:.1f} evals/min, "
            f"spend {st['calls']} calls ${st['dollars']:.4f}, "
            f"{st['binding'] or 'budget'} {100 * st['share']:.0f}%, ETA {clock(st['eta'])}"
        )

    # ------------------------------------------------------------------ live panel
    def render(self, controller: Any) -> Group:
        """The live panel: plain text lines, none longer than :data:`PANEL_WIDTH`."""
        stats = controller.stats
        archive = controller.archive
        st = self._state(controller)
        parts: list[Text] = []
        if self.label:
            parts.append(Text(self.label, style="bold yellow"))
        parts.append(
            Text(
                f"elapsed {clock(st['elapsed'])}  evals {stats.evaluated} ({st['rate']:.1f}/min)  "
                f"proposed {stats.proposed}  in flight {controller.evaluator.in_flight}"
            )
        )
        binding = st["binding"] or "budget"
        parts.append(
            Text(f"{bar(st['share'])} {100 * st['share']:3.0f}% of {binding[:11]}  ETA {clock(st['eta'])}")
        )
        parts.append(Text(controller.budget.remaining_text()[:PANEL_WIDTH]))
        rows = ["island  best fitness  cells        QD score"]
        for i in range(controller.config.islands.count):
            qd = archive.qd_stats(i)
            best = stats.best_by_island.get(i)
            rows.append(
                f"{i:<6}  {'-' if best is None else f'{best:.4f}':>12}  "
                f"{str(qd.get('filled', 0)) + '/' + str(qd.get('cells_total', 0)):<11}  "
                f"{qd.get('qd_score', 0.0):>8.2f}"
            )
        parts.append(Text("\n".join(rows)))
        outcomes = [f"{k} {v}" for k, v in sorted(stats.statuses.items())]
        outcomes += [f"rejected {k} {v}" for k, v in sorted(stats.rejections.items())]
        if stats.partial_diffs:
            outcomes.append(f"partly applied {stats.partial_diffs}")
        parts.append(Text(_wrap("outcomes: " + (", ".join(outcomes) or "-"))))
        parts.append(self.spend_line(archive))
        return Group(*parts)

    def spend_line(self, archive: Any) -> Text:
        """Calls, tokens and dollars per role; a sim respondent, which makes no calls, is
        named as answering in process rather than left out."""
        spend = []
        for role, row in archive.spend_by_role().items():
            tokens = row.get("prompt_tokens", 0) + row.get("completion_tokens", 0)
            spend.append(
                f"{role} {_compact(row.get('calls', 0))} calls {_compact(tokens)} tok "
                f"${row.get('cost_usd', 0.0):.4f}"
            )
        if self.respondent_in_process:
            spend.append("respondent: the sim answers in process (no calls)")
        return Text(_wrap("spend: " + ("; ".join(spend) or "-")))


def _wrap(text: str, width: int = PANEL_WIDTH) -> str:
    """Break ``text`` at ", " / "; " so no line is longer than ``width``."""
    lines, line = [], ""
    for piece in text.replace("; ", ";\x00").replace(", ", ",\x00").split("\x00"):
        if line and len(line) + 1 + len(piece) > width:
            lines.append(line)
            line = "  " + piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    return "\n".join(ln[:width] for ln in lines)

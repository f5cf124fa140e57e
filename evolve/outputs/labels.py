"""The SIMULATED and WEAK SANDBOX labels, defined once (issue 20).

A run on the simulated world (model ``sim``) says so in every output, and a run whose
programs ran without some kernel isolation layer (``--weak-sandbox``) says that too. Each
output has its own wording (a terminal line, a Markdown note, a figure title's tag), so
each is named here and the outputs import it: the live panel and the run's notes
(:mod:`evolve.outputs.progress`, :mod:`evolve.loop.run`), the run's summary
(:mod:`evolve.cli.cmd_run`), the inspect commands (:mod:`evolve.outputs.inspect`), the
report (:mod:`evolve.outputs.report.writer`) and the CLI's stderr note
(:mod:`evolve.cli.common`). Two places keep their own text on purpose: the exported file's
header (:mod:`evolve.outputs.export`, a comment block written into the file) and the
exported runner (:mod:`evolve.outputs.export_runner`, which imports nothing of
persona-evolve).
"""

from __future__ import annotations

from typing import Sequence

from evolve.config import RunConfig

RUN_ROLES: tuple[str, ...] = ("mutator", "persona", "respondent")
"""The roles a run calls (``author`` only drafts contexts, never during a run)."""


def simulated_roles(config: RunConfig) -> list[str]:
    """The roles the run actually uses that run on the simulated world (``sim``)."""
    return [role for role in RUN_ROLES if getattr(config.models, role).model == "sim"]


def simulation_label(roles: list[str], world: str = "default") -> str:
    """One line saying which parts of a run are simulated ("" when none is), naming the
    simulated world when it is not the default."""
    if not roles:
        return ""
    where = "" if world == "default" else f", world '{world}'"
    if len(roles) == len(RUN_ROLES):
        # under 80 columns with the default world (the live panel's banner must not wrap)
        return f"SIMULATED WORLD (model 'sim'{where}), every role: a test bed, not a real LLM"
    parts = []
    if "mutator" in roles:
        parts.append("mutator = offline operator (no LLM)")
    scoring = [r for r in roles if r != "mutator"]
    if scoring:
        parts.append(
            f"{' and '.join(scoring)} = SIMULATED (model 'sim'{where}): scores are not a real model's"
        )
    real = [r for r in RUN_ROLES if r not in roles]
    return f"SIMULATED roles: {'; '.join(parts)}; real model for {', '.join(real)}"


SIM_BANNER = "SIMULATED WORLD (model 'sim'): a labelled test bed, not a real LLM"
"""The live panel's banner (:mod:`evolve.outputs.progress`)."""

SIM_TAG = " [SIMULATED]"
"""Appended to a figure's title and to the live panel's status line."""

SIM_LINE = "SIMULATED WORLD (model 'sim'): scores from the test bed, not a real LLM."
"""The first line of every inspect command's text output for a sim run."""

SIM_TOKENS_LINE = (
    "tokens per persona are counted by the sim client: SIMULATED, like every other "
    "figure of this run, not what a real model would spend"
)
"""Under the cost/diversity front of a sim run (inspect, report, viewer)."""

REPORT_SIM_NOTE = (
    "> **SIMULATED WORLD** (model `sim`): every figure here comes from the labelled test bed, not a real LLM."
)
"""The report's Markdown note for a sim run."""

SUMMARY_SIM_LINE = (
    "SIMULATED WORLD (model 'sim'): every figure below comes from the test bed, not a real LLM."
)
"""The first line of ``persona-evolve run``'s printed summary for a sim run."""

EXPORT_SIM_NOTE = (
    "note: SIMULATED WORLD: this program's scores come from the sim test bed (the header says so)"
)
"""``persona-evolve export``'s stderr note when the exported program was scored in the sim."""

SIM_TOKENS_TAG = " (SIMULATED tokens)"
"""After a token count measured by the sim client (export's cost cap, inspect front's error)."""

SIM_FIGURE_TAG = " (SIMULATED)"
"""Appended to the viewer's cost-front figure title when its tokens are the sim's."""

CLI_SIM_NOTE = "note: SIMULATED WORLD (model 'sim'): output comes from the labelled test bed, not a real LLM"
"""The CLI's stderr note when a command runs on the sim (:func:`evolve.cli.common`)."""


def weak_sandbox_note(missing: Sequence[str]) -> str:
    """The run's live note when its programs run without the layers ``missing``."""
    return f"WEAK SANDBOX: programs run without {', '.join(missing)} (--weak-sandbox)"


def weak_sandbox_summary(missing: Sequence[str]) -> str:
    """The line of ``persona-evolve run``'s printed summary."""
    return f"WEAK SANDBOX: programs ran without {', '.join(missing)} (--weak-sandbox)."


def weak_sandbox_inspect(missing: Sequence[str]) -> str:
    """The line of ``inspect summary``."""
    return f"WEAK SANDBOX: programs of this run ran without {', '.join(missing)} (--weak-sandbox)"


def weak_sandbox_report(missing: Sequence[str]) -> str:
    """The report's Markdown note."""
    return (
        f"> **WEAK SANDBOX**: programs of this run ran without {', '.join(missing)} "
        f"(`--weak-sandbox`); an LLM-written program was not fully confined by the kernel."
    )

"""The SIMULATED / WEAK SANDBOX label texts live in evolve/outputs/labels.py only (issue 20):
no other module of evolve spells one out, so a wording change happens in one place."""

from __future__ import annotations

from pathlib import Path

from evolve.outputs import labels

EVOLVE = Path(__file__).resolve().parents[2] / "evolve"
OWN_TEXT = {
    EVOLVE / "outputs" / "labels.py",
    # written into the exported file / imports nothing of persona-evolve (labels.py says why)
    EVOLVE / "outputs" / "export.py",
    EVOLVE / "outputs" / "export_runner.py",
}


def _sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in EVOLVE.rglob("*.py") if p not in OWN_TEXT}


def test_no_module_but_labels_spells_out_a_label() -> None:
    texts = [
        labels.SIM_BANNER,
        labels.SIM_LINE,
        labels.REPORT_SIM_NOTE,
        labels.SUMMARY_SIM_LINE,
        labels.CLI_SIM_NOTE,
        labels.EXPORT_SIM_NOTE,
        labels.SIM_TOKENS_LINE[:40],
        labels.SIM_TAG,
        labels.SIM_TOKENS_TAG,
        "WEAK SANDBOX:",
        "**WEAK SANDBOX**",
        "SIMULATED WORLD (model",
    ]
    found = sorted(
        f"{p.relative_to(EVOLVE)}: {t!r}" for p, src in _sources().items() for t in texts if t in src
    )
    assert found == []


def test_the_labels_say_what_they_label() -> None:
    assert labels.weak_sandbox_note(["landlock", "seccomp"]).startswith("WEAK SANDBOX: ")
    assert "landlock, seccomp" in labels.weak_sandbox_report(["landlock", "seccomp"])
    assert "SIMULATED" in labels.simulation_label(list(labels.RUN_ROLES))
    assert labels.simulation_label([]) == ""

"""The report's cost-front section: content (for ``report.md`` and the viewer's ``/report``)
and its markdown. The front is ``evolve.outputs.inspect.front``'s; nothing is computed here."""

from __future__ import annotations

from typing import Any, Mapping

from archive.reader import ArchiveReader

#: Dominated programs listed under the front in the report.
DOMINATED_SHOWN = 5


def front_content(reader: ArchiveReader) -> dict[str, Any] | None:
    """The ``inspect front`` dict of the reader's run, or None when no program of the run
    has a validation evaluation (the section then says so)."""
    from evolve.outputs.inspect import InspectError, Source
    from evolve.outputs.inspect.front import front

    try:
        return front(Source.of(reader))
    except InspectError:
        return None


def front_markdown(data: Mapping[str, Any] | None, *, unvalidated_note: bool = True) -> list[str]:
    """Markdown lines of the section (a heading, a note, a table); a one-line section when
    ``data`` is None."""
    from evolve.outputs.labels import SIM_TOKENS_LINE

    lines = ["## Cost front: validation coverage against tokens per persona", ""]
    if data is None:
        return lines + ["No program was validated, so there is no cost front.", ""]
    lines += ["Programs that no other validated program beats on both validation coverage (higher is better) "
              "and persona-role LLM tokens per persona over the same validation evaluations "
              "(lower is better); "
              "cheapest first. `persona-evolve export --max-tokens-per-persona X` exports the best program "
              "under a cost.", ""]
    if data["tokens_simulated"]:
        lines += [f"> {SIM_TOKENS_LINE[0].upper()}{SIM_TOKENS_LINE[1:]}.", ""]
    if unvalidated_note and data["unvalidated"]:
        lines += [f"{data['unvalidated']} programs have no validation evaluation and are not on the front.",
                  ""]
    lines += ["| # | program | label | coverage | tokens / persona | personas |", "|---|---|---|---|---|---|"]
    for r in data["front"]:
        champ = " (champion)" if r["champion"] else ""
        lines.append(f"| {r['rank']} | `{r['id']}`{champ} | {r['label'] or '–'} | {r['coverage']:.4f} | "
                     f"{r['tokens_per_persona']:.1f} | {r['personas']} |")
    lines.append("")
    rest = data["dominated"]
    if rest:
        shown = ", ".join(f"`{r['id']}` ({r['coverage']:.4f} at {r['tokens_per_persona']:.1f})"
                          for r in rest[:DOMINATED_SHOWN])
        more = ", …" if len(rest) > DOMINATED_SHOWN else ""
        lines += [f"Dominated ({len(rest)}), cheapest first: {shown}{more}", ""]
    return lines

"""``inspect diff``: the unified diff between two stored programs.

JSON shape (stable)::

    {"a": {"id": str, "label": str|null, "generation": int},
     "b": {"id": str, "label": str|null, "generation": int},
     "identical": bool, "added": int, "removed": int, "diff": str, "simulated": bool}

``added``/``removed`` count changed lines; ``diff`` is the unified diff text (3 lines of
context), empty when the two texts are equal. ``simulated``: the run used the sim world
(the text output then starts with the SIMULATED line, like every inspect command).
"""

from __future__ import annotations

import difflib
from typing import Any

from evolve.outputs.inspect.source import Source
from evolve.outputs.labels import SIM_LINE


def diff(src: Source, ref_a: str, ref_b: str) -> dict[str, Any]:
    """Unified diff from program ``ref_a`` to ``ref_b`` (ids, prefixes or labels)."""
    a = src.reader.program(src.resolve_program(ref_a))
    b = src.reader.program(src.resolve_program(ref_b))
    lines = list(
        difflib.unified_diff(
            a.code.splitlines(keepends=True),
            b.code.splitlines(keepends=True),
            fromfile=f"a/{a.id}" + (f" ({a.label})" if a.label else ""),
            tofile=f"b/{b.id}" + (f" ({b.label})" if b.label else ""),
        )
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return {
        "a": {"id": a.id, "label": a.label, "generation": a.generation},
        "b": {"id": b.id, "label": b.label, "generation": b.generation},
        "identical": not lines,
        "added": added,
        "removed": removed,
        "diff": text,
        "simulated": src.simulated(),
    }


def render_diff(data: dict[str, Any]) -> str:
    """The diff text, or a one-line note when the programs are textually identical (after
    the SIMULATED line for a sim run)."""
    head = SIM_LINE + "\n" if data.get("simulated") else ""
    if data["identical"]:
        return head + f"{data['a']['id']} and {data['b']['id']}: identical text"
    return head + data["diff"].rstrip("\n") + f"\n({data['added']} lines added, {data['removed']} removed)"

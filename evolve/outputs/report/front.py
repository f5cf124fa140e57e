"""The report's cost-front section: its content (for ``report.md``, whose markdown is the
template ``report_templates/front.md.j2``, and the viewer's ``/report``). The front is
``evolve.outputs.inspect.front``'s; nothing is computed here."""

from __future__ import annotations

from typing import Any

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

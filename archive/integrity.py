"""Whether a run's stored programs are intact: each program's stored code hashes to its id.

A mismatch means the database was edited outside persona-evolve; ``export``, ``inspect``,
``view`` and ``--resume`` refuse such an archive (``identity.verify_code`` raises on read).
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from .identity import CodeMismatch, verify_code
from .schema import Program, RunProgram


def tampered_programs(conn: Connection, run_id: int) -> list[str]:
    """One line (the CodeMismatch message) per program of run ``run_id`` whose stored code
    does not hash to its id, in storage order; [] for an intact run."""
    rows = conn.execute(
        select(Program.id, Program.code)
        .join(RunProgram, RunProgram.program_id == Program.id)
        .where(RunProgram.run_id == run_id)
    ).all()
    bad = []
    for pid, code in rows:
        try:
            verify_code(pid, code)
        except CodeMismatch as exc:
            bad.append(str(exc))
    return bad

"""Errors of the sandbox machinery, and the failure formatting shared with the child.

The formatting functions live in :mod:`generators.sandbox.inside.sandbox_errors` (the
child imports that file without importing the project); this module re-exports them and
adds the parent-only exception types.
"""

from __future__ import annotations

from generators.sandbox.inside.sandbox_errors import (  # noqa: F401
    DETAIL_CAP,
    ERROR_CAP,
    PROGRAM_FILENAME,
    cap_detail,
    format_program_exception,
    format_stack_snapshot,
    format_syntax_error,
    one_line,
)
from generators.sandbox.inside.sandbox_runtime import LLMUnavailable  # noqa: F401


class SandboxError(Exception):
    """A failure of the sandbox machinery itself (not of the program)."""


class ProtocolError(SandboxError):
    """A malformed, oversized or unexpected message on the sandbox pipe."""

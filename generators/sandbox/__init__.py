"""Sandbox for LLM-written generator programs (the code is treated as hostile).

Public API (loaded lazily so that the sandbox child, which imports submodules of this
package, does not pay for asyncio)::

    SandboxLimits, GenerationJob, JobResult, LLMHandler,
    run_generator_async, run_generator, isolation_report, LLMUnavailable

Isolation layers (see ``isolation_report()`` for the ones active on a machine):

1. process: one child per call, new session / process group, ``killpg(SIGKILL)`` and
   reap on the wall timeout; rlimits AS (memory), CPU, NPROC, FSIZE, CORE=0;
2. environment: built from an allow-list (PATH, LANG, LC_ALL, PYTHONHASHSEED, thread
   counts = 1, HOME = TMPDIR = the fresh temporary working directory, PYTHONPATH);
   the interpreter runs with ``-I -B``;
3. network: a fresh empty network namespace when the kernel permits
   (``unshare(CLONE_NEWNET)``, else ``CLONE_NEWUSER|CLONE_NEWNET``);
4. audit guard (:mod:`generators.sandbox.guard`): refuses sockets, process creation and
   signals, ctypes, writes outside the working directory, reads of secret places.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "SandboxLimits", "GenerationJob", "JobResult", "LLMHandler", "LLMUnavailable",
    "run_generator_async", "run_generator", "isolation_report",
]

_WHERE = {
    "SandboxLimits": "generators.sandbox.limits",
    "LLMUnavailable": "generators.sandbox.errors",
    "GenerationJob": "generators.sandbox.parent",
    "JobResult": "generators.sandbox.parent",
    "LLMHandler": "generators.sandbox.parent",
    "run_generator_async": "generators.sandbox.parent",
    "run_generator": "generators.sandbox.parent",
    "isolation_report": "generators.sandbox.parent",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'generators.sandbox' has no attribute {name!r}")

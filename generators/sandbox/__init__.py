"""Sandbox for LLM-written generator programs (the code is treated as hostile).

Public API (loaded lazily: importing the package costs nothing until a name is used)::

    SandboxLimits, GenerationJob, JobResult, LLMHandler,
    run_generator_async, run_generator, isolation_report, LLMUnavailable

Isolation (see ``isolation_report()`` for the layers active on a machine; the child
applies them itself before any program code runs, ``inside/sandbox_confine.py``):

1. process: one child per call in a new session, killed as a group on the wall timeout
   (by the event loop and by a watchdog thread); the child is PID 1 of its own PID
   namespace (a relay process outside waits for it), in empty network/IPC/UTS namespaces;
2. identity and resources: a uid/gid of its own when the worker is root; rlimits on
   address space, CPU, tasks, file size; an allow-list environment with no keys;
3. Landlock: read-write beneath a fresh working directory, read-only beneath the standard
   library and numpy/scipy, nothing else; TCP refused; signals and abstract sockets scoped;
4. seccomp: threads only, no exec, sockets, ptrace, namespaces, mounts, bpf, io_uring...;
5. a runtime (``inside/``) that imports nothing of the project, preloads the modules a
   program may use and refuses any other import;
6. the parent trusts nothing from the child: strict JSON (no NaN), size caps, one result
   per known job, caps on LLM prompts per request, per call and characters in flight.

An audit hook (``inside/sandbox_guard.py``) only turns refused actions into friendly
messages. Where the kernel lacks a layer, programs are refused unless trusted (shipped
seeds) or ``SandboxLimits.allow_weak_isolation``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "SandboxLimits",
    "GenerationJob",
    "JobResult",
    "LLMHandler",
    "LLMUnavailable",
    "run_generator_async",
    "run_generator",
    "isolation_report",
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

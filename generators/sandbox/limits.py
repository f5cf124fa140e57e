"""Limits of one sandbox call and the child's clean environment (parent side).

The child applies the limits itself (``inside/sandbox_confine.py``: rlimits, namespaces,
Landlock, seccomp); it receives them as the JSON of :meth:`SandboxLimits.to_dict`.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any, Mapping

ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "PYTHONHASHSEED")
"""Parent variables copied into the child env (when set); nothing else is inherited."""

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True, kw_only=True)
class SandboxLimits:
    """Limits for one sandbox run (one child process running all jobs of a call).

    ``wall_timeout_s``: seconds for the whole call (start-up + all jobs); then the
    process group is killed and unfinished jobs get a timeout error.
    ``cpu_time_s``: CPU seconds of the child (RLIMIT_CPU). ``memory_mb``: address space
    of the child in MiB (RLIMIT_AS). ``max_processes``: RLIMIT_NPROC headroom (tasks,
    i.e. processes and threads, beyond those the user already runs; it does not bind
    root, so the in-child guard also refuses process creation).
    ``max_output_bytes``: tail of the child's combined stdout/stderr that is kept.
    ``max_file_bytes``: largest file the child may write (RLIMIT_FSIZE).
    ``disk_mb``: size of the child's working directory, a tmpfs inside its own mount
    namespace (MiB, all files together); it vanishes with the child.
    ``max_message_bytes``: largest protocol message the parent accepts from the child.
    ``max_prompts_per_request``: prompts in one ``complete_many`` (more: the request is
    refused with an error in the program). ``max_llm_prompts``: prompts in the whole call
    (more: the call is stopped with a recorded error). ``max_prompt_chars``: characters of
    one prompt. ``max_inflight_chars``: prompt characters being served at once (beyond
    it the parent stops reading requests until some complete). ``max_reply_bytes``: the
    largest reply message to one request (larger: the request gets an error instead).
    ``max_unread_bytes``: replies written to the child and not yet read by it (beyond it
    the child has stopped reading: the evaluation ends with an error), so the parent's
    memory for one evaluation stays within about ``max_unread_bytes + max_message_bytes``
    whatever the program does. ``max_completion_tokens``: the most a program may ask of
    one completion (``max_tokens`` above it is lowered to it).
    ``allow_weak_isolation``: run LLM-written programs even where the kernel lacks a
    required isolation layer (``--weak-sandbox``; every output of such a run says so).
    """

    wall_timeout_s: float = 120.0
    cpu_time_s: int = 120
    memory_mb: int = 2048
    max_processes: int = 64
    max_output_bytes: int = 64_000
    max_file_bytes: int = 16_000_000
    disk_mb: int = 64
    max_message_bytes: int = 8_000_000
    max_prompts_per_request: int = 512
    max_llm_prompts: int = 20_000
    max_prompt_chars: int = 200_000
    max_inflight_chars: int = 8_000_000
    max_reply_bytes: int = 4_000_000
    max_unread_bytes: int = 32_000_000
    max_completion_tokens: int = 4096
    allow_weak_isolation: bool = False

    def __post_init__(self) -> None:
        if not (
            isinstance(self.wall_timeout_s, (int, float))
            and math.isfinite(self.wall_timeout_s)
            and self.wall_timeout_s > 0
        ):
            raise ValueError(
                f"SandboxLimits.wall_timeout_s must be a finite number > 0, got {self.wall_timeout_s}"
            )
        for name in (
            "cpu_time_s",
            "memory_mb",
            "max_processes",
            "max_output_bytes",
            "max_file_bytes",
            "disk_mb",
            "max_message_bytes",
            "max_prompts_per_request",
            "max_llm_prompts",
            "max_prompt_chars",
            "max_inflight_chars",
            "max_reply_bytes",
            "max_unread_bytes",
            "max_completion_tokens",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"SandboxLimits.{name} must be >= 1, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SandboxLimits":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def build_env(*, workdir: str, parent_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's environment, built from an allow-list (never from a deny-list).

    Only ``PATH``, ``LANG``, ``LC_ALL`` and ``PYTHONHASHSEED`` are copied from
    ``parent_env`` (default ``os.environ``); ``HOME`` and ``TMPDIR`` are ``workdir``;
    BLAS/OpenMP thread counts are 1. No API key, token, provider variable or project
    path can enter.
    """
    source = os.environ if parent_env is None else parent_env
    env = {name: source[name] for name in ENV_ALLOW if name in source}
    env.setdefault("PATH", "/usr/bin:/bin")
    env.update({name: "1" for name in THREAD_VARS})
    env.update(HOME=workdir, TMPDIR=workdir, PYTHONDONTWRITEBYTECODE="1")
    return env

"""The LLM loop: one asyncio event loop per process, run in a daemon thread.

Every litellm call runs on this loop, whoever asks (async code on another loop, plain
threads, sync code inside a thread whose own loop is running). One long-lived loop keeps
litellm's pooled async HTTP clients valid (they are bound to the loop that created them)
and lets one semaphore bound a client's in-flight calls across all its callers.
The loop is recreated in a forked child process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread", "shared_loop"]

T = TypeVar("T")


class LoopThread:
    """An event loop running forever in a daemon thread; submit coroutines from any thread."""

    def __init__(self, *, name: str = "llm-loop") -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; returns a thread-safe future of its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def in_loop_thread(self) -> bool:
        """True when the caller runs on this loop's thread (blocking here would deadlock)."""
        return threading.current_thread() is self.thread

    def close(self, timeout_s: float = 5.0) -> None:
        """Cancel pending tasks, stop the loop and join the thread (waits up to ``timeout_s`` s)."""
        if not self.loop.is_running():
            return

        async def _cancel_all() -> None:
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.submit(_cancel_all()).result(timeout=timeout_s)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=timeout_s)
        if not self.thread.is_alive():
            self.loop.close()


_SHARED: LoopThread | None = None
_SHARED_LOCK = threading.Lock()


def shared_loop() -> LoopThread:
    """The process-wide LLM loop, started on first use (and again after a fork)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None or _SHARED.pid != os.getpid() or not _SHARED.thread.is_alive():
            _SHARED = LoopThread()
        return _SHARED

"""Running asynchronous gathering from synchronous code: the one bridge the library's
synchronous faces (``probe()``, the checks, the plugin's fixture) cross, and the commands'
runner that a signal ends cleanly."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["STOP_SIGNALS", "run_sync", "run_until_signalled"]

T = TypeVar("T")


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_sync(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end from synchronous code: on a loop of its own, in a thread of its
    own when the caller already runs a loop (an async test calling the plugin's fixture)."""
    if not _loop_running():  # (outside the except: no "no running event loop" chained to what work raises)
        return asyncio.run(work)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_until_signalled(work: Coroutine[Any, Any, T]) -> tuple[T | None, int | None]:
    """Run ``work`` on a loop of its own until it ends or SIGINT or SIGTERM arrives: its
    result and ``None``, or ``None`` and the signal's number once ``work`` was cancelled
    (it may still have handed on what it had). Signals are caught only in the main thread
    (Python delivers them there); elsewhere this is ``run_sync``."""
    if threading.current_thread() is not threading.main_thread():
        return run_sync(work), None

    async def guarded() -> tuple[T | None, int | None]:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(work)
        caught: list[int] = []

        def stop(signum: int) -> None:
            if not caught:
                caught.append(signum)
                task.cancel()

        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop, signum)
        try:
            return await task, None
        except asyncio.CancelledError:
            if caught:
                return None, caught[0]
            raise
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)

    return asyncio.run(guarded())

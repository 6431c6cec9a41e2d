"""Running asynchronous gathering from synchronous code: the one bridge the library's
synchronous faces (``probe()``, the checks, the plugin's fixture) cross."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end from synchronous code: on a loop of its own, in a thread of its
    own when the caller already runs a loop (an async test calling the plugin's fixture)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()

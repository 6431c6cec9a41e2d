"""The engine: every attempt at every target of a run on one event loop, bounded, with
hedged attempts instead of serial retries.

A target that has not answered is tried again while its first attempt still waits: the
next attempt starts at the latest after ``HEDGE_SPAN * timeout / retries``, so the last one
starts by 0.45 of the timeout and an address that never answers has its verdict within 1.5
timeouts (1.45, and the event loop's own delays), not the sum of every attempt. The first
``ok`` wins and ends the others. An attempt that fails starts the next one at once, without
waiting: a failure that loss cannot produce (a refusal, a close without data, a wrong
greeting) is conclusive and is never waited out, and a failure that loss can produce (no
answer, silence) has already waited its timeout. A target this client has no route to is
not tried again.

Attempts hold a slot only while their socket is open, and the slots are sized against the
open-file limit. Outcomes come back in the order of the jobs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import resource
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from tcpreach.errors import UsageError
from tcpreach.judging.verdict import LOSS_CAN_PRODUCE, judge
from tcpreach.model import ProbeResult, Target, TargetOutcome, Verdict
from tcpreach.net.loop import run_sync
from tcpreach.net.probe import probe_async
from tcpreach.options import CheckOptions

__all__ = [
    "GC_PAUSE_JOBS", "HEDGE_SPAN", "MAX_SLOTS", "Engine", "Job", "gc_paused", "hedge_offsets",
    "probe_jobs", "run_jobs", "slot_count", "wanted_slots",
]  # fmt: skip

MAX_SLOTS = 16384
"""Connections open at once, at most, whatever the open-file limit allows."""
_RESERVED_FILES = 64
"""Descriptors left for everything else of the process (DNS sockets, files, pytest's own)."""

HEDGE_SPAN = 0.45
"""The last hedge starts by this share of the timeout. With half, a silent address took
1.51 timeouts in ``bench.fleet`` (1.5 and the loop's delays); 0.45 keeps it within 1.5."""
GC_PAUSE_JOBS = 256
"""Runs of this many jobs or more pause the cyclic garbage collector while they run."""

Attempt = Callable[[Target, CheckOptions], Awaitable[ProbeResult]]
"""One attempt at a target: ``probe_async`` unless a test gives another."""


@dataclass(frozen=True)
class Job:
    """One target, probed with its own options."""

    target: Target
    options: CheckOptions


def hedge_offsets(timeout: float, retries: int) -> tuple[float, ...]:
    """When each attempt starts, at the latest, after the first: the last one by
    ``HEDGE_SPAN`` of the timeout. ``(0.0,)`` without retries."""
    if retries <= 0:
        return (0.0,)
    step = HEDGE_SPAN * timeout / retries
    return tuple(i * step for i in range(retries + 1))


def slot_count(wanted: int) -> int:
    """How many connections may be open at once: ``wanted``, within ``MAX_SLOTS`` and the
    open-file limit (raised to its hard limit when that helps). Raises ``UsageError`` when
    the limit leaves too few."""
    wanted = max(1, min(wanted, MAX_SLOTS))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + _RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < needed and (hard == resource.RLIM_INFINITY or hard > soft):
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        soft = raised
    available = wanted if soft == resource.RLIM_INFINITY else min(wanted, soft - _RESERVED_FILES)
    if available < min(wanted, 8):
        raise UsageError(
            f"the open-file limit (ulimit -n) is {soft}: too few to probe at once; "
            f"raise it to at least {needed} (ulimit -n {needed})"
        )
    return available


async def _target(job: Job, slots: asyncio.Semaphore, attempt: Attempt) -> TargetOutcome:
    """Every attempt at one target, hedged; the outcome that decides its verdict. The
    hedges count from when the first attempt got its slot, not from the queue."""
    options = job.options
    offsets = hedge_offsets(options.timeout, options.retries)
    started = asyncio.Event()
    start = 0.0
    running: dict[asyncio.Task[Any], int] = {}
    finished: list[tuple[int, TargetOutcome]] = []

    async def one() -> TargetOutcome:
        nonlocal start
        async with slots:
            if not started.is_set():
                start = time.monotonic()
                started.set()
            observed = await attempt(job.target, options)
        return judge(observed, options.expectation)

    def launch() -> None:
        running[asyncio.create_task(one())] = len(running) + len(finished) + 1

    if len(offsets) == 1:  # no retries: one attempt, nothing to schedule
        return _decided([(1, await one())], 1, start)
    launch()
    waiting_for_slot = asyncio.create_task(started.wait())
    try:
        while running:
            launched = len(running) + len(finished)
            wait = None
            if started.is_set() and launched < len(offsets):
                wait = max(0.0, offsets[launched] - (time.monotonic() - start))
            watched: set[asyncio.Task[Any]] = {*running}
            if not waiting_for_slot.done():
                watched.add(waiting_for_slot)
            done, _ = await asyncio.wait(watched, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            done.discard(waiting_for_slot)
            if not done:
                if wait is not None:
                    launch()  # still no answer: hedge
                continue
            for task in done:
                outcome: TargetOutcome = task.result()
                finished.append((running.pop(task), outcome))
                if outcome.verdict is Verdict.OK or outcome.result.no_route:
                    return _decided(finished, len(running) + len(finished), start)
                if len(running) + len(finished) < len(offsets):
                    launch()  # a failure: the next attempt now, never a wait
    finally:
        waiting_for_slot.cancel()
        for task in running:
            task.cancel()
        await asyncio.gather(waiting_for_slot, *running, return_exceptions=True)
    return _decided(finished, len(finished), start)


def _decided(finished: list[tuple[int, TargetOutcome]], attempts: int, start: float) -> TargetOutcome:
    """The outcome that decides: an ``ok`` or a missing route (the last to finish), else the
    first failure that loss cannot produce, else the first attempt's."""
    index, outcome = finished[-1]
    if outcome.verdict is not Verdict.OK and not outcome.result.no_route:
        conclusive = [(i, o) for i, o in finished if o.verdict not in LOSS_CAN_PRODUCE]
        index, outcome = conclusive[0] if conclusive else min(finished, key=lambda pair: pair[0])
    result = dataclasses.replace(outcome.result, attempts=attempts, attempt=index, elapsed_s=time.monotonic() - start)
    explanation = outcome.explanation
    failed: tuple[Verdict, ...] = ()
    if outcome.verdict is Verdict.OK and index > 1:
        explanation = f"{explanation} (attempt {index} of {attempts})"
        failed = tuple(o.verdict for i, o in sorted(finished) if o.verdict is not Verdict.OK and i != index)
    return dataclasses.replace(outcome, result=result, explanation=explanation, failed_attempts=failed)


class _CollectorPause:
    """The cyclic garbage collector off while a large run is in flight, as it was afterwards.

    A run of thousands of targets keeps tens of thousands of tasks, futures and timer
    handles alive at once; the collector walked them over and over while they were being
    made, and delayed the last connects by as much as a probe timeout (``bench.fleet``).
    Reference counting still frees everything that is not a cycle. Runs that overlap (the
    exporter's scrapes, in threads) share one pause: the last to end restores the
    collector, and only if it was on before the first began."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._runs == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._runs += 1
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
                if self._runs == 0 and self._was_enabled:
                    gc.enable()


gc_paused = _CollectorPause()


class Engine:
    """Slots shared by every job of a run, however the jobs arrive: a fleet hands each host's
    jobs over as soon as its names are resolved, and all of them share the open-file budget."""

    def __init__(self, wanted: int, attempt: Attempt = probe_async) -> None:
        self.slots = asyncio.Semaphore(slot_count(wanted))
        self.attempt = attempt

    async def run(
        self, jobs: Sequence[Job], on_done: Callable[[TargetOutcome], None] | None = None
    ) -> tuple[TargetOutcome, ...]:
        """Every job at once; outcomes in the order of ``jobs``. ``on_done`` hears each
        target's outcome as soon as it is decided (a progress line)."""

        async def decided(job: Job) -> TargetOutcome:
            outcome = await _target(job, self.slots, self.attempt)
            if on_done is not None:
                on_done(outcome)
            return outcome

        return tuple(await asyncio.gather(*(decided(job) for job in jobs)))


def wanted_slots(jobs: Sequence[Job]) -> int:
    """The connections ``jobs`` would open if every attempt ran at once."""
    return sum(len(hedge_offsets(j.options.timeout, j.options.retries)) for j in jobs)


async def run_jobs(
    jobs: Sequence[Job],
    *,
    attempt: Attempt = probe_async,
    on_done: Callable[[TargetOutcome], None] | None = None,
) -> tuple[TargetOutcome, ...]:
    """Every job at once on the running loop; outcomes in the order of ``jobs``.
    ``on_done`` hears each target's outcome as soon as it is decided (a progress line)."""
    if not jobs:
        return ()
    with gc_paused() if len(jobs) >= GC_PAUSE_JOBS else nullcontext():
        return await Engine(wanted_slots(jobs), attempt).run(jobs, on_done)


def probe_jobs(
    jobs: Sequence[Job], *, on_done: Callable[[TargetOutcome], None] | None = None
) -> tuple[TargetOutcome, ...]:
    """``run_jobs`` from synchronous code."""
    return run_sync(run_jobs(jobs, on_done=on_done)) if jobs else ()

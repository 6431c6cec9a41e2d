"""The engine: every attempt at every target of a run on one event loop, bounded, with
hedged attempts instead of serial retries.

A target that has not answered is tried again while its first attempt still waits: the
next attempt starts at the latest after ``HEDGE_SPAN * timeout / retries``, so the last one
starts by 0.45 of the timeout, with its whole timeout (``HEDGE_END``): an address that
never answers has its verdict within 1.45 timeouts, not the sum of every attempt. The
first ``ok`` wins and ends the others.

A failure that loss cannot produce (a refusal, a close without data, a wrong greeting, a
reset) is conclusive: its confirmations (an intermittent server, the shared-IPv4 claim)
start all at once, at once, and cost one round trip, never a wait. A failure that loss can
produce (no answer, silence) has already waited its timeout and starts the next attempt at
once. A target this client has no route to, or that a router says is unreachable, is not tried
again.

Attempts hold a slot only while their socket is open, and the slots are sized against the
open-file limit. A new attempt starts only when the loop can serve it (``LagGate``): a
loop running late makes a run slower, never its verdicts wrong (the probe asks the socket
itself at each deadline). Outcomes come back in the order of the jobs.
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
    "GC_PAUSE_JOBS", "HEDGE_END", "HEDGE_SPAN", "LAG_LIMIT_S", "MAX_SLOTS", "Engine", "Job", "LagGate",
    "attempt_timeout", "gc_paused", "hedge_offsets", "probe_jobs", "run_jobs", "slot_count", "wanted_slots",
    "worst_case_timeouts",
]  # fmt: skip

MAX_SLOTS = 16384
"""Connections open at once, at most, whatever the open-file limit allows."""
_RESERVED_FILES = 64
"""Descriptors left for everything else of the process (DNS sockets, files, pytest's own)."""

HEDGE_SPAN = 0.45
"""The last hedge starts by this share of the timeout."""
HEDGE_END = 1 + HEDGE_SPAN
"""Every hedge's connect and read deadlines end by this many timeouts after the first
attempt began (the first attempt keeps its whole timeout for each). With 1.2, a silent
address had its verdict within 1.2 timeouts, but a working deployment behind 20% loss each
way was ok in only 97 of 100 runs of ``bench.loss`` (100 of 100 with 1.45): a late hedge
must have its whole timeout, since loss is what it is there for."""
LAG_LIMIT_S = 0.05
"""A new attempt waits while the loop runs later than this behind its own timers."""
LAG_TICK_S = 0.01
GC_PAUSE_JOBS = 256
"""Runs of this many jobs or more pause the cyclic garbage collector while they run."""

FINAL = frozenset({Verdict.UNREACHABLE})
"""Failures no further attempt is made after: a router's answer about the path (ICMP
unreachable), which no diagnosis asks to be confirmed."""

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


def attempt_timeout(timeout: float, offset: float) -> float:
    """The connect and read timeout of an attempt that starts ``offset`` after the first:
    the whole ``timeout`` for the first, then what is left before ``HEDGE_END``."""
    return timeout if offset <= 0 else max(0.0, min(timeout, HEDGE_END * timeout - offset))


def worst_case_timeouts(retries: int) -> float:
    """A target's slowest verdict, in timeouts: the latest end of any attempt, each of which
    may take its timeout to connect and its timeout again to read."""
    return max(offset + 2 * attempt_timeout(1.0, offset) for offset in hedge_offsets(1.0, retries))


class LagGate:
    """Admits new attempts only while the loop keeps its own time: a watcher sleeps
    ``LAG_TICK_S`` over and over and measures how late it wakes, and an attempt waits while
    that lag is over ``LAG_LIMIT_S``. The watcher stops itself once nothing is admitted."""

    def __init__(self) -> None:
        self.lag = 0.0
        self.worst = 0.0
        self._asked = False
        self._watcher: asyncio.Task[None] | None = None

    async def admit(self) -> None:
        self._asked = True
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(self._watch())
        while self.lag > LAG_LIMIT_S:
            await asyncio.sleep(LAG_TICK_S)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        quiet = 0
        while quiet < 50:
            before = loop.time()
            await asyncio.sleep(LAG_TICK_S)
            self.lag = max(0.0, loop.time() - before - LAG_TICK_S)
            self.worst = max(self.worst, self.lag)
            quiet = 0 if self._asked else quiet + 1
            self._asked = False
        self.lag = 0.0


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


class _Hedged:
    """Every attempt at one target, hedged: ``decide()`` is the outcome that decides its
    verdict. The hedges count from when the first attempt got its slot, not the queue."""

    def __init__(self, job: Job, slots: asyncio.Semaphore, attempt: Attempt, gate: LagGate | None) -> None:
        self.job, self.slots, self.attempt, self.gate = job, slots, attempt, gate
        self.offsets = hedge_offsets(job.options.timeout, job.options.retries)
        self.started = asyncio.Event()
        self.start = 0.0
        self.running: dict[asyncio.Task[Any], int] = {}
        self.finished: list[tuple[int, TargetOutcome]] = []

    async def one(self, number: int) -> TargetOutcome:
        options = self.job.options
        if self.gate is not None:
            await self.gate.admit()
        async with self.slots:
            if not self.started.is_set():
                self.start = time.monotonic()
                self.started.set()
            budget = attempt_timeout(options.timeout, self.offsets[number - 1])
            own = options if budget == options.timeout else dataclasses.replace(options, timeout=budget)
            observed = await self.attempt(self.job.target, own)
        return judge(observed, options.expectation)

    @property
    def launched(self) -> int:
        return len(self.running) + len(self.finished)

    def launch(self) -> None:
        number = self.launched + 1
        self.running[asyncio.create_task(self.one(number))] = number

    async def decide(self) -> TargetOutcome:
        if len(self.offsets) == 1:  # no retries: one attempt, nothing to schedule
            return _decided([(1, await self.one(1))], 1, self.start)
        self.launch()
        waiting_for_slot = asyncio.create_task(self.started.wait())
        try:
            while self.running:
                wait = None
                if self.started.is_set() and self.launched < len(self.offsets):
                    wait = max(0.0, self.offsets[self.launched] - (time.monotonic() - self.start))
                watched: set[asyncio.Task[Any]] = {*self.running}
                if not waiting_for_slot.done():
                    watched.add(waiting_for_slot)
                done, _ = await asyncio.wait(watched, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                done.discard(waiting_for_slot)
                if not done and wait is not None:
                    self.launch()  # still no answer: hedge
                if self._settled(done):
                    return _decided(self.finished, self.launched, self.start)
        finally:
            waiting_for_slot.cancel()
            for task in self.running:
                task.cancel()
            await asyncio.gather(waiting_for_slot, *self.running, return_exceptions=True)
        return _decided(self.finished, len(self.finished), self.start)

    def _settled(self, done: set[asyncio.Task[Any]]) -> bool:
        """Take the attempts that ended: ``True`` once one decides (an ``ok``, no route; of
        several at once, the earliest attempt, kept last). After a failure the next attempt
        starts now, never after a wait; after a conclusive one every confirmation starts at
        once (each costs a round trip, not a timeout)."""
        batch = sorted((self.running.pop(task), task.result()) for task in done)
        deciding = [(n, o) for n, o in batch if o.verdict is Verdict.OK or o.result.no_route]
        self.finished += [pair for pair in batch if pair not in deciding] + deciding[1:] + deciding[:1]
        if deciding or (batch and all(o.verdict in FINAL for _, o in batch)):
            return True
        conclusive = any(o.verdict not in LOSS_CAN_PRODUCE for _, o in batch)
        while batch and self.launched < len(self.offsets):
            self.launch()
            if not conclusive:
                break
        return False


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
        self.gate = LagGate()

    async def run(
        self, jobs: Sequence[Job], on_done: Callable[[TargetOutcome], None] | None = None
    ) -> tuple[TargetOutcome, ...]:
        """Every job at once; outcomes in the order of ``jobs``. ``on_done`` hears each
        target's outcome as soon as it is decided (a progress line)."""

        async def decided(job: Job) -> TargetOutcome:
            outcome = await _Hedged(job, self.slots, self.attempt, self.gate).decide()
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

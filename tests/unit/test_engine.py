"""The engine's policy with a scripted attempt in place of the network: hedged attempts, a
conclusive failure tried again at once, the first ok winning, slots, order, the file limit.
Concurrency is proven by counting attempts in flight, never by timing."""

from __future__ import annotations

import asyncio
import errno
import resource

import pytest

from tcpreach import engine
from tcpreach.engine import Job, hedge_offsets, run_jobs, slot_count
from tcpreach.errors import UsageError
from tcpreach.model import Ending, Family, ProbeResult, Target, Verdict
from tcpreach.net.loop import run_sync
from tcpreach.options import CheckOptions

# A wait longer than any test: a policy that waited an attempt out would hang, and the
# outer wait_for fails the test instead.
FOREVER = 3600.0


def target(n: int = 1) -> Target:
    return Target(Family.IPV4, f"192.0.2.{n}", 1848)


OK = {"connected": True, "received": b"hello\n", "ending": Ending.EOF}
CLOSED = {"connected": True, "ending": Ending.EOF}
REFUSED = {"connected": False, "connect_errno": errno.ECONNREFUSED}
NO_ROUTE = {"connected": False, "connect_errno": errno.ENETUNREACH, "no_route": True}
ROUTER_SAYS_UNREACHABLE = {"connected": False, "connect_errno": errno.EHOSTUNREACH}
SILENT = {"connected": True, "ending": Ending.DEADLINE}


class Script:
    """Attempt n at a target answers ``answers[n - 1]``: a record at once, or ``"hang"`` (no
    answer until cancelled), or ``("after", seconds, record)``. Counts attempts in flight."""

    def __init__(self, *answers: object, elsewhere: dict[str, tuple[object, ...]] | None = None) -> None:
        self.answers = answers
        self.elsewhere = elsewhere or {}
        self.started: list[tuple[str, int]] = []
        self.timeouts: list[float] = []
        self.cancelled: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, where: Target, options: CheckOptions) -> ProbeResult:
        index = sum(1 for address, _ in self.started if address == where.address) + 1
        self.started.append((where.address, index))
        self.timeouts.append(options.timeout)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            answers = self.elsewhere.get(where.address, self.answers)
            answer = answers[min(index, len(answers)) - 1]
            if answer == "hang":
                await asyncio.sleep(FOREVER)
            if isinstance(answer, tuple):
                await asyncio.sleep(answer[1])
                answer = answer[2]
            await asyncio.sleep(0)
            assert isinstance(answer, dict)
            return ProbeResult(where, **answer)
        except asyncio.CancelledError:
            self.cancelled.append(index)
            raise
        finally:
            self.in_flight -= 1


def run(script: Script, jobs: list[Job]):
    return asyncio.run(asyncio.wait_for(run_jobs(jobs, attempt=script), 30))


def test_the_hedges_start_by_045_of_the_timeout_evenly():
    assert hedge_offsets(3.0, 0) == (0.0,)
    assert hedge_offsets(3.0, 1) == pytest.approx((0.0, 1.35))
    assert hedge_offsets(3.0, 2) == pytest.approx((0.0, 0.675, 1.35))
    assert hedge_offsets(2.0, 4) == pytest.approx((0.0, 0.225, 0.45, 0.675, 0.9))


def test_a_target_that_does_not_answer_is_tried_again_while_the_first_attempt_waits():
    script = Script("hang", OK)  # attempts due at 0, 0.225 and 0.45 s: the second answers at once
    (outcome,) = run(script, [Job(target(), CheckOptions(timeout=1.0, retries=2))])
    assert (outcome.verdict, outcome.result.attempt, outcome.result.attempts) == (Verdict.OK, 2, 2)
    assert outcome.explanation == "received 'hello\\n', then end-of-stream (attempt 2 of 2)"
    assert (script.most_in_flight, script.cancelled) == (2, [1])  # the first one waited beside it, then ended


def test_a_silent_address_has_every_attempt_in_flight_at_once_and_the_first_decides():
    script = Script(("after", 0.2, SILENT))  # attempts due at 0, 0.045 and 0.09 s, each silent for 0.2 s
    (outcome,) = run(script, [Job(target(), CheckOptions(timeout=0.2, retries=2))])
    assert (outcome.verdict, outcome.result.attempt, outcome.result.attempts) == (Verdict.SILENT, 1, 3)
    assert script.most_in_flight == 3


def test_every_hedge_has_its_whole_timeout_and_ends_by_hedge_end():
    script = Script(("after", 0.2, SILENT))
    run(script, [Job(target(), CheckOptions(timeout=0.2, retries=2))])
    assert script.timeouts == pytest.approx([0.2, 0.2, 0.2])  # starting at 0, 0.045 and 0.09: all by 1.45 timeouts


@pytest.mark.parametrize(("end", "offset", "budget"), [(1.2, 0.0, 1.0), (1.2, 0.225, 0.975), (1.2, 0.45, 0.75),
                                                       (1.45, 0.45, 1.0)])  # fmt: skip
def test_an_attempts_timeout_is_what_is_left_before_hedge_end(monkeypatch, end, offset, budget):
    monkeypatch.setattr(engine, "HEDGE_END", end)
    assert engine.attempt_timeout(1.0, offset) == pytest.approx(budget)


@pytest.mark.parametrize(("retries", "worst"), [(0, 2.0), (1, 2.45), (2, 2.45), (4, 2.45)])
def test_the_slowest_verdict_is_the_latest_end_of_any_attempts_connect_and_read(retries, worst):
    assert engine.worst_case_timeouts(retries) == pytest.approx(worst)


def test_the_gate_holds_new_attempts_while_the_loop_runs_late_and_admits_them_once_it_keeps_time():
    async def scenario() -> tuple[float, bool, bool]:
        gate = engine.LagGate()
        await gate.admit()  # the watcher starts
        await asyncio.sleep(engine.LAG_TICK_S / 2)
        __import__("time").sleep(0.3)  # the loop blocked: the watcher wakes 0.3 s late
        for _ in range(3):  # its timer, then its step
            await asyncio.sleep(0)
        seen = gate.lag
        admitted = asyncio.ensure_future(gate.admit())
        await asyncio.sleep(0)
        held = not admitted.done()
        await asyncio.wait_for(admitted, 5)
        return seen, held, admitted.done()

    seen, held, admitted = asyncio.run(scenario())
    assert (seen > engine.LAG_LIMIT_S, held, admitted) == (True, True, True)


@pytest.mark.parametrize(("answer", "verdict"), [(REFUSED, Verdict.REFUSED), (CLOSED, Verdict.CLOSED_WITHOUT_DATA)])
def test_a_conclusive_failure_is_tried_again_at_once_never_waited_out(answer, verdict):
    script = Script(answer)
    (outcome,) = run(script, [Job(target(), CheckOptions(timeout=FOREVER, retries=3))])
    assert (outcome.verdict, outcome.result.attempt, outcome.result.attempts) == (verdict, 1, 4)
    assert script.most_in_flight == 3  # every confirmation at once, as soon as the first ended


def test_an_intermittent_target_is_ok_on_the_attempt_that_answered():
    script = Script(CLOSED, OK)  # the two confirmations at once: both answer, the earlier decides
    (outcome,) = run(script, [Job(target(), CheckOptions(timeout=FOREVER, retries=2))])
    assert (outcome.verdict, outcome.result.attempt, outcome.result.attempts) == (Verdict.OK, 2, 3)


def test_a_conclusive_failure_decides_over_silence():
    script = Script(("after", 0.3, SILENT), REFUSED)
    (outcome,) = run(script, [Job(target(), CheckOptions(timeout=0.3, retries=1))])
    assert (outcome.verdict, outcome.result.attempt, outcome.result.attempts) == (Verdict.REFUSED, 2, 2)


def test_a_routers_unreachable_is_not_tried_again_but_a_refusal_is():
    unreachable, refused = Script(ROUTER_SAYS_UNREACHABLE), Script(REFUSED)
    (first,) = run(unreachable, [Job(target(), CheckOptions(timeout=FOREVER, retries=2))])
    (second,) = run(refused, [Job(target(), CheckOptions(timeout=FOREVER, retries=2))])
    assert (first.verdict, first.result.attempts, len(unreachable.started)) == (Verdict.UNREACHABLE, 1, 1)
    assert (second.verdict, second.result.attempts, len(refused.started)) == (Verdict.REFUSED, 3, 3)


def test_no_route_is_not_tried_again():
    script = Script(NO_ROUTE)
    (outcome,) = run(script, [Job(target(), CheckOptions(timeout=FOREVER, retries=5))])
    assert (outcome.verdict, outcome.result.attempts, script.started) == (Verdict.UNREACHABLE, 1, [("192.0.2.1", 1)])


def test_every_target_at_once_outcomes_in_the_order_given():
    script = Script(("after", 0.05, OK))
    jobs = [Job(target(n), CheckOptions(retries=0)) for n in range(1, 101)]
    outcomes = run(script, jobs)
    assert [o.target.address for o in outcomes] == [f"192.0.2.{n}" for n in range(1, 101)]
    assert {o.verdict for o in outcomes} == {Verdict.OK}
    assert script.most_in_flight == 100


def test_slots_bound_the_attempts_in_flight(monkeypatch):
    monkeypatch.setattr(engine, "slot_count", lambda wanted: 3)
    script = Script(("after", 0.01, OK))
    outcomes = run(script, [Job(target(n), CheckOptions(retries=2)) for n in range(1, 21)])
    assert [o.verdict for o in outcomes] == [Verdict.OK] * 20
    assert script.most_in_flight == 3


def test_the_open_file_limit_sizes_the_slots_or_says_what_to_do(monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1024, 1024))
    assert slot_count(100) == 100
    assert slot_count(10_000) == 1024 - 64
    monkeypatch.setattr(resource, "getrlimit", lambda which: (40, 40))
    with pytest.raises(UsageError) as raised:
        slot_count(100)
    assert str(raised.value) == (
        "the open-file limit (ulimit -n) is 40: too few to probe at once; raise it to at least 164 (ulimit -n 164)"
    )


def test_a_soft_open_file_limit_is_raised_towards_the_hard_one(monkeypatch):
    raised = []
    monkeypatch.setattr(resource, "getrlimit", lambda which: (256, 65536))
    monkeypatch.setattr(resource, "setrlimit", lambda which, limits: raised.append(limits))
    assert (slot_count(2000), raised) == (2000, [(2064, 65536)])


def test_the_hedges_count_from_the_slot_not_from_the_queue(monkeypatch):
    monkeypatch.setattr(engine, "slot_count", lambda wanted: 1)
    script = Script(("after", 0.5, OK), elsewhere={"192.0.2.2": (OK,)})
    first, queued = run(script, [Job(target(n), CheckOptions(timeout=0.4, retries=2)) for n in (1, 2)])
    # The second target waited its turn for the one slot, then answered its first attempt.
    assert (queued.verdict, queued.result.attempt, queued.result.attempts) == (Verdict.OK, 1, 1)
    assert (first.verdict, script.most_in_flight) == (Verdict.OK, 1)


def test_no_hedge_before_it_is_due():
    script = Script(("after", 0.05, OK))  # answers long before the first hedge, due at 1 s
    (outcome,) = run(script, [Job(target(), CheckOptions(timeout=4.0, retries=2))])
    assert (outcome.verdict, outcome.result.attempts, script.started) == (Verdict.OK, 1, [("192.0.2.1", 1)])


def test_synchronous_callers_inside_a_running_loop_get_their_outcomes():
    # An async test that calls the plugin's fixture: the engine runs on a loop of its own.
    script = Script(OK)

    async def caller():
        return run_sync(run_jobs([Job(target(), CheckOptions(retries=0))], attempt=script))

    (outcome,) = asyncio.run(caller())
    assert outcome.verdict is Verdict.OK


@pytest.mark.parametrize(
    ("answers", "verdict", "failed"),
    [
        ((CLOSED, OK), Verdict.OK, (Verdict.CLOSED_WITHOUT_DATA,)),  # a failure, then the answer
        ((REFUSED, CLOSED, OK), Verdict.OK, (Verdict.REFUSED, Verdict.CLOSED_WITHOUT_DATA)),
        ((OK,), Verdict.OK, ()),  # the first attempt answered: nothing failed
        ((CLOSED, CLOSED, CLOSED), Verdict.CLOSED_WITHOUT_DATA, ()),  # no success: the verdict says it all
    ],
)
def test_a_success_after_failed_attempts_keeps_what_they_saw(answers, verdict, failed):
    (outcome,) = run(Script(*answers), [Job(target(), CheckOptions(timeout=FOREVER, retries=2))])
    assert (outcome.verdict, outcome.failed_attempts) == (verdict, failed)


class CollectorSeen(Script):
    """Records whether the cyclic garbage collector was on during each attempt."""

    def __init__(self) -> None:
        super().__init__(OK)
        self.collector_on: set[bool] = set()

    async def __call__(self, where: Target, options: CheckOptions) -> ProbeResult:
        import gc

        self.collector_on.add(gc.isenabled())
        return await super().__call__(where, options)


@pytest.mark.parametrize(("jobs", "on_during"), [(engine.GC_PAUSE_JOBS - 1, {True}), (engine.GC_PAUSE_JOBS, {False})])
def test_a_large_run_pauses_the_garbage_collector_and_turns_it_back_on(jobs, on_during):
    import gc

    script = CollectorSeen()
    outcomes = run(script, [Job(target(n % 250 + 1), CheckOptions(retries=0)) for n in range(jobs)])
    assert (len(outcomes), script.collector_on, gc.isenabled()) == (jobs, on_during, True)


def test_overlapping_pauses_end_with_the_last_and_leave_a_collector_that_was_off_off():
    import gc

    first, second = engine.gc_paused(), engine.gc_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.isenabled() is False  # the second run is still in flight
    second.__exit__(None, None, None)
    assert gc.isenabled() is True
    gc.disable()
    try:
        with engine.gc_paused():
            pass
        assert gc.isenabled() is False  # the caller had it off: it stays off
    finally:
        gc.enable()

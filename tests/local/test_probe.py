"""The probe plus the judge name every misbehaviour of a real server on loopback."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from server import HelloServer
from tcpreach.check import check_targets, probe_and_judge
from tcpreach.expectation import Expectation
from tcpreach.judging.verdict import judge
from tcpreach.model import Ending, Family, Target, TargetOutcome, Verdict
from tcpreach.options import CheckOptions
from tcpreach.testing.standins import Behaviour, StandIn

pytestmark = pytest.mark.local

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = ["127.0.0.1", "::1"]
EXPECTED = {
    Behaviour.HELLO: Verdict.OK,
    Behaviour.CLOSE: Verdict.CLOSED_WITHOUT_DATA,
    Behaviour.RESET: Verdict.CLOSED_WITHOUT_DATA,
    Behaviour.WRONG: Verdict.WRONG_GREETING,
    Behaviour.HALF: Verdict.TRUNCATED,
    Behaviour.EXTRA: Verdict.EXTRA_DATA,
    Behaviour.HOLD: Verdict.NO_CLOSE,
    Behaviour.SILENT: Verdict.SILENT,
    Behaviour.RESET_AFTER: Verdict.RESET,
    Behaviour.NO_ACCEPT: Verdict.TIMEOUT,
    Behaviour.REPLY: Verdict.SILENT,  # it waits for a request that the default probe never sends
    Behaviour.REPLY_HOLD: Verdict.SILENT,
    Behaviour.FLOOD: Verdict.EXTRA_DATA,  # the read stops at the first bytes past the greeting
    Behaviour.TRICKLE: Verdict.TRUNCATED,  # one or two bytes by the 0.3 s deadline
    Behaviour.READ_ONE: Verdict.NO_CLOSE,  # nothing was sent for it to read: it waits
}


def target(address: str, port: int) -> Target:
    return Target(Family.of(address), address, port)


def probe_every_behaviour() -> dict[tuple[Behaviour, str], TargetOutcome]:
    """Every stand-in behaviour on both families, probed at once: the slow cases each wait
    out the 0.3 s deadline, together instead of one after another."""
    cases = [(behaviour, address) for behaviour in Behaviour for address in LOOPBACK]
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(StandIn(behaviour, host=address)) for behaviour, address in cases]
        jobs = [(address, server) for (_, address), server in zip(cases, servers, strict=True)]

        def run(job: tuple[str, StandIn]) -> TargetOutcome:
            return probe_and_judge(target(job[0], job[1].port), CheckOptions(timeout=0.3, retries=0))

        if os.environ.get("MUTANT_UNDER_TEST"):
            # In this thread under mutation testing: mutmut attributes a call to a test only
            # from the test's own thread.
            return dict(zip(cases, map(run, jobs), strict=True))
        with ThreadPoolExecutor(max_workers=len(cases)) as pool:
            outcomes = pool.map(run, jobs)
            return dict(zip(cases, outcomes, strict=True))


# What the probe records for each behaviour besides the verdict: connected, how the
# connection ended, what arrived. Errnos, a TLS handshake and retries play no part here.
FACTS = {
    Behaviour.HELLO: (True, Ending.EOF, b"hello\n"),
    Behaviour.CLOSE: (True, Ending.EOF, b""),
    Behaviour.RESET: (True, Ending.RESET, b""),
    Behaviour.WRONG: (True, Ending.STOPPED, b"SSH-2.0-OpenSSH_9.2\r\n"),  # no longer the greeting: stop reading
    Behaviour.HALF: (True, Ending.EOF, b"hel"),
    Behaviour.EXTRA: (True, Ending.STOPPED, b"hello\nand more\n"),
    Behaviour.HOLD: (True, Ending.DEADLINE, b"hello\n"),
    Behaviour.SILENT: (True, Ending.DEADLINE, b""),
    Behaviour.RESET_AFTER: (True, Ending.RESET, b"hel"),
    Behaviour.NO_ACCEPT: (False, None, b""),
    Behaviour.REPLY: (True, Ending.DEADLINE, b""),
    Behaviour.REPLY_HOLD: (True, Ending.DEADLINE, b""),
    Behaviour.FLOOD: (True, "stopped or capped", "the greeting, repeated"),
    Behaviour.TRICKLE: (True, Ending.DEADLINE, "a part of the greeting"),
    Behaviour.READ_ONE: (True, Ending.DEADLINE, b"hello\n"),
}


def record(behaviour: Behaviour, outcome: TargetOutcome) -> tuple[object, ...]:
    """The verdict and what the probe recorded, with what varies from run to run (how much
    a flood or a trickle delivered) named by its shape, and the timings by their order."""
    r = outcome.result
    ending: object = r.ending
    received: object = r.received
    if behaviour is Behaviour.FLOOD and r.ending in {Ending.STOPPED, Ending.CAPPED} and len(r.received) > 6:
        ending = "stopped or capped"  # the bytes no longer match, or the cap if one recv brought that many
        if (b"hello\n" * (len(r.received) // 6 + 1)).startswith(r.received):
            received = "the greeting, repeated"
    if behaviour is Behaviour.TRICKLE and 0 < len(r.received) < 6 and b"hello\n".startswith(r.received):
        received = "a part of the greeting"
    timings_in_order = (
        r.connect_s is not None and 0 < r.connect_s <= (r.first_byte_s or r.connect_s) <= r.total_s
        if r.connected
        else r.connect_s is None and r.total_s >= 0.3  # the connect deadline was waited
    )
    deadline_waited = r.ending is not Ending.DEADLINE or r.total_s >= 0.3  # the whole read deadline
    return (r.target.address, outcome.verdict, r.connected, ending, received, r.connect_timed_out, r.connect_errno,
            r.no_route,
            r.send_errno, r.tls, r.attempts, (r.first_byte_s is None) == (r.received == b""), timings_in_order,
            deadline_waited)  # fmt: skip


def test_each_misbehaviour_gets_its_verdict_and_its_record():
    # One table, asserted whole: each (behaviour, family) with its verdict and record.
    table = probe_every_behaviour()
    expected = {
        (behaviour, address): (address, EXPECTED[behaviour], connected, ending, received, not connected, None, False,
                               None, None, 1, True, True, True)
        for (behaviour, address) in table
        for connected, ending, received in [FACTS[behaviour]]
    }  # fmt: skip
    assert {case: record(case[0], outcome) for case, outcome in table.items()} == expected


@pytest.mark.parametrize("address", LOOPBACK)
def test_a_port_nobody_listens_on_is_refused(address):
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as placeholder:
        placeholder.bind((address, 0))  # bound, never listening: nobody accepts there
        port = placeholder.getsockname()[1]
        outcome = probe_and_judge(target(address, port), CheckOptions(timeout=1, retries=0))
    assert outcome.verdict is Verdict.REFUSED


def test_probe_records_bytes_ending_and_ordered_timings(hello_server):
    outcome = probe_and_judge(target("::1", hello_server.port))
    r = outcome.result
    assert r.received == b"hello\n"
    assert r.connect_s is not None
    assert r.first_byte_s is not None
    assert 0 <= r.connect_s <= r.first_byte_s <= r.total_s


def test_ipv4_mapped_literal_uses_an_ipv6_socket(hello_server):
    outcome = probe_and_judge(target("::ffff:127.0.0.1", hello_server.port))
    assert outcome.target.family is Family.IPV6
    assert outcome.verdict is Verdict.OK


def test_ipv4_only_listener_is_diagnosed():
    with HelloServer(host="0.0.0.0", port=0) as srv:
        report = check_targets("ipv4-only", [target(a, srv.port) for a in LOOPBACK], CheckOptions(retries=0))
    assert [o.verdict for o in report.outcomes] == [Verdict.OK, Verdict.REFUSED]
    assert [f.code for f in report.findings] == ["ipv4-only-listener"]


def test_ipv6_only_listener_is_diagnosed():
    with StandIn(Behaviour.HELLO, host="::", v6only=True) as srv:
        report = check_targets("ipv6-only", [target(a, srv.port) for a in LOOPBACK], CheckOptions(retries=0))
    assert [o.verdict for o in report.outcomes] == [Verdict.REFUSED, Verdict.OK]
    assert [f.code for f in report.findings] == ["ipv6-only-listener"]


def test_targets_are_probed_concurrently():
    # A server that greets nobody until N connections are open at once: probed one after
    # another, the first probe would reach its deadline alone and be judged silent.
    n = 6
    with socket.create_server(("127.0.0.1", 0), backlog=n) as listener:
        port = listener.getsockname()[1]

        def barrier() -> None:
            held = [listener.accept()[0] for _ in range(n)]
            for conn in held:
                conn.sendall(b"hello\n")
                conn.close()

        thread = threading.Thread(target=barrier, daemon=True)
        thread.start()
        report = check_targets("barrier", [target("127.0.0.1", port)] * n, CheckOptions(timeout=20))
        thread.join(5)
    assert [o.verdict for o in report.outcomes] == [Verdict.OK] * n


def test_a_conclusive_failure_is_tried_again_at_once_and_decides_when_it_repeats():
    # A close without data is no loss: each attempt starts as soon as the last one ends.
    with StandIn(Behaviour.CLOSE) as edge:
        outcome = probe_and_judge(target("127.0.0.1", edge.port), CheckOptions(timeout=3600, retries=3))
        accepted = edge.accepted
    assert (outcome.verdict, outcome.result.attempts, outcome.result.attempt, accepted) == (
        Verdict.CLOSED_WITHOUT_DATA, 4, 1, 4
    )  # fmt: skip


def test_no_route_is_unreachable_and_a_fact_about_the_client(namespaces):
    # The real command in a fresh network namespace, whose loopback is down: no route to
    # anything (each kind of refusing route, both families, is probed in-process below).
    address = "::1"
    done = subprocess.run(
        ["unshare", "--net", sys.executable, "-m", "tcpreach", "probe", address, "--port", "1848", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    import json

    doc = json.loads(done.stdout)
    assert doc["targets"][0]["verdict"] == "unreachable"
    family = "ipv6" if ":" in address else "ipv4"
    assert [f["code"] for f in doc["findings"]] == [f"client-without-{family}"]


ROUTES = ["link set lo up", "route add blackhole 10.9.9.9/32", "route add prohibit 10.9.9.10/32",
          "route add unreachable 10.9.9.11/32", "-6 route add blackhole fd99:9::9/128"]  # fmt: skip


@pytest.fixture(scope="module")
def routes(namespaces):
    """A namespace of our own whose routes refuse: blackhole, prohibit, unreachable, and
    none at all for the rest (lo is its only interface: nothing can leave it)."""
    name = f"tcpreach-routes-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for route in ROUTES:
            subprocess.run(["ip", "-n", name, *route.split()], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.mark.parametrize(
    ("address", "code"),
    [("10.9.9.9", errno.EINVAL), ("10.9.9.10", errno.EACCES), ("10.9.9.11", errno.EHOSTUNREACH),
     ("10.9.9.12", errno.ENETUNREACH), ("fd99:9::9", errno.EINVAL), ("fd99:9::10", errno.ENETUNREACH)],
    ids=["blackhole", "prohibit", "unreachable", "no-route", "blackhole-v6", "no-route-v6"],
)  # fmt: skip
def test_a_route_of_this_client_that_refuses_is_no_route_not_retried(routes, address, code):
    from netlab.lab import in_namespace

    target = Target(Family.of(address), address, 1848)
    outcome = in_namespace(routes, probe_and_judge, target, CheckOptions(timeout=0.3, retries=2))
    result = outcome.result
    assert (outcome.verdict, result.connected, result.connect_errno, result.no_route, result.connect_timed_out,
            result.attempts) == (Verdict.UNREACHABLE, False, code, True, False, 1)  # fmt: skip


def test_a_target_is_a_literal_address_never_a_name_to_look_up():
    from tcpreach.net.probe import sockaddr

    assert sockaddr(Target(Family.IPV6, "fe80::1%1", 1848)) == ("fe80::1", 1848, 0, 1)
    assert sockaddr(Target(Family.IPV6, "2001:db8::1", 1848)) == ("2001:db8::1", 1848, 0, 0)
    assert sockaddr(Target(Family.IPV4, "192.0.2.1", 1848)) == ("192.0.2.1", 1848)
    for family, name in ((Family.IPV4, "localhost"), (Family.IPV6, "localhost"), (Family.IPV4, "::1")):
        with pytest.raises(socket.gaierror) as refused:
            sockaddr(Target(family, name, 1848))  # /etc/hosts would have an answer for the name
        assert refused.value.errno == socket.EAI_NONAME


def test_the_route_check_records_its_target_and_its_time(routes):
    from netlab.lab import in_namespace
    from tcpreach.net.probe import probe

    where = Target(Family.IPV4, "10.9.9.9", 1848)
    result = in_namespace(routes, lambda: probe(where, CheckOptions(timeout=0.3)))
    assert (result.target, result.connected, result.connect_s, result.ending) == (where, False, None, None)
    assert 0 < result.total_s < 0.3  # no deadline waited: the route said no at once


def test_a_reset_that_connect_itself_reports_is_a_reset_before_any_byte(monkeypatch):
    # gVisor reports an RST that follows the handshake at once as connect()'s error; Linux
    # as a read's (the RESET stand-in in the table above). Both are judged alike.
    from tcpreach.net.probe import probe

    def reset(sock: socket.socket, address: object) -> int:
        return errno.ECONNRESET

    monkeypatch.setattr(socket.socket, "connect_ex", reset)
    where = target("127.0.0.1", 9)
    r = probe(where, CheckOptions(timeout=0.3), check_route=False)
    assert (r.target, r.connected, r.ending, r.received, r.connect_errno, r.no_route, r.connect_timed_out) == (
        where, True, Ending.RESET, b"", None, False, False
    )  # fmt: skip
    assert r.connect_s is not None and r.connect_s == r.total_s and 0 <= r.total_s < 0.3
    outcome = judge(r, Expectation())
    assert (outcome.verdict, outcome.explanation) == (
        Verdict.CLOSED_WITHOUT_DATA, "connected, then reset (RST) before any byte"
    )  # fmt: skip


def test_an_unreachable_answer_without_the_route_check_is_the_paths_not_this_clients(routes):
    # The look-alike: EHOSTUNREACH from connect() alone is what a router's ICMP gives too.
    from netlab.lab import in_namespace
    from tcpreach.net.probe import probe

    result = in_namespace(
        routes, lambda: probe(Target(Family.IPV4, "10.9.9.11", 1848), CheckOptions(timeout=0.3), check_route=False)
    )
    assert (result.connected, result.connect_errno, result.no_route) == (False, errno.EHOSTUNREACH, False)
    assert 0 < result.total_s < 0.3
    # A blackhole's EINVAL comes from this machine whichever way it is found out.
    result = in_namespace(
        routes, lambda: probe(Target(Family.IPV4, "10.9.9.9", 1848), CheckOptions(timeout=0.3), check_route=False)
    )
    assert (result.connected, result.connect_errno, result.no_route) == (False, errno.EINVAL, True)


def test_a_source_address_is_the_one_connected_from(hello_server):
    # 127.0.0.9 is this machine's too (all of 127.0.0.0/8 is loopback)
    options = CheckOptions(retries=0, sources=("127.0.0.9",))
    outcome = probe_and_judge(Target(Family.IPV4, "127.0.0.1", hello_server.port), options)
    assert (outcome.verdict, outcome.result.local_address) == (Verdict.OK, "127.0.0.9")
    # the IPv6 target takes no IPv4 source: the kernel picks
    v6 = probe_and_judge(Target(Family.IPV6, "::1", hello_server.port), options)
    assert (v6.verdict, v6.result.local_address) == (Verdict.OK, "::1")


def test_a_source_that_is_not_this_machines_is_a_fact_about_this_client(hello_server):
    # binding sends nothing: 192.0.2.1 (documentation) is no address of this machine
    options = CheckOptions(retries=0, sources=("192.0.2.1",))
    outcome = probe_and_judge(Target(Family.IPV4, "127.0.0.1", hello_server.port), options)
    assert (outcome.verdict, outcome.result.no_route, outcome.result.connect_errno) == (
        Verdict.UNREACHABLE, True, errno.EADDRNOTAVAIL)  # fmt: skip


def test_one_source_per_family_on_the_command_line(cli):
    done = cli("probe", "127.0.0.1", "--source", "127.0.0.9", "--source", "127.0.0.10")
    assert (done.returncode, done.stderr) == (
        2, "python -m tcpreach probe: error: --source: one address per family, got 127.0.0.9, 127.0.0.10 "
           "(see --help)\n")  # fmt: skip


def test_the_wire_is_kept_only_when_a_transcript_is_asked_for():
    from tcpreach.net.probe import probe

    with StandIn(Behaviour.REPLY) as server:
        where = Target(Family.IPV4, "127.0.0.1", server.port)
        expect = Expectation(b"PONG\r\n", send=b"PING\r\n")
        lean = probe(where, CheckOptions(expectation=expect))
        kept = probe(where, CheckOptions(expectation=expect, transcript=True))
    assert (lean.exchange, lean.received, kept.received) == ((), b"PONG\r\n", b"PONG\r\n")
    assert [(e.event, e.data) for e in kept.exchange] == [("sent", b"PING\r\n"), ("received", b"PONG\r\n")]
    assert 0 < kept.connect_s <= kept.exchange[0].at_s <= kept.exchange[1].at_s
    assert kept.exchange[1].at_s == pytest.approx(kept.first_byte_s, abs=0.001)  # the same moment, read twice

"""Any TCP service, not only hello: banners that keep the connection open, services that
answer a request, and the read that stops as soon as the answer is known (loopback)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tcpreach.check import probe_and_judge
from tcpreach.cli import main
from tcpreach.expectation import Expectation, Match
from tcpreach.model import Ending, Family, Target, Verdict
from tcpreach.options import CheckOptions
from tcpreach.testing.standins import Behaviour, StandIn

pytestmark = pytest.mark.local

ROOT = Path(__file__).resolve().parents[2]
BANNER = b"+OK ready\r\n"
LONG = 30.0  # a deadline the probes below must never wait for


def outcome_of(standin: StandIn, expectation: Expectation, timeout: float = LONG):
    target = Target(Family.of(standin.host), standin.host, standin.port)
    return probe_and_judge(target, CheckOptions(expectation=expectation, timeout=timeout, retries=0))


@pytest.mark.parametrize(
    "expectation",
    [Expectation(b"+OK", Match.PREFIX, keep_open=True), Expectation(rb"^\+OK \w+", Match.REGEX, keep_open=True)],
    ids=["prefix", "regex"],
)
def test_a_banner_that_keeps_the_connection_open_is_ok_without_waiting_for_the_deadline(expectation):
    with StandIn(Behaviour.HOLD, greeting=BANNER) as pop3:
        outcome = outcome_of(pop3, expectation)
    assert (outcome.verdict, outcome.result.received, outcome.result.ending) == (Verdict.OK, BANNER, Ending.STOPPED)


def test_the_same_banner_without_keep_open_is_no_close():
    with StandIn(Behaviour.HOLD, greeting=BANNER) as pop3:
        outcome = outcome_of(pop3, Expectation(b"+OK", Match.PREFIX), timeout=0.3)
    assert (outcome.verdict, outcome.result.ending) == (Verdict.NO_CLOSE, Ending.DEADLINE)


@pytest.mark.parametrize(
    "expectation", [Expectation(b"+OK", Match.PREFIX), Expectation(rb"^\+OK", Match.REGEX)], ids=["prefix", "regex"]
)
def test_a_long_answer_that_meets_the_expectation_then_closes_is_ok_not_no_close(expectation):
    # +OK and 5,000 bytes more, then the close: the read stops at its cap before the close
    with StandIn(Behaviour.HELLO, greeting=b"+OK" + b"x" * 5000) as server:
        outcome = outcome_of(server, expectation)
    assert (outcome.verdict, outcome.result.ending) == (Verdict.OK, Ending.CAPPED)


def test_a_request_gets_its_response():
    with StandIn(Behaviour.REPLY) as service:
        outcome = outcome_of(service, Expectation(b"PONG\r\n", send=b"PING\r\n"))
    assert (outcome.verdict, outcome.result.received, outcome.result.ending) == (Verdict.OK, b"PONG\r\n", Ending.EOF)


def test_a_request_to_a_service_that_keeps_the_connection_open():
    with StandIn(Behaviour.REPLY_HOLD) as redis_like:
        outcome = outcome_of(redis_like, Expectation(b"PONG\r\n", send=b"PING\r\n", keep_open=True))
    assert (outcome.verdict, outcome.result.ending) == (Verdict.OK, Ending.STOPPED)


def test_a_wrong_answer_ends_the_read_at_once_instead_of_at_the_deadline():
    with StandIn(Behaviour.REPLY_HOLD) as service:
        outcome = outcome_of(service, Expectation(b"PONG\r\n", send=b"QUIT\r\n"))
    assert (outcome.verdict, outcome.result.received, outcome.result.ending) == (
        Verdict.WRONG_GREETING,
        b"-ERR unknown command\r\n",
        Ending.STOPPED,
    )


def test_a_wrong_greeting_on_a_held_connection_is_not_waited_out():
    with StandIn(Behaviour.HOLD, greeting=b"SSH-2.0-OpenSSH_9.2\r\n") as ssh:
        outcome = outcome_of(ssh, Expectation())
    assert (outcome.verdict, outcome.result.ending) == (Verdict.WRONG_GREETING, Ending.STOPPED)


def test_a_request_the_server_refuses_to_read_is_judged_by_what_arrived():
    # The server writes its greeting, takes one byte of the request and closes with the
    # rest unread, so its kernel resets the connection while the probe is still writing:
    # the failed write is recorded, not raised, and the greeting already received and the
    # server's close are judged as they arrived.
    with StandIn(Behaviour.READ_ONE) as server:
        outcome = outcome_of(server, Expectation(b"hello\n", send=b"x" * 4_000_000), timeout=5)
    r = outcome.result
    assert (outcome.verdict, r.received, r.ending, r.send_errno) == (
        Verdict.OK,
        b"hello\n",
        Ending.EOF,
        errno.ECONNRESET,
    )


def run(capsys, *args: str) -> tuple[int, dict]:
    code = main(["probe", *args, "--json"])
    out, err = capsys.readouterr()
    assert err == ""
    return code, json.loads(out)


def test_cli_banner_with_expect_prefix_and_keep_open(capsys):
    with StandIn(Behaviour.HOLD, host="::1", greeting=BANNER) as pop3:
        code, doc = run(capsys, f"[::1]:{pop3.port}", "--expect-prefix", "+OK", "--keep-open", "--timeout", "30")
    assert code == 0
    assert [(t["verdict"], t["received"]) for t in doc["targets"]] == [("ok", "+OK ready\\r\\n")]
    assert (doc["expect"], doc["match"], doc["keep_open"], doc["send"]) == ("+OK", "prefix", True, "")
    assert doc["expected"] == "starting with '+OK' (the server may keep the connection open)"


def test_cli_banner_with_expect_regex(capsys):
    with StandIn(Behaviour.HOLD, greeting=BANNER) as pop3:
        code, doc = run(capsys, f"127.0.0.1:{pop3.port}", "--expect-regex", r"^\+OK \w+\r\n", "--keep-open")
    assert code == 0
    assert [t["verdict"] for t in doc["targets"]] == ["ok"]
    assert (doc["expect"], doc["match"]) == ("^\\\\+OK \\\\w+\\\\r\\\\n", "regex")


def test_cli_expect_regex_finds_a_pattern_past_the_start_as_a_user_types_it(capsys):
    with StandIn(Behaviour.HOLD, greeting=BANNER) as pop3:
        code, doc = run(capsys, f"127.0.0.1:{pop3.port}", "--expect-regex", r"ready\r\n$", "--keep-open")
    assert (code, [t["verdict"] for t in doc["targets"]]) == (0, ["ok"])


def test_cli_send_and_expect(capsys):
    with StandIn(Behaviour.REPLY) as service:
        code, doc = run(capsys, f"127.0.0.1:{service.port}", "--send", "PING\\r\\n", "--expect", "PONG\\r\\n")
    assert code == 0
    assert [(t["verdict"], t["received"]) for t in doc["targets"]] == [("ok", "PONG\\r\\n")]


def test_cli_as_a_user_runs_it():
    with StandIn(Behaviour.HOLD, greeting=BANNER) as pop3:
        done = subprocess.run(
            [sys.executable, "-m", "tcpreach", "probe", f"127.0.0.1:{pop3.port}", "--expect-prefix", "+OK",
             "--keep-open"],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0] == (
        f"127.0.0.1 port {pop3.port}, expecting starting with '+OK' (the server may keep the connection open)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--expect", "a", "--send", "b", "--send", "c"],
            "--step: a dialogue ends with what is expected: make the last step an expect",
        ),
        (["--expect-regex", "("], "argument --expect-regex: bad regular expression b'(': missing ), unterminated"),
        (["--expect-prefix", ""], "argument --expect-prefix: the expected bytes are empty"),
        (["--send", "\\q"], "argument --send: bad escape in '\\\\q': unknown escape '\\q' at position 0"),
    ],
)
def test_bad_expectation_flags_are_usage_errors(capsys, args, message):
    code = main(["probe", "127.0.0.1:9", *args])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert message in err
    assert err.count("\n") == 1


def test_version(capsys):
    from tcpreach import __version__

    assert (main(["--version"]), capsys.readouterr().out) == (0, f"python -m tcpreach {__version__}\n")


def test_a_flood_stops_at_the_read_cap():
    with StandIn(Behaviour.FLOOD) as flood:
        outcome = outcome_of(flood, Expectation(rb"never", Match.REGEX))
    r = outcome.result
    assert (outcome.verdict, r.ending, len(r.received)) == (Verdict.WRONG_GREETING, Ending.CAPPED, 4096)


@pytest.mark.parametrize(
    ("expectation", "cap"),
    [(None, 4096), (Expectation(b"hello\n" * 500, Match.PREFIX), 12_000)],
    ids=["no-expectation", "a-long-prefix"],
)
def test_the_read_cap_is_the_minimum_or_four_times_what_is_expected(expectation, cap):
    # Without an expectation (probe() alone) the minimum; with a long one, room to see what
    # follows it. A flood that keeps matching the prefix is read up to the cap exactly.
    from tcpreach.net.probe import probe

    with StandIn(Behaviour.FLOOD, host="127.0.0.1") as flood:
        r = probe(
            Target(Family.IPV4, "127.0.0.1", flood.port), CheckOptions(timeout=3.0, expectation=expectation)
        )  # the cap comes first
    assert (r.ending, r.received) == (Ending.CAPPED, (b"hello\n" * (cap // 6 + 1))[:cap])


def test_the_read_deadline_may_be_shorter_than_the_connect_one():
    from tcpreach.net.probe import probe

    with StandIn(Behaviour.SILENT, host="127.0.0.1") as silent:
        r = probe(Target(Family.IPV4, "127.0.0.1", silent.port), CheckOptions(timeout=3.0), read_timeout=0.2)
    assert (r.connected, r.ending, r.received) == (True, Ending.DEADLINE, b"")
    assert 0.2 <= r.total_s < 1.5, r.total_s


def test_a_request_a_silent_server_never_reads_times_out_within_the_deadline():
    # 16 MB fill the socket buffers of both ends; the write then waits, for the deadline only.
    from tcpreach.net.probe import probe

    with StandIn(Behaviour.SILENT, host="127.0.0.1") as silent:
        where = Target(Family.IPV4, "127.0.0.1", silent.port)
        r = probe(where, CheckOptions(timeout=0.3, expectation=Expectation(send=b"x" * (16 << 20))))
    assert (r.target, r.connected, r.send_errno, r.ending, r.received) == (
        where, True, errno.ETIMEDOUT, Ending.DEADLINE, b""
    )  # fmt: skip


def test_a_trickle_meets_the_whole_read_deadline_not_a_per_byte_one():
    # One byte every 0.2 s forever: a deadline per recv() would never end; the read's does.
    with StandIn(Behaviour.TRICKLE, greeting=b"h") as trickle:
        outcome = outcome_of(trickle, Expectation(b"h" * 10_000), timeout=0.5)
    assert (outcome.verdict, outcome.result.ending) == (Verdict.TRUNCATED, Ending.DEADLINE)
    assert 0 < len(outcome.result.received) < 10_000


def _sockets() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # a descriptor closed meanwhile by another thread
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                found.add(os.readlink(f"/proc/self/fd/{fd}"))
    return found


def test_a_write_that_fails_leaves_no_descriptor_open():
    # The server resets at once; a 4 MiB request cannot be written whole, so the write fails
    # (EPIPE or ECONNRESET). Ten such probes: no socket of theirs is left open after.
    request = Expectation(b"+PONG\r\n", send=b"x" * (4 << 20))
    before = _sockets()
    with StandIn(Behaviour.RESET) as server:
        outcomes = [outcome_of(server, request, timeout=0.5) for _ in range(10)]
    assert {o.result.send_errno for o in outcomes} <= {errno.EPIPE, errno.ECONNRESET}
    assert _sockets() - before == set()  # sockets other threads closed meanwhile do not matter

"""The monitoring-plugin status of reports, on plain data (the report corpus's)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from test_report_corpus import CASES, NO_ROUTE, REFUSED, V4, V6, dns, report, seen

from tcpreach.report.nagios import State, Thresholds, plugin_status
from tests.builders import parse_plugin_output


@pytest.mark.parametrize(
    ("name", "state", "line"),
    [
        ("shared-ipv4", State.CRITICAL,
         "TCPREACH CRITICAL - hello-server.fly.dev CRITICAL: 1 of 2 addresses ok (66.241.125.63 "
         "closed-without-data; fly-shared-ipv4) | 'hello-server.fly.dev 2a09:8280:1::c5:a273:0'=0.017200s;;;0;"),
        ("literal", State.OK, "TCPREACH OK - 127.0.0.1 OK: 1 of 1 addresses ok | '127.0.0.1'=0.017200s;;;0;"),
        ("lossy-path", State.WARNING,
         "TCPREACH WARNING - hello-server.fly.dev WARNING: 2 of 2 addresses ok (lossy-path) | "
         "'hello-server.fly.dev 66.241.125.63'=0.017200s;;;0; 'hello-server.fly.dev 2a09:8280:1::c5:a273:0'"
         "=0.017200s;;;0;"),
        ("nxdomain", State.CRITICAL, "TCPREACH CRITICAL - missing.fly.dev CRITICAL: 0 of 0 addresses ok (nxdomain)"),
    ],
)  # fmt: skip
def test_a_report_as_one_status_line(name, state, line):
    assert plugin_status([CASES[name]()]) == (state, line)


def test_no_route_to_any_address_is_unknown_not_critical():
    # a fact about this client: the plugin cannot say anything of the service
    unreachable = report(dns(), [NO_ROUTE(V4), NO_ROUTE(V6)])
    assert plugin_status([unreachable])[0] is State.UNKNOWN


def test_one_address_without_a_route_beside_one_that_answers_is_ok_with_the_clients_note():
    # this client's missing IPv6 is a note about the client: the service is judged as it could be tested
    state, line = plugin_status([report(dns(), [seen(V4), NO_ROUTE(V6)])])
    assert state is State.OK
    assert line.split(" | ")[0].endswith("1 of 2 addresses ok (note: client-without-ipv6)")


def test_a_real_warning_beside_the_clients_note_is_still_a_warning():  # the look-alike
    healthy = report(dns(), [seen(V4), NO_ROUTE(V6)])
    assert plugin_status([healthy], Thresholds(warning=0.01))[0] is State.WARNING


@pytest.mark.parametrize(
    ("limits", "state"),
    [(Thresholds(), State.OK), (Thresholds(warning=0.01), State.WARNING), (Thresholds(warning=0.01, critical=0.015),
     State.CRITICAL), (Thresholds(warning=0.02, critical=0.03), State.OK)],
)  # fmt: skip
def test_thresholds_on_the_time_to_a_verdict(limits, state):
    # both addresses answered in 17.2 ms
    healthy = report(dns(host="dedicated.fly.dev"), [seen(V4), seen(V6)])
    assert plugin_status([healthy], limits)[0] is state


def test_the_worst_host_decides():
    ok = report(dns(host="dedicated.fly.dev"), [seen(V4), seen(V6)])
    assert plugin_status([ok, CASES["shared-ipv4"]()])[0] is State.CRITICAL
    assert plugin_status([])[0] is State.UNKNOWN


def test_a_quote_in_a_label_cannot_break_the_performance_data():
    odd = dataclasses.replace(CASES["literal"](), host="it's")
    assert plugin_status([odd])[1].endswith("| 'its 127.0.0.1'=0.017200s;;;0;")


@pytest.mark.parametrize(
    ("verdict_case", "limits", "state"),
    [
        ("refused", Thresholds(), State.CRITICAL),
        ("refused", Thresholds(refused=State.WARNING), State.WARNING),
        ("refused", Thresholds(refused=State.OK), State.OK),
        ("wrong", Thresholds(mismatch=State.WARNING), State.WARNING),
        ("wrong", Thresholds(refused=State.WARNING), State.CRITICAL),  # the look-alike: the other mapping
        ("closed", Thresholds(refused=State.OK, mismatch=State.OK), State.CRITICAL),  # never remapped
    ],
)  # fmt: skip
def test_a_refusal_and_an_unexpected_answer_take_the_state_the_user_maps_them_to(verdict_case, limits, state):
    # both addresses alike, so the finding (service-down, failing-targets) explains them alone
    results = {
        "refused": REFUSED,
        "wrong": lambda a: seen(a, b"SSH-2.0-OpenSSH\r\n"),
        "closed": lambda a: seen(a, b""),
    }[verdict_case]
    host = report(dns(host="example.com"), [results(V4), results(V6)])
    assert plugin_status([host], limits)[0] is state


@pytest.mark.parametrize(
    ("limits", "state", "why"),
    [
        (Thresholds(connect=(0.01, None)), State.WARNING, "66.241.125.63 connect 0.012 s > 0.01 s"),
        (Thresholds(connect=(None, 0.01)), State.CRITICAL, "66.241.125.63 connect 0.012 s > 0.01 s"),
        (Thresholds(first_byte=(0.015, None)), State.WARNING, "66.241.125.63 first byte 0.016 s > 0.015 s"),
        (Thresholds(connect=(0.02, 0.03), first_byte=(0.02, 0.03)), State.OK, ""),  # under every threshold
    ],
)
def test_connect_and_first_byte_thresholds(limits, state, why):
    # connected in 12.3 ms, the first byte at 16.1 ms, the verdict at 17.2 ms
    healthy = report(dns(host="dedicated.fly.dev"), [seen(V4)])
    found, line = plugin_status([healthy], limits)
    assert (found, why in line) == (state, True)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("limits", [Thresholds(), Thresholds(warning=0.01, critical=0.5), Thresholds(0.000001, 0.0001),
                                    Thresholds(connect=(0.001, 0.002), first_byte=(None, 0.02))])  # fmt: skip
def test_every_report_follows_the_plugin_guidelines(name, limits):
    state, line = plugin_status([CASES[name]()], limits)
    code, _, data = parse_plugin_output(line + "\n")
    assert code == int(state)
    assert all(d["uom"] == "s" for d in data)
    # each datum carries its own timing's limits: the time to the verdict's, or connect's and first byte's
    limits_of = {"": (limits.warning, limits.critical), "connect": limits.connect, "first byte": limits.first_byte}
    for datum in data:
        timing = next(t for t in ("connect", "first byte", "") if datum["label"].endswith(f" {t}'") or not t)
        assert tuple(float(b) if b else None for b in (datum["warn"], datum["crit"])) == limits_of[timing]
    assert re.search(r"\de-\d", line) is None  # no number in exponent form, text or data


@pytest.mark.parametrize("bad", [
    "TCP OK\n", "TCP OK - x | 'a b=1s\n", "TCP OK - x | a=1parsecs\n", "tcp ok - x\n", "TCP OK - x\nmore\n",
    "TCP OK - x | a=1s;@@1\n",
])  # fmt: skip
def test_the_guidelines_parser_refuses_what_breaks_them(bad):
    if bad == "TCP OK\n":  # the one that is fine: a state with no text is still a status line
        assert parse_plugin_output(bad)[0] == 0
        return
    with pytest.raises(AssertionError):
        parse_plugin_output(bad)


def test_limits_in_whole_seconds_and_zero_are_written_plainly():
    healthy = report(dns(host="dedicated.fly.dev"), [seen(V4), seen(V6)])
    state, line = plugin_status([healthy], Thresholds(warning=0, critical=2))
    assert line.split(" | ")[1] == (
        "'dedicated.fly.dev 66.241.125.63'=0.017200s;0;2;0; 'dedicated.fly.dev 2a09:8280:1::c5:a273:0'=0.017200s;0;2;0;"
    )
    assert parse_plugin_output(line + "\n")[0] == int(state) == 1


def test_a_time_equal_to_its_limit_is_within_it():
    healthy = report(dns(host="dedicated.fly.dev"), [seen(V4), seen(V6)])  # 17.2 ms to each verdict
    assert plugin_status([healthy], Thresholds(warning=0.0172))[0] is State.OK


def test_every_reason_is_kept_and_an_address_is_listed_at_its_worst_level_only():
    state, line = plugin_status([CASES["shared-ipv4"]()], Thresholds(warning=0.01, critical=0.015,
                                                                     connect=(0.001, None)))  # fmt: skip
    assert (state, line.split(" | ")[0]) == (State.CRITICAL, (
        "TCPREACH CRITICAL - hello-server.fly.dev CRITICAL: 1 of 2 addresses ok (66.241.125.63 closed-without-data; "
        "fly-shared-ipv4; 2a09:8280:1::c5:a273:0 0.017 s > 0.015 s; 2a09:8280:1::c5:a273:0 connect 0.012 s > 0.001 s)"
    ))  # fmt: skip
    # a limit on one side only still gives its timing a datum
    assert "'hello-server.fly.dev 2a09:8280:1::c5:a273:0 connect'=0.012300s;0.001;;0;" in line.split(" | ")[1]


def test_several_hosts_are_one_line_and_a_host_with_nothing_to_probe_is_critical():
    empty = dataclasses.replace(CASES["literal"](), host="empty.example", outcomes=(), findings=())
    state, line = plugin_status([CASES["literal"](), empty])
    assert (state, line.split(" | ")[0]) == (State.CRITICAL, "TCPREACH CRITICAL - 127.0.0.1 OK: 1 of 1 addresses ok, "
                                                             "empty.example CRITICAL: 0 of 0 addresses ok")  # fmt: skip

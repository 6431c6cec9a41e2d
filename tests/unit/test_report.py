"""The table and the JSON document, from constructed reports."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpreach.errors import UsageError
from tcpreach.expectation import Expectation, Match, Step, StepKind
from tcpreach.findings import Finding, FindingCode, Severity
from tcpreach.judging.diagnosis import diagnose
from tcpreach.judging.verdict import judge
from tcpreach.model import (
    DnsAnswer,
    DnsStatus,
    Ending,
    Exchange,
    Family,
    HostReport,
    ProbeResult,
    Resolution,
    Source,
    Target,
    TargetOutcome,
    TlsFailure,
    TlsObservation,
    Vantage,
    Verdict,
)
from tcpreach.report.document import SCHEMA_VERSION, dump_report, dump_reports, load_report, load_reports
from tcpreach.report.text import format_report, summary_line
from tcpreach.settings.escapes import escaped, parse_escapes


def sample() -> HostReport:
    resolution = Resolution(
        "hello-server.fly.dev",
        resolver="127.0.0.1:5353",
        dns=(
            DnsAnswer(Family.IPV4, DnsStatus.OK, ("66.241.125.63",)),
            DnsAnswer(Family.IPV6, DnsStatus.OK, ("2a09:8280:1::c5:a273:0",)),
        ),
    )
    v4 = ProbeResult(
        Target(Family.IPV4, "66.241.125.63", 1848, Source.DNS),
        True,
        received=b"",
        ending=Ending.EOF,
        connect_s=0.0123,
        total_s=0.0200,
    )
    v6 = ProbeResult(
        Target(Family.IPV6, "2a09:8280:1::c5:a273:0", 1848, Source.DNS),
        True,
        received=b"hello\n",
        ending=Ending.EOF,
        connect_s=0.010,
        first_byte_s=0.011,
        total_s=0.012,
    )
    outcomes = (judge(v4, b"hello\n"), judge(v6, b"hello\n"))
    return HostReport("hello-server.fly.dev", 1848, Expectation(), resolution, outcomes, diagnose(resolution, outcomes))


def test_json_document_has_the_documented_shape():
    doc = json.loads(json.dumps(dump_report(sample())))
    assert {"host", "port", "expect", "targets", "findings"} <= doc.keys()
    assert doc["expect"] == "hello\\n"
    v4, v6 = doc["targets"]
    assert v4 == {
        "family": "ipv4",
        "address": "66.241.125.63",
        "port": 1848,
        "source": "dns",
        "verdict": "closed-without-data",
        "explanation": "connected, then closed (FIN) before any byte",
        "received": "",
        "timings_ms": {"connect": 12.3, "tls_handshake": None, "first_byte": None, "total": 20.0, "to_verdict": 20.0},
        "attempts": 1,
        "failed_attempts": [],
        "tls": None,
        "observed": {
            "connected": True, "connect_errno": None, "connect_timed_out": False, "no_route": False, "ending": "eof",
            "send_errno": None, "connect_s": 0.0123, "first_byte_s": None, "total_s": 0.02, "elapsed_s": None,
            "attempt": 1, "local_address": None, "step": None, "exchange": [],
        },
    }  # fmt: skip
    assert v6["received"] == "hello\\n"
    assert [f["code"] for f in doc["findings"]] == ["fly-shared-ipv4"]
    assert set(doc["findings"][0]) >= {"code", "message", "remedy"}


def test_table_has_one_row_per_target_then_findings():
    text = format_report(sample())
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("FAMILY"))
    assert lines[header + 1].split()[:5] == ["ipv4", "66.241.125.63", "1848", "dns", "closed-without-data"]
    assert lines[header + 2].split()[:5] == ["ipv6", "2a09:8280:1::c5:a273:0", "1848", "dns", "ok"]
    assert "fix: run 'fly ips allocate-v4'" in text


@given(st.binary(max_size=64))
def test_escaping_round_trips(data):
    assert parse_escapes(escaped(data)) == data


addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
seconds = st.none() | st.floats(0, 3600)
texts = st.text(max_size=12)
maybe_texts = st.none() | texts
targets = st.builds(
    lambda address, port, source: Target(Family.of(address), address, port, source),
    addresses, st.integers(1, 65535), st.sampled_from(Source),
)  # fmt: skip
tls_seen = st.none() | st.builds(
    TlsObservation, maybe_texts, seconds, maybe_texts, maybe_texts, st.lists(texts, max_size=2).map(tuple),
    maybe_texts, st.none() | st.floats(-1e4, 1e4), st.none() | st.sampled_from(TlsFailure), texts,
    st.none() | st.floats(0, 2e9), st.booleans(),
)  # fmt: skip
exchanges = st.lists(
    st.builds(Exchange, st.floats(0, 60), st.sampled_from(["sent", "received", "tls"]), st.binary(max_size=8)),
    max_size=3,
).map(tuple)
errnos = st.none() | st.integers(0, 200)
results = st.builds(
    ProbeResult, targets, st.booleans(), errnos, st.booleans(), st.booleans(), st.binary(max_size=24),
    st.none() | st.sampled_from(Ending), errnos, seconds, seconds, st.floats(0, 3600), st.integers(1, 9), seconds,
    tls_seen, st.integers(1, 9), st.none() | addresses, st.none() | st.integers(1, 12), exchanges,
)  # fmt: skip
findings = st.builds(
    Finding,
    st.sampled_from(FindingCode),
    st.sampled_from(Severity),
    texts,
    texts,
    st.lists(addresses, max_size=2).map(tuple),
)
answers = st.builds(
    DnsAnswer, st.sampled_from(Family), st.sampled_from(DnsStatus), st.lists(addresses, max_size=2).map(tuple),
    texts, st.none() | st.integers(0, 2**31 - 1), st.lists(texts, max_size=2).map(tuple),
)  # fmt: skip
resolutions = st.builds(
    Resolution, texts, st.booleans(), texts, st.lists(answers, max_size=2).map(tuple),
    st.none() | st.lists(addresses, max_size=2).map(tuple), maybe_texts, maybe_texts, maybe_texts, maybe_texts,
)  # fmt: skip
opening = st.lists(st.sampled_from([
    Step(StepKind.SEND, b"EHLO x\r\n"), Step(StepKind.EXPECT, b"+OK", Match.PREFIX), Step(StepKind.STARTTLS),
    Step(StepKind.EXPECT, rb"(?m)^250 ", Match.REGEX, rb"(?m)^5\d\d "), Step(StepKind.EXPECT, b"\x00\xff"),
]), max_size=3).map(tuple)  # fmt: skip
expectations = st.builds(
    Expectation, st.binary(min_size=1, max_size=12), st.sampled_from([Match.EXACT, Match.PREFIX]),
    st.binary(max_size=12), st.booleans(), opening,
) | st.builds(
    Expectation, st.sampled_from([rb"^hello", rb"\+OK \w+", rb"a|b"]), st.just(Match.REGEX),
    st.binary(max_size=12), st.booleans(), opening,
)  # fmt: skip
_reports = st.builds(
    HostReport, texts, st.integers(1, 65535), expectations, resolutions,
    st.lists(st.builds(TargetOutcome, results, st.sampled_from(Verdict), texts), max_size=3).map(tuple),
    st.lists(findings, max_size=3).map(tuple),
    st.none() | st.datetimes(timezones=st.just(UTC)),
    st.none() | st.builds(Vantage, texts, texts, st.lists(st.sampled_from(Family), unique=True).map(tuple),
                          st.lists(st.tuples(st.sampled_from(Family), addresses), max_size=2).map(tuple)),
)  # fmt: skip
reports = st.deferred(lambda: _reports)  # a short repr: hypothesis prints the strategy on failure


@given(reports)
def test_a_report_written_and_read_back_is_the_same_report(report_schema, report):
    doc = json.loads(json.dumps(dump_report(report)))
    assert load_report(doc) == report
    report_schema.validate(doc)


# Each report's round trip is the property above's; this one adds the document around
# them and their order, which 30 examples cover (at CI=true's 200 it took 7 s of the run).
@settings(max_examples=min(settings.default.max_examples, 30))
@given(st.lists(reports, max_size=2))
def test_a_document_of_several_reports_reads_back_in_order(report_schema, several):
    doc = json.loads(json.dumps(dump_reports(several)))
    assert (doc["schema"], load_reports(doc)) == (SCHEMA_VERSION, several)
    report_schema.validate(doc)


def test_a_document_that_is_not_a_report_is_one_usage_error():
    doc = dump_report(sample())
    with pytest.raises(UsageError, match=r"^not a tcpreach report of schema 1 \(schema: 2\)$"):
        load_report({**doc, "schema": 2})
    with pytest.raises(UsageError, match=r"^not a tcpreach report: KeyError: 'targets'$"):
        load_report({k: v for k, v in doc.items() if k != "targets"})
    with pytest.raises(UsageError, match=r"^not a tcpreach report: ValueError: 'maybe' is not a valid Verdict$"):
        load_report({**doc, "targets": [{**doc["targets"][0], "verdict": "maybe"}]})
    with pytest.raises(UsageError, match=r"^not a tcpreach document of schema 1 \(schema: None\)$"):
        load_reports({"reports": [doc]})


def test_every_finding_code_is_what_the_golden_corpora_and_the_file_errors_name():
    """The codes are one closed set: every code a corpus shows is a member, and every member
    is shown by a corpus (the two about unreadable files by the lint's file tests, the two
    that need a live machine by tests/local/test_listeners_netns.py)."""
    root = Path(__file__).resolve().parent
    text = "".join(
        (root / "golden" / name).read_text() for name in ("report.json", "lint.json", "listeners.json", "merge.json")
    )
    shown = set(re.findall(r'"code": "([a-z0-9-]+)"', text))
    shown |= set(re.findall(r'\[\s*"([a-z0-9-]+)",\s*"(?:error|warning|info)"', text))
    # Read from text, a listener never shows IPV6_V6ONLY: the last two come from live machines only.
    assert sorted(set(FindingCode) - shown) == [
        "dockerfile-unusable", "listener-ipv6-only", "listener-ok", "toml-syntax"
    ]  # fmt: skip
    assert sorted(shown - set(FindingCode)) == []


def test_a_hosts_summary_line_counts_its_verdicts_and_names_its_error_codes():
    report = sample()
    assert summary_line(report, passed=False) == (
        "FAILING: hello-server.fly.dev port 1848: 1 closed-without-data, 1 ok (fly-shared-ipv4)"
    )
    healthy = HostReport("a.example", 1848, Expectation(), report.resolution, report.outcomes[1:])
    assert summary_line(healthy, passed=True) == "ok: a.example port 1848: 1 ok"
    empty = HostReport("b.example", 1848, Expectation(), report.resolution)
    assert summary_line(empty, passed=False) == "FAILING: b.example port 1848: no target"


def test_a_document_from_before_the_later_fields_reads_with_their_defaults():
    """Fields added since schema 1 began (CNAMEs, DNS64, local address, dialogue steps and
    exchange, certificate timestamp, insecure mode, failed attempts, vantage sources) may be
    absent: an older document still reads, each with its default."""
    from test_report_corpus import CASES

    full = dataclasses.replace(CASES["tls-not-verified"](), vantage=Vantage("fra", "0.1.0", (Family.IPV4,)))
    doc = json.loads(json.dumps(dump_report(full)))
    for answer in doc["dns"]:
        del answer["cnames"]
    del doc["resolved"]["dns64_prefix"], doc["steps"], doc["vantage"]["sources"]
    for target in doc["targets"]:
        del target["failed_attempts"]
        for key in ("local_address", "step", "exchange"):
            del target["observed"][key]
        if target["tls"] is not None:
            del target["tls"]["expires_at"], target["tls"]["verified"]
    older = load_report(doc)
    assert older.expectation == full.expectation
    assert [o.result for o in older.outcomes] == [
        dataclasses.replace(o.result, local_address=None, step=None, exchange=(),
                            tls=o.result.tls and dataclasses.replace(o.result.tls, expires_at=None, verified=True))
        for o in full.outcomes
    ]  # fmt: skip
    assert [o.failed_attempts for o in older.outcomes] == [()] * len(full.outcomes)
    assert (older.resolution.dns64_prefix, [a.cnames for a in older.resolution.dns], older.vantage.sources) == (
        None, [()] * len(full.resolution.dns), ())  # fmt: skip


def test_a_regex_step_with_a_byte_that_is_not_utf8_reads_back():
    steps = (Step(StepKind.EXPECT, b"^\xff+", Match.REGEX, b"\xfe"), Step(StepKind.SEND, b"x"),
             Step(StepKind.EXPECT, b"ok"))  # fmt: skip
    made = dataclasses.replace(sample(), expectation=Expectation.of_steps(steps, keep_open=True))
    assert load_report(json.loads(json.dumps(dump_report(made)))) == made


def test_an_older_document_keeps_its_keep_open():
    from test_report_corpus import CASES

    kept = CASES["banner-kept-open"]()
    doc = json.loads(json.dumps(dump_report(kept)))
    del doc["steps"]
    assert load_report(doc).expectation == kept.expectation == Expectation(b"+OK", Match.PREFIX, keep_open=True)


@pytest.mark.parametrize(("doc", "message"), [
    ([1, 2], "not a tcpreach report of schema 1 (schema: 'list')"),
    ({"schema": 2}, "not a tcpreach report of schema 1 (schema: 2)"),
])  # fmt: skip
def test_what_is_not_a_report_says_what_it_is(doc, message):
    with pytest.raises(UsageError) as raised:
        load_report(doc)
    assert str(raised.value) == message


def test_documents_of_several_reports_or_one():
    one = sample()
    assert load_reports(dump_report(one)) == [one]
    with pytest.raises(UsageError) as raised:
        load_reports({"schema": 7, "reports": []})
    assert str(raised.value) == "not a tcpreach document of schema 1 (schema: 7)"
    with pytest.raises(UsageError) as raised:
        load_reports([dump_report(one)])
    assert str(raised.value) == "not a tcpreach report of schema 1 (schema: 'list')"


def test_a_report_without_findings_ends_with_its_last_row_and_findings_wrap_at_the_width_given():
    from test_report_corpus import CASES

    bare = dataclasses.replace(sample(), findings=())
    assert format_report(bare).endswith("  66.241.125.63: connected, then closed (FIN) before any byte")
    narrow = format_report(CASES["shared-ipv4"](), 60).splitlines()
    assert max(len(line) for line in narrow if line.startswith(("ERROR", "         "))) <= 60
    empty = dataclasses.replace(CASES["nxdomain"](), host="missing.fly.dev")
    assert max(len(line) for line in format_report(empty, 50).splitlines()[2:]) <= 50


def test_a_summary_counts_each_verdict_and_names_each_error_code_once():
    from test_report_corpus import CASES

    assert summary_line(CASES["a-silent-server-asked-and-twice-refused"](), passed=False) == (
        "FAILING: example.com port 1848: 2 silent, 2 refused (failing-targets)"
    )
    assert summary_line(CASES["wrong-and-truncated-and-extra"](), passed=False) == (
        "FAILING: example.com port 1848: 1 wrong-greeting, 1 truncated, 1 extra-data (failing-targets)"
    )  # three failing-targets findings, one code
    assert summary_line(CASES["suspected-ipv6-refused"](), passed=False) == (
        "FAILING: hello-server.fly.dev port 1848: 1 closed-without-data, 1 refused "
        "(fly-shared-ipv4-suspected, failing-targets)"
    )  # two codes, in the findings' order


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.update(address="not-an-address"), "address 'not-an-address' is not an IP address"),
        (lambda t: t.update(family="ipv6"), "address {address} is not of the family 'ipv6' given beside it"),
        (lambda t: t.update(port="abc"), "port 'abc' is not a port (an integer of 0..65535)"),
        (lambda t: t.update(port=99999), "port 99999 is not a port (an integer of 0..65535)"),
        (lambda t: t.update(port=True), "port True is not a port (an integer of 0..65535)"),
    ],
    ids=["not-an-address", "wrong-family", "port-text", "port-too-big", "port-bool"],
)
def test_load_report_refuses_what_dump_report_could_never_have_written(change, message):
    doc = dump_report(sample())
    target = doc["targets"][0]
    address = target["address"]
    change(target)
    with pytest.raises(UsageError) as raised:
        load_report(doc)
    assert str(raised.value) == f"not a tcpreach report: ValueError: {message.format(address=address)}"

"""``probe``'s streamed output: a fleet's JSON written report by report is the document
``json.dumps`` makes of the whole; an interrupted run says so, in the text and the JSON."""

from __future__ import annotations

import io
import json
import signal
from pathlib import Path

import pytest

from tcpreach.cli.args import EXIT_FAILED, EXIT_OK
from tcpreach.cli.output import ReportWriter
from tcpreach.report.document import dump_report, dump_reports, load_report

GOLDEN = json.loads((Path(__file__).parent / "golden" / "report.json").read_text(encoding="utf-8"))
REPORTS = [load_report(case["json"]) for case in GOLDEN.values()][:3]


def _written(reports, *, as_json, hosts=None, interrupted=None, statuses=None):
    out = io.StringIO()
    writer = ReportWriter(out, len(reports) if hosts is None else hosts, as_json=as_json)
    for report, status in zip(reports, statuses or [EXIT_OK] * len(reports), strict=True):
        writer.write(report, status)
    writer.finish(interrupted, 2.25)
    return out.getvalue()


@pytest.mark.parametrize("count", [1, 2, 3])
def test_json_written_report_by_report_is_the_whole_document(count):
    reports = REPORTS[:count]
    docs = [dump_report(r) for r in reports]
    whole = docs[0] if count == 1 else {**dump_reports(()), "reports": docs}
    assert _written(reports, as_json=True) == json.dumps(whole, indent=2) + "\n"


@pytest.mark.parametrize(
    ("written", "hosts", "expected"),
    [(2, 3, 2), (0, 3, 0), (0, 1, 0)],
    ids=["two-of-three", "none-of-three", "none-of-one"],
)
def test_an_interrupted_json_document_holds_what_was_judged_and_the_signal(written, hosts, expected):
    text = _written(REPORTS[:written], as_json=True, hosts=hosts, interrupted=signal.SIGTERM)
    doc = json.loads(text)
    assert (doc["schema"], len(doc["reports"]), doc["interrupted"]) == (1, expected, "SIGTERM")
    assert doc["reports"] == [dump_report(r) for r in REPORTS[:written]]


def test_an_interrupted_text_run_ends_with_what_it_judged():
    text = _written(REPORTS[:1], as_json=False, hosts=3, interrupted=signal.SIGINT)
    assert text.splitlines()[-1] == "interrupted by SIGINT after 2.2 s: 1 of 3 hosts judged"


def test_a_fleets_text_ends_with_its_counts():
    text = _written(REPORTS[:2], as_json=False, statuses=[EXIT_OK, EXIT_FAILED])
    targets = sum(len(r.outcomes) for r in REPORTS[:2])
    assert text.splitlines()[-1] == f"2 hosts, {targets} targets: 1 hosts ok, 1 failing"


def test_a_fleet_ends_with_its_failing_hosts_each_with_its_deciding_finding_then_the_counts():
    ok, failing = REPORTS[0], REPORTS[1]
    text = _written([ok, failing], as_json=False, statuses=[EXIT_OK, EXIT_FAILED])
    deciding = next(f for f in failing.findings if str(f.severity) == "error")
    targets = len(ok.outcomes) + len(failing.outcomes)
    assert text.splitlines()[-3:] == [
        "failing (1 of 2 hosts):",
        f"  {failing.host}:{failing.port}  {deciding.code}: {deciding.remedy}",
        f"2 hosts, {targets} targets: 1 hosts ok, 1 failing",
    ]

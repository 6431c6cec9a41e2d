"""Is a TCP service reachable over every address, from here?

Resolve a host's A and AAAA records, probe each address, judge each result and diagnose
the deployment (Fly.io's shared-IPv4 trap included)::

    from tcpreach import CheckOptions, Expectation, Match, check_host

    report = check_host("hello-server.fly.dev", CheckOptions(port=1848))
    for outcome in report.outcomes:
        print(outcome.target.label, outcome.verdict, outcome.explanation)
    for finding in report.findings:
        print(finding.code, finding.remedy)

    banner = CheckOptions(port=110, expectation=Expectation(b"+OK", Match.PREFIX, keep_open=True))
    # STARTTLS, a dialogue of steps: from tcpreach.dialogue import dialogue
    smtp = CheckOptions(port=25, expectation=dialogue((), "smtp"), tls=TlsSettings())
    reports = check_hosts([("a.example", CheckOptions()), ("b.example", CheckOptions())])
    merged = merge([load_report(doc) for doc in documents_from_several_vantages])

The same library serves ``python -m tcpreach``, the pytest plugin (``pytest-tcpreach``) and
the Prometheus exporter. Every error it raises on purpose is a ``TcpreachError``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Names are imported on first use (PEP 562), so that importing a submodule, as the pytest
# plugin does in every run, loads nothing else.
_EXPORTS = {
    # checking: one host, a fleet, given targets, one target
    "check_host": "tcpreach.check",
    "check_hosts": "tcpreach.check",
    "check_hosts_async": "tcpreach.check",
    "check_targets": "tcpreach.check",
    "probe_all": "tcpreach.check",
    # what a check is asked: the options, the expectation and dialogues, TLS
    "CheckOptions": "tcpreach.options",
    "TlsSettings": "tcpreach.options",
    "Expectation": "tcpreach.expectation",
    "Match": "tcpreach.expectation",
    "Step": "tcpreach.expectation",
    "StepKind": "tcpreach.expectation",
    # what a check answers: reports, verdicts, findings and their codes
    "HostReport": "tcpreach.model",
    "TargetOutcome": "tcpreach.model",
    "Target": "tcpreach.model",
    "Family": "tcpreach.model",
    "Source": "tcpreach.model",
    "Verdict": "tcpreach.model",
    "Finding": "tcpreach.findings",
    "FindingCode": "tcpreach.findings",
    "Severity": "tcpreach.findings",
    "judge": "tcpreach.judging.verdict",
    "diagnose": "tcpreach.judging.diagnosis",
    # reports as JSON documents, and several vantages' reports merged
    "dump_report": "tcpreach.report.document",
    "dump_reports": "tcpreach.report.document",
    "load_report": "tcpreach.report.document",
    "load_reports": "tcpreach.report.document",
    "merge": "tcpreach.judging.merge",
    # the error every deliberate failure is (UsageError: input a user can fix)
    "TcpreachError": "tcpreach.errors",
    "UsageError": "tcpreach.errors",
}
# The public API; tests/unit/test_layout.py checks that it, _EXPORTS and the names below agree.
__all__ = [
    "CheckOptions",
    "Expectation",
    "Family",
    "Finding",
    "FindingCode",
    "HostReport",
    "Match",
    "Severity",
    "Source",
    "Step",
    "StepKind",
    "Target",
    "TargetOutcome",
    "TcpreachError",
    "TlsSettings",
    "UsageError",
    "Verdict",
    "__version__",
    "check_host",
    "check_hosts",
    "check_hosts_async",
    "check_targets",
    "diagnose",
    "dump_report",
    "dump_reports",
    "judge",
    "load_report",
    "load_reports",
    "merge",
    "probe_all",
]

if TYPE_CHECKING:
    from tcpreach.check import check_host, check_hosts, check_hosts_async, check_targets, probe_all
    from tcpreach.errors import TcpreachError, UsageError
    from tcpreach.expectation import Expectation, Match, Step, StepKind
    from tcpreach.findings import Finding, FindingCode, Severity
    from tcpreach.judging.diagnosis import diagnose
    from tcpreach.judging.merge import merge
    from tcpreach.judging.verdict import judge
    from tcpreach.model import Family, HostReport, Source, Target, TargetOutcome, Verdict
    from tcpreach.options import CheckOptions, TlsSettings
    from tcpreach.report.document import dump_report, dump_reports, load_report, load_reports


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tcpreach' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

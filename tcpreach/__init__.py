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
    # STARTTLS: from tcpreach.dialogue import dialogue
    smtp = CheckOptions(port=25, expectation=dialogue((), "smtp"), tls=TlsSettings())

The same library serves ``python -m tcpreach`` and the pytest plugin (``pytest-tcpreach``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Names are imported on first use (PEP 562), so that importing a submodule, as the pytest
# plugin does in every run, loads nothing else.
_EXPORTS = {
    "CheckOptions": "tcpreach.options",
    "Expectation": "tcpreach.expectation",
    "Match": "tcpreach.expectation",
    "Step": "tcpreach.expectation",
    "StepKind": "tcpreach.expectation",
    "TlsSettings": "tcpreach.options",
    "Family": "tcpreach.model",
    "Finding": "tcpreach.findings",
    "HostReport": "tcpreach.model",
    "Severity": "tcpreach.findings",
    "Source": "tcpreach.model",
    "Target": "tcpreach.model",
    "TargetOutcome": "tcpreach.model",
    "Verdict": "tcpreach.model",
    "check_host": "tcpreach.check",
    "check_hosts": "tcpreach.check",
    "check_targets": "tcpreach.check",
    "probe_all": "tcpreach.check",
    "diagnose": "tcpreach.judging.diagnosis",
    "judge": "tcpreach.judging.verdict",
}
# The public API; tests/unit/test_layout.py checks that it, _EXPORTS and the names below agree.
__all__ = [
    "CheckOptions",
    "Expectation",
    "Family",
    "Finding",
    "HostReport",
    "Match",
    "Severity",
    "Source",
    "Step",
    "StepKind",
    "Target",
    "TargetOutcome",
    "TlsSettings",
    "Verdict",
    "__version__",
    "check_host",
    "check_hosts",
    "check_targets",
    "diagnose",
    "judge",
    "probe_all",
]

if TYPE_CHECKING:
    from tcpreach.check import check_host, check_hosts, check_targets, probe_all
    from tcpreach.expectation import Expectation, Match, Step, StepKind
    from tcpreach.findings import Finding, Severity
    from tcpreach.judging.diagnosis import diagnose
    from tcpreach.judging.verdict import judge
    from tcpreach.model import Family, HostReport, Source, Target, TargetOutcome, Verdict
    from tcpreach.options import CheckOptions, TlsSettings


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tcpreach' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

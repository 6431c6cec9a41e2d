"""Is a TCP service reachable over every address, from here?

Resolve a host's A and AAAA records, probe each address, judge each result and diagnose
the deployment (Fly.io's shared-IPv4 trap included)::

    from tcpreach import CheckOptions, Expectation, check_host

    report = check_host("hello-server.fly.dev", CheckOptions(port=1848))
    for outcome in report.outcomes:
        print(outcome.target.label, outcome.verdict, outcome.explanation)
    for finding in report.findings:
        print(finding.code, finding.remedy)

    banner = CheckOptions(port=110, expectation=Expectation(b"+OK", Match.PREFIX, keep_open=True))

The same library serves ``python -m tcpreach`` and the pytest plugin (``pytest-tcpreach``).
"""

__version__ = "0.2.0"

from tcpreach.check import check_host, check_resolved, check_targets, probe_all
from tcpreach.diagnosis import diagnose
from tcpreach.expectation import Expectation, Match
from tcpreach.model import (
    Family,
    Finding,
    HostReport,
    Severity,
    Source,
    Target,
    TargetOutcome,
    Verdict,
)
from tcpreach.options import CheckOptions
from tcpreach.verdict import judge

__all__ = [
    "CheckOptions",
    "Expectation",
    "Family",
    "Finding",
    "HostReport",
    "Match",
    "Severity",
    "Source",
    "Target",
    "TargetOutcome",
    "Verdict",
    "__version__",
    "check_host",
    "check_resolved",
    "check_targets",
    "diagnose",
    "judge",
    "probe_all",
]

"""Is a TCP greeting service reachable over every address, from here?

Resolve a host's A and AAAA records, probe each address, judge each result and diagnose
the deployment (Fly.io's shared-IPv4 trap included)::

    from connectivity import check_host

    report = check_host("hello-server.fly.dev", port=1848, expect=b"hello\\n")
    for outcome in report.outcomes:
        print(outcome.target.label, outcome.verdict, outcome.explanation)
    for finding in report.findings:
        print(finding.code, finding.remedy)

The same library serves ``python -m connectivity`` and the pytest plugin.
"""

from connectivity.check import check_host, check_targets, probe_all
from connectivity.diagnosis import diagnose
from connectivity.model import Family, Finding, HostReport, Severity, Source, Target, TargetOutcome, Verdict
from connectivity.verdict import judge

__all__ = [
    "Family",
    "Finding",
    "HostReport",
    "Severity",
    "Source",
    "Target",
    "TargetOutcome",
    "Verdict",
    "check_host",
    "check_targets",
    "diagnose",
    "judge",
    "probe_all",
]

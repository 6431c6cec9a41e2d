"""The ``tcpreach`` fixture's object: reports probed once per session, and assertions on
them that fail with the verdict, the diagnosis and the fix."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest

from tcpreach.findings import FindingCode, errors, findings_for
from tcpreach.machine.interfaces import local_addresses
from tcpreach.model import DnsStatus, Family, HostReport, Target, Verdict
from tcpreach.pytest_plugin.state import State
from tcpreach.report.text import failure_message

__all__ = ["RemoteTarget", "Tcpreach"]


@dataclass(frozen=True)
class RemoteTarget:
    """One address of one ``--tcpreach-host``: the value of ``tcpreach_remote_target``."""

    host: str
    target: Target


class Tcpreach:
    """What a test uses: reports (each probed once per session) and assertions on them."""

    def __init__(self, state: State, record: Callable[[str, object], None] | None, rerun: bool = False) -> None:
        self._state = state
        self._record = record
        self._rerun = rerun
        """A rerun (pytest-rerunfailures): it judges the same probe, made once per session."""
        self.settings = state.settings

    def host_report(self, host: str) -> HostReport:
        """The report of a ``--tcpreach-host``: every address probed at once, then diagnosed."""
        return self._state.host_report(host)

    def group_report(self, label: str, targets: Sequence[Target]) -> HostReport:
        """The report of a group of literal targets (say, one local server's addresses)."""
        return self._state.group_report(label, targets)

    def local_report(self, label: str, port: int) -> HostReport:
        """Every local address (loopback in every notation, ``localhost``'s, and with
        ``--tcpreach-local-interfaces`` this machine's interface addresses) at ``port``."""
        addresses = local_addresses(include_interfaces=self.settings.local_interfaces)
        targets = [Target(Family.of(a), a, port) for a in addresses]
        return self.group_report(label, targets)

    def assert_target_ok(self, report: HostReport, target: Target) -> None:
        """Pass on ``ok``; skip a target this client has no route to; xfail the accepted
        shared-IPv4 failure; otherwise fail with the verdict, the diagnosis and the fix."""
        outcome = next((o for o in report.outcomes if o.target == target), None)
        if outcome is None:
            pytest.fail(f"{target.endpoint} is not among the targets of {report.host}", pytrace=False)
        r = outcome.result
        if self._record is not None:
            for key, value in (
                ("family", str(target.family)),
                ("address", target.address),
                ("port", target.port),
                ("verdict", str(outcome.verdict)),
                ("connect_ms", None if r.connect_s is None else round(r.connect_s * 1000, 3)),
                ("first_byte_ms", None if r.first_byte_s is None else round(r.first_byte_s * 1000, 3)),
                ("total_ms", round(r.total_s * 1000, 3)),
                ("attempts", r.attempts),
            ):
                self._record(key, value)
        if outcome.verdict is Verdict.OK:
            return
        message = failure_message(report, outcome)
        if outcome.verdict is Verdict.UNREACHABLE and r.no_route:
            name = "IPv6" if target.family is Family.IPV6 else "IPv4"
            pytest.skip(f"this client has no {name} route to {target.address}: test it from a host with {name}")
        shared = [f for f in findings_for(report.findings, target.address) if f.code == FindingCode.FLY_SHARED_IPV4]
        if shared and self.settings.accept_shared_ipv4:
            pytest.xfail(f"accepted with --tcpreach-accept-shared-ipv4: {message}")
        if self._rerun:
            message += (
                " This rerun judged the same probe as the first run (each target is probed once per session): "
                "to try a target again, use --tcpreach-retries N."
            )
        pytest.fail(message, pytrace=False)

    def assert_dns_has_both_families(self, report: HostReport) -> None:
        """Every family asked for has an answer (skipped for a literal address)."""
        resolution = report.resolution
        if resolution.literal:
            pytest.skip(f"{report.host} is an address: there is no DNS to check")
        wanted = set(self.settings.options.families)
        missing = [
            f"{a.rdtype}: {a.status}{' - ' + a.detail if a.detail else ''}"
            for a in resolution.dns
            if a.family in wanted and a.status is not DnsStatus.OK
        ]
        if resolution.invalid_name or missing:
            found = errors(report.findings) or report.findings
            why = "; ".join(f"{f.code}: {f.message} Fix: {f.remedy}" for f in found)
            pytest.fail(f"DNS for {report.host}: {'; '.join(missing) or resolution.invalid_name}. {why}", pytrace=False)

    def assert_no_failing_finding(self, report: HostReport) -> None:
        """No error finding; with ``--tcpreach-accept-shared-ipv4`` the shared-IPv4 one is
        accepted here (the affected targets' own tests carry it as their expected failure)."""
        failing = errors(report.findings)
        if self.settings.accept_shared_ipv4:
            failing = [f for f in failing if f.code != FindingCode.FLY_SHARED_IPV4]
        if failing:
            pytest.fail(
                f"{report.host}: " + " | ".join(f"{f.code}: {f.message} Fix: {f.remedy}" for f in failing),
                pytrace=False,
            )

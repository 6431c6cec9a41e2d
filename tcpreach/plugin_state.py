"""What the pytest plugin knows during a run: its settings (parsed once, with the source
of any bad value named), the reports it probed, and the ``tcpreach`` fixture's object.

Imported by the plugin only once a run uses it, so an unrelated run pays nothing.
"""

from __future__ import annotations

import base64
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import pytest

from tcpreach.check import check_resolved, check_targets
from tcpreach.diagnosis import FLY_SHARED_IPV4, errors, findings_for
from tcpreach.expectation import Expectation, Match, expected_bytes, regex_bytes, request_bytes
from tcpreach.flylint import LintInputError, predicts_for
from tcpreach.model import DnsStatus, Family, HostReport, Resolution, Target, Verdict
from tcpreach.options import BOTH, DEFAULT_RETRIES, CheckOptions, TlsSettings
from tcpreach.plugin_options import BY_NAME, PREFIX, value_of
from tcpreach.report import failure_message
from tcpreach.targets import (
    UsageError,
    local_addresses,
    parse_ca_file,
    parse_count,
    parse_host,
    parse_port,
    parse_resolver,
    parse_seconds,
    parse_server_name,
)

_FAMILIES = {"4": (Family.IPV4,), "6": (Family.IPV6,), "both": BOTH}
_TRUE = ("1", "true", "yes", "on")
T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """What the run was asked for; ``options`` is what every check of it uses."""

    hosts: tuple[str, ...]
    options: CheckOptions
    retries_given: bool
    accept_shared_ipv4: bool
    json_path: str | None
    fly_toml: Path | None = None
    local_interfaces: bool = False

    def options_for(self, remote: bool, port: int | None = None) -> CheckOptions:
        """Remote hosts retry twice unless told otherwise; local servers do not retry."""
        retries = self.options.retries if self.retries_given else (DEFAULT_RETRIES if remote else 0)
        return replace(self.options, retries=retries, port=port or self.options.port)


def _parsed(config: pytest.Config, name: str, parse: Callable[[str], T]) -> T:
    text, source = value_of(config, name)
    try:
        return parse(str(text))
    except ValueError as exc:
        raise UsageError(f"{BY_NAME[name].flag}: {exc} (from {source})") from None


def _flag(config: pytest.Config, name: str) -> bool:
    value, _ = value_of(config, name)
    return value is True or str(value).lower() in _TRUE


def _family(text: str) -> tuple[Family, ...]:
    if text not in _FAMILIES:
        raise UsageError(f"takes 4, 6 or both, got {text!r}")
    return _FAMILIES[text]


def _expectation(config: pytest.Config) -> Expectation:
    send = _parsed(config, "send", request_bytes)
    keep_open = _flag(config, "keep_open")
    if value_of(config, "expect_regex")[0]:
        return Expectation(_parsed(config, "expect_regex", regex_bytes), Match.REGEX, send, keep_open)
    if value_of(config, "expect_prefix")[0]:
        return Expectation(_parsed(config, "expect_prefix", expected_bytes), Match.PREFIX, send, keep_open)
    return Expectation(_parsed(config, "expect", expected_bytes), Match.EXACT, send, keep_open)


def _tls(config: pytest.Config) -> TlsSettings | None:
    sni, _ = value_of(config, "sni")
    ca, _ = value_of(config, "ca")
    if not _flag(config, "tls"):
        if sni or ca:
            raise UsageError(f"{BY_NAME['sni'].flag} and {BY_NAME['ca'].flag} go with {BY_NAME['tls'].flag}")
        return None

    return TlsSettings(
        server_name=_parsed(config, "sni", parse_server_name) if sni else None,
        ca_file=_parsed(config, "ca", parse_ca_file) if ca else None,
    )


def read_settings(config: pytest.Config) -> Settings:
    hosts, source = value_of(config, "host")
    if isinstance(hosts, str):
        hosts = hosts.replace(",", " ").split()
    for host in hosts:
        try:
            parse_host(host)  # fails early, with the reason, on a malformed host
        except UsageError as exc:
            raise UsageError(f"{BY_NAME['host'].flag}: {exc} (from {source})") from None
    retries_text, _ = value_of(config, "retries")
    retries = _parsed(config, "retries", parse_count) if retries_text else None
    resolver_text, _ = value_of(config, "resolver")
    options = CheckOptions(
        port=_parsed(config, "port", parse_port),
        expectation=_expectation(config),
        families=_parsed(config, "family", _family),
        timeout=_parsed(config, "probe_timeout", lambda t: parse_seconds(t, "the value")),
        dns_lifetime=_parsed(config, "dns_lifetime", lambda t: parse_seconds(t, "the value")),
        retries=retries or 0,
        resolver=_parsed(config, "resolver", parse_resolver) if resolver_text else None,
        tls=_tls(config),
    )
    return Settings(
        hosts=tuple(hosts),
        options=options,
        retries_given=retries is not None,
        accept_shared_ipv4=_flag(config, "accept_shared_ipv4"),
        json_path=config.getoption(f"{PREFIX}_json"),
        fly_toml=_fly_toml(config) if hosts else None,
        local_interfaces=_flag(config, "local_interfaces"),
    )


def _fly_toml(config: pytest.Config) -> Path | None:
    path = Path(str(value_of(config, "fly_toml")[0]))
    if not path.is_absolute():
        path = config.rootpath / path
    return path if path.is_file() else None


@dataclass
class State:
    settings: Settings
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    reports: dict[str, HostReport] = field(default_factory=dict)  # "host TEXT" or "group LABEL TARGETS"

    def resolution(self, host: str) -> Resolution:
        if host not in self.resolutions:
            from tcpreach.resolve import resolve  # dnspython only when a host is given

            s = self.settings.options_for(remote=True)
            self.resolutions[host] = resolve(
                parse_host(host).host, s.families, s.resolver, s.dns_lifetime, resend=s.retries > 0
            )
        return self.resolutions[host]

    def predicted_dedicated_ipv4(self, host: str) -> bool:
        """The fly.toml lint predicts the shared-IPv4 failure for this app's name."""
        path = self.settings.fly_toml
        try:
            return path is not None and predicts_for(path, host)
        except LintInputError:
            return False

    def host_report(self, host: str) -> HostReport:
        key = f"host {host}"  # as given: the same address on two ports is two reports
        if key not in self.reports:
            spec = parse_host(host)
            self.reports[key] = check_resolved(
                self.resolution(host),
                self.settings.options_for(remote=True, port=spec.port),
                predicted_dedicated_ipv4=self.predicted_dedicated_ipv4(spec.host),
            )
        return self.reports[key]

    def group_report(self, label: str, targets: Sequence[Target]) -> HostReport:
        key = f"group {label} {' '.join(t.endpoint for t in targets)}"
        if key not in self.reports:
            self.reports[key] = check_targets(label, targets, self.settings.options_for(remote=False))
        return self.reports[key]

    def every_host_report(self) -> str:
        """All ``--tcpreach-host`` reports, probed here once, packed for the workers."""
        for host in self.settings.hosts:
            self.host_report(host)
        packed = (self.resolutions, {k: r for k, r in self.reports.items() if k.startswith("host ")})
        return base64.b64encode(pickle.dumps(packed)).decode("ascii")

    def take_host_reports(self, packed: str) -> None:
        """A worker's share of the controller's probes: the same targets, the same verdicts."""
        resolutions, reports = pickle.loads(base64.b64decode(packed))  # noqa: S301 - from our own controller
        self.resolutions.update(resolutions)
        self.reports.update(reports)


@dataclass(frozen=True)
class RemoteTarget:
    """One address of one ``--tcpreach-host``: the value of ``tcpreach_remote_target``."""

    host: str
    target: Target


class Tcpreach:
    """What a test uses: reports (each probed once per session) and assertions on them."""

    def __init__(self, state: State, record: Callable[[str, object], None] | None) -> None:
        self._state = state
        self._record = record
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
        shared = [f for f in findings_for(report.findings, target.address) if f.code == FLY_SHARED_IPV4]
        if shared and self.settings.accept_shared_ipv4:
            pytest.xfail(f"accepted with --tcpreach-accept-shared-ipv4: {message}")
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
            failing = [f for f in failing if f.code != FLY_SHARED_IPV4]
        if failing:
            pytest.fail(
                f"{report.host}: " + " | ".join(f"{f.code}: {f.message} Fix: {f.remedy}" for f in failing),
                pytrace=False,
            )

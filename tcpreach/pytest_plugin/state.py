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
from tcpreach.errors import UsageError
from tcpreach.expectation import Expectation, Match, expected_bytes, regex_bytes, request_bytes
from tcpreach.fly.files import LintInputError, predicts_for
from tcpreach.inputs import (
    parse_ca_file,
    parse_count,
    parse_host,
    parse_port,
    parse_resolver,
    parse_seconds,
    parse_server_name,
)
from tcpreach.model import Family, HostReport, Resolution, Target
from tcpreach.options import BOTH, DEFAULT_RETRIES, CheckOptions, TlsSettings
from tcpreach.pytest_plugin.options import BY_NAME, PREFIX, value_of

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
            from tcpreach.net.resolve import resolve  # dnspython only when a host is given

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

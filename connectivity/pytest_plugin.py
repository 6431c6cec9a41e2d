"""pytest plugin: options, parametrization, fixtures and the verdict matrix.

A thin layer over ``connectivity.check``: remote hosts given with ``--host`` are
resolved at collection time and every address becomes a test id
(``test_greeting[ipv6-2a09:8280:1::c5:a273:0]``); each group of targets is probed once,
concurrently, and every test asserts its own target's verdict with the diagnosis as
the failure message. The matrix of all groups is printed once at the end, also under
pytest-xdist (the workers send their reports to the controller).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from connectivity.check import BOTH, check_resolved, check_targets
from connectivity.diagnosis import FLY_SHARED_IPV4, errors, findings_for
from connectivity.flylint import LintInputError, app_name, lint_path, predicts_dedicated_ipv4
from connectivity.model import DnsStatus, Family, HostReport, Resolution, Target, Verdict
from connectivity.probe import DEFAULT_TIMEOUT
from connectivity.report import failure_message, format_document, report_json, unescape
from connectivity.resolve import DEFAULT_LIFETIME, resolve
from connectivity.targets import (
    UsageError,
    local_addresses,
    parse_host,
    parse_port,
    parse_resolver,
    parse_seconds,
    targets_of,
)

NO_HOST_REASON = "give --host HOST (e.g. --host hello-server.fly.dev) to test a deployment"
_FAMILIES = {"4": (Family.IPV4,), "6": (Family.IPV6,), "both": BOTH}
_TRUE = (True, "1", "true", "yes", "on")
_SETTINGS = pytest.StashKey["Settings"]()
_STATE = pytest.StashKey["State"]()


# -- settings: command line > environment > ini > default, read in one place ------------
_OPTIONS: list[tuple[str, str, str, str]] = [
    # (flag, ini name / env suffix, default, help)
    ("--port", "port", "1848", "TCP port of the service (default 1848)"),
    ("--expect", "expect", "hello\\n", r"expected greeting, \n-escapes (default 'hello\n')"),
    ("--resolver", "resolver", "", "IP[:PORT] of the only DNS server to ask (default: the system's)"),
    ("--family", "family", "both", "address families to probe: 4, 6 or both (default both)"),
    ("--probe-timeout", "probe_timeout", str(DEFAULT_TIMEOUT), "connect timeout and read deadline in seconds"),
    ("--dns-lifetime", "dns_lifetime", str(DEFAULT_LIFETIME), "bound on each DNS query in seconds"),
    ("--retries", "retries", "", "retries of a failing probe (default 0 locally, 2 for --host)"),
    ("--fly-toml", "fly_toml", "fly.toml", "fly.toml to lint; its shared-IPv4 prediction is checked live"),
]
_METAVARS = {"port": "PORT", "expect": "TEXT", "resolver": "IP[:PORT]", "family": "4|6|both", "probe_timeout": "S",
             "dns_lifetime": "S", "retries": "N", "fly_toml": "PATH"}  # fmt: skip
_FLAGS: list[tuple[str, str, str]] = [
    ("--accept-shared-ipv4", "accept_shared_ipv4",
     "turn Fly.io's known shared-IPv4 failure into an expected failure (xfail) with the diagnosis as reason"),
    ("--local-interfaces", "local_interfaces",
     "also probe local servers over this machine's interface addresses, not only loopback"),
]  # fmt: skip


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("connectivity", "reachability of a TCP greeting service (connectivity)")
    group.addoption(
        "--host",
        action="append",
        default=[],
        dest="connectivity_host",
        metavar="HOST",
        help="deployed host to verify (repeatable); env CONNECTIVITY_HOST",
    )
    parser.addini("connectivity_host", "hosts to verify with -m remote", type="args", default=[])
    for flag, name, default, text in _OPTIONS:
        group.addoption(
            flag,
            dest=f"connectivity_{name}",
            default=None,
            metavar=_METAVARS[name],
            help=f"{text}; env CONNECTIVITY_{name.upper()}",
        )
        parser.addini(f"connectivity_{name}", text, default=default)
    for flag, name, text in _FLAGS:
        group.addoption(flag, action="store_true", default=None, dest=f"connectivity_{name}",
                        help=f"{text}; env CONNECTIVITY_{name.upper()}=1")  # fmt: skip
        parser.addini(f"connectivity_{name}", text, type="bool", default=False)
    group.addoption(
        "--connectivity-json", dest="connectivity_json", default=None, metavar="PATH", help="write every report as JSON"
    )


@dataclass(frozen=True)
class Settings:
    hosts: tuple[str, ...]
    port: int
    expect: bytes
    resolver: tuple[str, int] | None
    families: tuple[Family, ...]
    probe_timeout: float
    dns_lifetime: float
    retries: int | None
    accept_shared_ipv4: bool
    json_path: str | None
    fly_toml: Path | None = None
    local_interfaces: bool = False

    def retries_for(self, remote: bool) -> int:
        if self.retries is not None:
            return self.retries
        return 2 if remote else 0


def _value(config: pytest.Config, name: str) -> Any:
    cli = config.getoption(f"connectivity_{name}")
    if cli not in (None, [], ""):
        return cli
    env = os.environ.get(f"CONNECTIVITY_{name.upper()}")
    if env:
        return env
    return config.getini(f"connectivity_{name}")


def read_settings(config: pytest.Config) -> Settings:
    hosts = _value(config, "host")
    if isinstance(hosts, str):
        hosts = hosts.replace(",", " ").split()
    family = str(_value(config, "family"))
    if family not in _FAMILIES:
        raise UsageError(f"--family takes 4, 6 or both, got {family!r}")
    retries_text = str(_value(config, "retries"))
    if retries_text and not retries_text.isdigit():
        raise UsageError(f"--retries takes a whole number, got {retries_text!r}")
    resolver_text = str(_value(config, "resolver"))
    accept = _value(config, "accept_shared_ipv4")
    interfaces = _value(config, "local_interfaces")
    try:
        expect = unescape(str(_value(config, "expect")))
    except ValueError as exc:
        raise UsageError(f"--expect: {exc}") from None
    for host in hosts:
        parse_host(host)  # fails early, with the reason, on a malformed host
    return Settings(
        hosts=tuple(hosts),
        port=parse_port(str(_value(config, "port"))),
        expect=expect,
        resolver=parse_resolver(resolver_text) if resolver_text else None,
        families=_FAMILIES[family],
        probe_timeout=parse_seconds(str(_value(config, "probe_timeout")), "--probe-timeout"),
        dns_lifetime=parse_seconds(str(_value(config, "dns_lifetime")), "--dns-lifetime"),
        retries=int(retries_text) if retries_text else None,
        accept_shared_ipv4=accept in _TRUE,
        json_path=config.getoption("connectivity_json"),
        fly_toml=_fly_toml(config),
        local_interfaces=interfaces in _TRUE,
    )


def _fly_toml(config: pytest.Config) -> Path | None:
    path = Path(str(_value(config, "fly_toml")))
    if not path.is_absolute():
        path = config.rootpath / path
    return path if path.is_file() else None


# -- per-process state: resolutions, reports --------------------------------------------
@dataclass
class State:
    settings: Settings
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    reports: dict[object, HostReport] = field(default_factory=dict)  # by host, or (label, targets)

    def resolution(self, host: str) -> Resolution:
        if host not in self.resolutions:
            s = self.settings
            spec = parse_host(host)
            self.resolutions[host] = resolve(spec.host, s.families, s.resolver, s.dns_lifetime)
        return self.resolutions[host]

    def port_of(self, host: str) -> int:
        return parse_host(host).port or self.settings.port

    def predicted_dedicated_ipv4(self, host: str) -> bool:
        """The fly.toml lint predicts the shared-IPv4 failure for this app's name."""
        path = self.settings.fly_toml
        if path is None or host.rstrip(".") != f"{app_name(path)}.fly.dev":
            return False
        try:
            return predicts_dedicated_ipv4(lint_path(path)[0])
        except LintInputError:
            return False

    def host_report(self, host: str) -> HostReport:
        if host not in self.reports:
            s = self.settings
            self.reports[host] = check_resolved(
                self.resolution(host),
                self.port_of(host),
                expect=s.expect,
                families=s.families,
                timeout=s.probe_timeout,
                retries=s.retries_for(remote=True),
                predicted_dedicated_ipv4=self.predicted_dedicated_ipv4(parse_host(host).host),
            )
        return self.reports[host]

    def group_report(self, label: str, targets: Sequence[Target]) -> HostReport:
        key = (label, tuple(targets))
        if key not in self.reports:
            s = self.settings
            self.reports[key] = check_targets(
                label, targets, expect=s.expect, timeout=s.probe_timeout, retries=s.retries_for(remote=False)
            )
        return self.reports[key]


def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = read_settings(config)
    except UsageError as exc:
        raise pytest.UsageError(f"connectivity: {exc}") from None
    config.stash[_SETTINGS] = settings
    config.stash[_STATE] = State(settings)
    config.stash[_COLLECTED] = []


# -- parametrization -------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteTarget:
    host: str
    target: Target


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = metafunc.config.stash[_STATE]
    hosts = state.settings.hosts
    if "remote_host" in metafunc.fixturenames:
        if hosts:
            metafunc.parametrize("remote_host", hosts, ids=list(hosts))
        else:
            metafunc.parametrize("remote_host", [pytest.param(None, marks=pytest.mark.skip(reason=NO_HOST_REASON))],
                                 ids=["no-host"])  # fmt: skip
    if "remote_target" in metafunc.fixturenames:
        params = []
        for host in hosts:
            resolution = state.resolution(host)
            prefix = f"{host}-" if len(hosts) > 1 else ""
            targets = targets_of(resolution, state.port_of(host), state.settings.families)
            params += [pytest.param(RemoteTarget(host, t), id=f"{prefix}{t.label}") for t in targets]
            if not targets:
                reason = f"{host} resolved to no address to probe: see its host-level tests"
                params.append(pytest.param(None, marks=pytest.mark.skip(reason=reason), id=f"{host}-no-address"))
        if not hosts:
            params.append(pytest.param(None, marks=pytest.mark.skip(reason=NO_HOST_REASON), id="no-host"))
        metafunc.parametrize("remote_target", params)
    if "local_address" in metafunc.fixturenames:
        addresses = local_addresses(include_interfaces=state.settings.local_interfaces)
        metafunc.parametrize("local_address", addresses, ids=[f"{Family.of(a)}-{a}" for a in addresses])


# -- fixtures --------------------------------------------------------------------------
class Connectivity:
    """What a test uses: reports (probed once per group) and the assertions on them."""

    def __init__(self, state: State, record: Callable[[str, object], None]) -> None:
        self._state = state
        self._record = record
        self.settings = state.settings

    def host_report(self, host: str) -> HostReport:
        """The report of a ``--host``: every address probed at once, then diagnosed."""
        return self._state.host_report(host)

    def group_report(self, label: str, targets: Sequence[Target]) -> HostReport:
        """The report of a group of literal targets (say, one local server's addresses)."""
        return self._state.group_report(label, targets)

    def local_report(self, label: str, port: int) -> HostReport:
        """Every local address (loopback in every notation, ``localhost``'s, and with
        ``--local-interfaces`` this machine's interface addresses) at ``port``."""
        addresses = local_addresses(include_interfaces=self.settings.local_interfaces)
        targets = [Target(Family.of(a), a, port) for a in addresses]
        return self.group_report(label, targets)

    def assert_target_ok(self, report: HostReport, target: Target) -> None:
        outcome = next((o for o in report.outcomes if o.target == target), None)
        if outcome is None:
            pytest.fail(f"{target.endpoint} is not among the targets of {report.host}", pytrace=False)
        r = outcome.result
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
            pytest.xfail(f"accepted with --accept-shared-ipv4: {message}")
        pytest.fail(message, pytrace=False)

    def assert_dns_has_both_families(self, report: HostReport) -> None:
        resolution = report.resolution
        if resolution.literal:
            pytest.skip(f"{report.host} is an address: there is no DNS to check")
        wanted = set(self.settings.families)
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
        """No error finding; with ``--accept-shared-ipv4`` the shared-IPv4 one is accepted
        here (the affected targets' own tests carry it as their expected failure)."""
        failing = errors(report.findings)
        if self.settings.accept_shared_ipv4:
            failing = [f for f in failing if f.code != FLY_SHARED_IPV4]
        if failing:
            pytest.fail(
                f"{report.host}: " + " | ".join(f"{f.code}: {f.message} Fix: {f.remedy}" for f in failing),
                pytrace=False,
            )


@pytest.fixture
def connectivity(request: pytest.FixtureRequest, record_property: Callable[[str, object], None]) -> Connectivity:
    """Reports and assertions of the connectivity suite; see ``Connectivity``."""
    return Connectivity(request.config.stash[_STATE], record_property)


@pytest.fixture
def connectivity_settings(request: pytest.FixtureRequest) -> Settings:
    return request.config.stash[_SETTINGS]


# -- the matrix, gathered from every worker ----------------------------------------------
_COLLECTED = pytest.StashKey[list[dict[str, Any]]]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    documents = [report_json(r) for r in config.stash[_STATE].reports.values()]
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["connectivity_reports"] = json.dumps(documents)
    else:
        config.stash[_COLLECTED].extend(documents)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {}) or {}
    if "connectivity_reports" in output:
        node.config.stash[_COLLECTED].extend(json.loads(output["connectivity_reports"]))


def _merged(config: pytest.Config) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for doc in config.stash[_COLLECTED]:
        # One table per group even under xdist, where each worker runs its own local servers.
        seen.setdefault(doc["host"], doc)
    return list(seen.values())


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is not None:
        return
    documents = _merged(config)
    path = config.stash[_SETTINGS].json_path
    if path:
        Path(path).write_text(json.dumps({"reports": documents}, indent=2) + "\n", encoding="utf-8")
    if not documents:
        return
    terminalreporter.write_sep("=", "connectivity matrix")
    for doc in documents:
        terminalreporter.write_line(format_document(doc))
        terminalreporter.write_line("")

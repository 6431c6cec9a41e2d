"""pytest plugin ``pytest-tcpreach``: options, parametrization, fixtures and the matrix.

A thin layer over ``tcpreach.check``. It is a guest in every pytest run of the
environment it is installed in, so it owns only names of its own: options
``--tcpreach-*``, ini keys ``tcpreach_*``, environment variables ``TCPREACH_*``, the
fixtures ``tcpreach``, ``tcpreach_settings``, ``tcpreach_remote_host``,
``tcpreach_remote_target`` and ``tcpreach_local_address``, and the markers
``tcpreach_remote`` and ``tcpreach_local`` (applied to the tests it parametrizes). A
project may give itself short spellings with ``add_aliases`` in its own ``conftest.py``.
In a run that does not use it, it does nothing: no DNS, no output, no warning.

Remote hosts given with ``--tcpreach-host`` are resolved once and every address becomes a
test id (``test_greeting[ipv6-2a09:8280:1::c5:a273:0]``); each host is probed once per
session (under pytest-xdist the controller probes and hands the same reports to every
worker), and every test asserts its own target's verdict with the diagnosis as the
failure message. The matrix of all reports is printed once at the end.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tcpreach.check import check_resolved, check_targets
from tcpreach.diagnosis import FLY_SHARED_IPV4, errors, findings_for
from tcpreach.escapes import parse_escapes
from tcpreach.expectation import Expectation, Match
from tcpreach.flylint import LintInputError, app_name, lint_path, predicts_dedicated_ipv4
from tcpreach.model import DnsStatus, Family, HostReport, Resolution, Target, Verdict
from tcpreach.options import BOTH, DEFAULT_LIFETIME, DEFAULT_PORT, DEFAULT_TIMEOUT, CheckOptions
from tcpreach.report import failure_message, format_document, report_json
from tcpreach.targets import (
    UsageError,
    local_addresses,
    parse_host,
    parse_port,
    parse_resolver,
    parse_seconds,
    targets_of,
)

PREFIX = "tcpreach"
ENV_PREFIX = "TCPREACH_"
NO_HOST_REASON = "give --tcpreach-host HOST (e.g. --tcpreach-host hello-server.fly.dev) to test a deployment"
REMOTE_MARKER, LOCAL_MARKER = "tcpreach_remote", "tcpreach_local"
_FAMILIES = {"4": (Family.IPV4,), "6": (Family.IPV6,), "both": BOTH}
_TRUE = ("1", "true", "yes", "on")
_SETTINGS = pytest.StashKey["Settings"]()
_STATE = pytest.StashKey["State"]()
_COLLECTED = pytest.StashKey[dict[str, dict[str, Any]]]()
_WORKER_REPORTS = "tcpreach_reports"
T = TypeVar("T")


@dataclass(frozen=True)
class _Option:
    name: str  # the ini key and environment variable without their prefix; the flag with dashes
    default: str
    metavar: str
    help: str
    kind: str = "value"  # value, flag (store_true), list (append)

    @property
    def flag(self) -> str:
        return f"--{PREFIX}-{self.name.replace('_', '-')}"

    @property
    def dest(self) -> str:
        return f"{PREFIX}_{self.name}"

    @property
    def env(self) -> str:
        return f"{ENV_PREFIX}{self.name.upper()}"


OPTIONS: tuple[_Option, ...] = (
    _Option("host", "", "HOST", "deployed host to verify: name, name:port, address, [v6]:port (repeatable)", "list"),
    _Option("port", str(DEFAULT_PORT), "PORT", f"TCP port of the service (default {DEFAULT_PORT})"),
    _Option("expect", "hello\\n", "TEXT", r"exactly these bytes, escapes \n \r \t \\ \0 \xHH (default 'hello\n')"),
    _Option("expect_prefix", "", "TEXT", "bytes that start with TEXT (a banner such as '+OK'); escapes as --expect"),
    _Option("expect_regex", "", "REGEX", "bytes in which this regular expression (Python re) is found"),
    _Option("send", "", "TEXT", "bytes written right after connecting (a request); escapes as --expect"),
    _Option("keep_open", "", "", "the server need not close: ok as soon as the expectation is met", "flag"),
    _Option("resolver", "", "IP[:PORT]", "the only DNS server to ask (default: the system's)"),
    _Option("family", "both", "4|6|both", "address families to probe (default both)"),
    _Option("probe_timeout", f"{DEFAULT_TIMEOUT:g}", "S", "connect timeout and read deadline in seconds"),
    _Option("dns_lifetime", f"{DEFAULT_LIFETIME:g}", "S", "bound on each DNS query in seconds"),
    _Option("retries", "", "N", "retries of a failing probe (default 0 locally, 2 for hosts)"),
    _Option("fly_toml", "fly.toml", "PATH", "fly.toml to lint; its shared-IPv4 prediction is checked live"),
    _Option("accept_shared_ipv4", "", "", "Fly.io's known shared-IPv4 failure becomes an xfail", "flag"),
    _Option("local_interfaces", "", "", "local tests also probe this machine's interface addresses", "flag"),
)
_BY_NAME = {o.name: o for o in OPTIONS}
JSON_FLAG = f"--{PREFIX}-json"


def _add(adder: Callable[..., Any], flag: str, option: _Option) -> None:
    if option.kind == "flag":
        adder(flag, action="store_true", default=None, dest=option.dest, help=f"{option.help}; env {option.env}=1")
    else:
        action = "append" if option.kind == "list" else "store"
        adder(flag, action=action, default=None, dest=option.dest, metavar=option.metavar,
              help=f"{option.help}; env {option.env}")  # fmt: skip


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(PREFIX, "reachability of a TCP service over every address (pytest-tcpreach)")
    for option in OPTIONS:
        _add(group.addoption, option.flag, option)
        if option.kind == "flag":
            parser.addini(option.dest, option.help, type="bool", default=False)
        elif option.kind == "list":
            parser.addini(option.dest, option.help, type="args", default=[])
        else:
            parser.addini(option.dest, option.help, default=option.default)
    group.addoption(JSON_FLAG, dest=f"{PREFIX}_json", default=None, metavar="PATH", help="write every report as JSON")


def add_aliases(parser: pytest.Parser, aliases: Mapping[str, str]) -> None:
    """Short spellings for a project's own ``conftest.py``: ``{"--host": "host", ...}``.

    Each alias behaves as ``--tcpreach-NAME``; ``"json"`` names ``--tcpreach-json``.
    """
    group = parser.getgroup(PREFIX)
    for flag, name in aliases.items():
        if name == "json":
            group.addoption(flag, dest=f"{PREFIX}_json", default=None, metavar="PATH", help=f"alias of {JSON_FLAG}")
        else:
            option = _BY_NAME[name]
            _add(group.addoption, flag, replace(option, help=f"alias of {option.flag}"))


# -- settings: command line > environment > ini > default, read in one place ------------
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
        retries = self.options.retries if self.retries_given else (2 if remote else 0)
        return replace(self.options, retries=retries, port=port or self.options.port)


def _value(config: pytest.Config, name: str) -> tuple[Any, str]:
    """The value of a setting and where it came from, for error messages."""
    option = _BY_NAME[name]
    cli = config.getoption(option.dest)
    if cli not in (None, [], ""):
        return cli, "the command line"
    env = os.environ.get(option.env)
    if env:
        return env, option.env
    return config.getini(option.dest), f"ini key {option.dest}"


def _parsed(config: pytest.Config, name: str, parse: Callable[[str], T]) -> T:
    text, source = _value(config, name)
    try:
        return parse(str(text))
    except ValueError as exc:
        raise UsageError(f"{_BY_NAME[name].flag}: {exc} (from {source})") from None


def _flag(config: pytest.Config, name: str) -> bool:
    value, _ = _value(config, name)
    return value is True or str(value).lower() in _TRUE


def _family(text: str) -> tuple[Family, ...]:
    if text not in _FAMILIES:
        raise UsageError(f"takes 4, 6 or both, got {text!r}")
    return _FAMILIES[text]


def _retries(text: str) -> int | None:
    if text and not (text.isascii() and text.isdigit()):
        raise UsageError(f"takes a whole number, got {text!r}")
    return int(text) if text else None


def _expectation(config: pytest.Config) -> Expectation:
    send = _parsed(config, "send", parse_escapes)
    keep_open = _flag(config, "keep_open")
    regex, _ = _value(config, "expect_regex")
    if regex:
        return _parsed(config, "expect_regex", lambda t: Expectation(t.encode(), Match.REGEX, send, keep_open))
    prefix, _ = _value(config, "expect_prefix")
    if prefix:
        return _parsed(config, "expect_prefix", lambda t: Expectation(parse_escapes(t), Match.PREFIX, send, keep_open))
    return _parsed(config, "expect", lambda t: Expectation(parse_escapes(t), Match.EXACT, send, keep_open))


def read_settings(config: pytest.Config) -> Settings:
    hosts, source = _value(config, "host")
    if isinstance(hosts, str):
        hosts = hosts.replace(",", " ").split()
    for host in hosts:
        try:
            parse_host(host)  # fails early, with the reason, on a malformed host
        except UsageError as exc:
            raise UsageError(f"{_BY_NAME['host'].flag}: {exc} (from {source})") from None
    retries = _parsed(config, "retries", _retries)
    resolver_text, _ = _value(config, "resolver")
    options = CheckOptions(
        port=_parsed(config, "port", parse_port),
        expectation=_expectation(config),
        families=_parsed(config, "family", _family),
        timeout=_parsed(config, "probe_timeout", lambda t: parse_seconds(t, "the value")),
        dns_lifetime=_parsed(config, "dns_lifetime", lambda t: parse_seconds(t, "the value")),
        retries=retries or 0,
        resolver=_parsed(config, "resolver", parse_resolver) if resolver_text else None,
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
    path = Path(str(_value(config, "fly_toml")[0]))
    if not path.is_absolute():
        path = config.rootpath / path
    return path if path.is_file() else None


# -- per-process state: resolutions, reports --------------------------------------------
@dataclass
class State:
    settings: Settings
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    reports: dict[str, HostReport] = field(default_factory=dict)  # "host TEXT" or "group LABEL TARGETS"

    def resolution(self, host: str) -> Resolution:
        if host not in self.resolutions:
            from tcpreach.resolve import resolve  # dnspython only when a host is given

            s = self.settings.options
            self.resolutions[host] = resolve(parse_host(host).host, s.families, s.resolver, s.dns_lifetime)
        return self.resolutions[host]

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{REMOTE_MARKER}: a test parametrized by pytest-tcpreach over remote targets")
    config.addinivalue_line("markers", f"{LOCAL_MARKER}: a test parametrized by pytest-tcpreach over local addresses")
    try:
        settings = read_settings(config)
    except UsageError as exc:
        raise pytest.UsageError(f"{PREFIX}: {exc}") from None
    state = State(settings)
    packed = (getattr(config, "workerinput", None) or {}).get(_WORKER_REPORTS)
    if packed:
        state.take_host_reports(packed)
    config.stash[_SETTINGS] = settings
    config.stash[_STATE] = state
    config.stash[_COLLECTED] = {}


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, on the controller: resolve and probe once, for every worker."""
    state = node.config.stash[_STATE]
    if state.settings.hosts:
        node.workerinput[_WORKER_REPORTS] = state.every_host_report()


# -- parametrization -------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteTarget:
    """One address of one ``--tcpreach-host``: the value of ``tcpreach_remote_target``."""

    host: str
    target: Target


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    if not {"tcpreach_remote_host", "tcpreach_remote_target", "tcpreach_local_address"} & set(names):
        return
    state = metafunc.config.stash[_STATE]
    hosts = state.settings.hosts
    no_host = pytest.param(None, marks=pytest.mark.skip(reason=NO_HOST_REASON), id="no-host")
    if "tcpreach_remote_host" in names:
        metafunc.parametrize("tcpreach_remote_host", list(hosts) or [no_host], ids=list(hosts) or None)
    if "tcpreach_remote_target" in names:
        params = []
        for host in hosts:
            resolution = state.resolution(host)
            prefix = f"{host}-" if len(hosts) > 1 else ""
            options = state.settings.options_for(remote=True, port=parse_host(host).port)
            targets = targets_of(resolution, options.port, options.families)
            params += [pytest.param(RemoteTarget(host, t), id=f"{prefix}{t.label}") for t in targets]
            if not targets:
                reason = f"{host} resolved to no address to probe: see its host-level tests"
                params.append(pytest.param(None, marks=pytest.mark.skip(reason=reason), id=f"{host}-no-address"))
        metafunc.parametrize("tcpreach_remote_target", params or [no_host])
    if "tcpreach_local_address" in names:
        addresses = local_addresses(include_interfaces=state.settings.local_interfaces)
        metafunc.parametrize("tcpreach_local_address", addresses, ids=[f"{Family.of(a)}-{a}" for a in addresses])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "tcpreach_remote_host" in names or "tcpreach_remote_target" in names:
            item.add_marker(REMOTE_MARKER)
        if "tcpreach_local_address" in names:
            item.add_marker(LOCAL_MARKER)


# -- fixtures --------------------------------------------------------------------------
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


@pytest.fixture
def tcpreach(request: pytest.FixtureRequest) -> Tcpreach:
    """pytest-tcpreach's reports and assertions: ``tcpreach.host_report(host)``,
    ``tcpreach.group_report(label, targets)``, ``tcpreach.local_report(label, port)``,
    ``tcpreach.assert_target_ok(report, target)``, ``tcpreach.assert_no_failing_finding(report)``.

    Each target's family, address, verdict and timings reach ``--junitxml`` as test
    properties where the JUnit family allows them (``xunit1``/``legacy``), and always
    ``--tcpreach-json``."""
    family = str(request.config.getini("junit_family"))
    node = request.node
    record = (lambda key, value: node.user_properties.append((key, value))) if family in ("xunit1", "legacy") else None
    return Tcpreach(request.config.stash[_STATE], record)


@pytest.fixture
def tcpreach_settings(request: pytest.FixtureRequest) -> Settings:
    """The run's pytest-tcpreach settings (``.options`` is the ``CheckOptions`` used)."""
    return request.config.stash[_SETTINGS]


@pytest.fixture
def tcpreach_remote_host() -> None:
    """Each ``--tcpreach-host`` in turn (a test using it is parametrized; without a host
    it is skipped with the reason)."""
    pytest.skip(NO_HOST_REASON)


@pytest.fixture
def tcpreach_remote_target() -> None:
    """Each resolved address of each ``--tcpreach-host``, a ``RemoteTarget(host, target)``
    with ids such as ``ipv6-2a09:8280:1::c5:a273:0``."""
    pytest.skip(NO_HOST_REASON)


@pytest.fixture
def tcpreach_local_address() -> None:
    """Each local address a server on this machine should answer on: 127.0.0.1, ::1,
    ::ffff:127.0.0.1, ``localhost``'s, and with ``--tcpreach-local-interfaces`` the
    interface addresses."""
    pytest.skip("parametrized by pytest-tcpreach")


# -- the matrix, gathered from every worker ----------------------------------------------
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    documents = {key: report_json(r) for key, r in config.stash[_STATE].reports.items()}
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_REPORTS] = json.dumps(documents)
    else:
        _gather(config, documents)


def _gather(config: pytest.Config, documents: Mapping[str, dict[str, Any]]) -> None:
    """Keep every report; one per key, so a group probed by each worker shows once
    (every worker starts its own local servers, on ports of its own)."""
    collected = config.stash[_COLLECTED]
    for key, doc in documents.items():
        collected.setdefault(key if key.startswith("host ") else f"group {doc['host']}", doc)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {}) or {}
    if _WORKER_REPORTS in output:
        _gather(node.config, json.loads(output[_WORKER_REPORTS]))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is not None or _COLLECTED not in config.stash:
        return
    documents = list(config.stash[_COLLECTED].values())
    path = config.stash[_SETTINGS].json_path
    if path:
        Path(path).write_text(json.dumps({"reports": documents}, indent=2) + "\n", encoding="utf-8")
    if not documents:
        return
    terminalreporter.write_sep("=", "tcpreach matrix")
    for doc in documents:
        terminalreporter.write_line(format_document(doc))
        terminalreporter.write_line("")

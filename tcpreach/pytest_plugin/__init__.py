"""pytest plugin ``pytest-tcpreach``: options, parametrization, fixtures and the matrix.

A thin layer over ``tcpreach.check``. It is a guest in every pytest run of the
environment it is installed in, so it owns only names of its own: options
``--tcpreach-*``, ini keys ``tcpreach_*``, environment variables ``TCPREACH_*``, the
fixtures ``tcpreach``, ``tcpreach_settings``, ``tcpreach_remote_host``,
``tcpreach_remote_target`` and ``tcpreach_local_address``, and the markers
``tcpreach_remote`` and ``tcpreach_local`` (applied to the tests it parametrizes). A
project may give itself short spellings with ``add_aliases`` in its own ``conftest.py``.
In a run that does not use it, it does nothing: no DNS, no output, no warning, and the
library behind it is not even imported.

Remote hosts given with ``--tcpreach-host`` are resolved once and every address becomes a
test id (``test_greeting[ipv6-2a09:8280:1::c5:a273:0]``); each host is probed once per
session (under pytest-xdist the controller probes and hands the same reports to every
worker), and every test asserts its own target's verdict with the diagnosis as the
failure message. The matrix of all reports is printed once at the end.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tcpreach.pytest_plugin.options import add_aliases, add_options, anything_set
from tcpreach.settings import PREFIX

if TYPE_CHECKING:
    from tcpreach.model import HostReport
    from tcpreach.pytest_plugin.fixture import Tcpreach
    from tcpreach.pytest_plugin.state import Settings, State

__all__ = ["add_aliases"]

NO_HOST_REASON = "give --tcpreach-host HOST (e.g. --tcpreach-host hello-server.fly.dev) to test a deployment"
REMOTE_MARKER, LOCAL_MARKER = "tcpreach_remote", "tcpreach_local"
_OUR_ARGUMENTS = frozenset({"tcpreach_remote_host", "tcpreach_remote_target", "tcpreach_local_address"})
_STATE = pytest.StashKey["State"]()
_COLLECTED = pytest.StashKey[dict[str, "HostReport"]]()
_WORKER_REPORTS = "tcpreach_reports"
_SHARED = "tcpreach_shared"
_SHARED_DIR = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{REMOTE_MARKER}: a test parametrized by pytest-tcpreach over remote targets")
    config.addinivalue_line("markers", f"{LOCAL_MARKER}: a test parametrized by pytest-tcpreach over local addresses")
    config.stash[_COLLECTED] = {}
    shared = (getattr(config, "workerinput", None) or {}).get(_SHARED)
    if anything_set(config) or shared:
        state = _state(config)  # bad settings are a usage error now, not in the middle of a run
        if shared:
            state.shared = Path(shared)


def _state(config: pytest.Config) -> State:
    """The run's state, made on first use: a run that never uses the plugin never pays."""
    if _STATE not in config.stash:
        from tcpreach.errors import UsageError
        from tcpreach.pytest_plugin.state import State, read_settings

        try:
            settings = read_settings(config)
        except UsageError as exc:
            raise pytest.UsageError(f"{PREFIX}: {exc}") from None
        config.stash[_STATE] = State(settings)
    return config.stash[_STATE]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, on the controller: a folder the workers share, where the first one
    that needs the hosts resolves and probes them for all (nothing is sent when none does)."""
    config = node.config
    if _STATE in config.stash and config.stash[_STATE].settings.hosts:
        if _SHARED_DIR not in config.stash:
            config.stash[_SHARED_DIR] = tempfile.mkdtemp(prefix="tcpreach-hosts-")
        node.workerinput[_SHARED] = config.stash[_SHARED_DIR]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = set(metafunc.fixturenames) & _OUR_ARGUMENTS
    if not names:
        return
    from tcpreach.judging.targets import targets_of
    from tcpreach.machine.interfaces import local_addresses
    from tcpreach.model import Family
    from tcpreach.pytest_plugin.fixture import RemoteTarget
    from tcpreach.settings.inputs import parse_host

    state = _state(metafunc.config)
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


@pytest.fixture
def tcpreach(request: pytest.FixtureRequest) -> Tcpreach:
    """pytest-tcpreach's reports and assertions: ``tcpreach.host_report(host)``,
    ``tcpreach.group_report(label, targets)``, ``tcpreach.local_report(label, port)``,
    ``tcpreach.assert_target_ok(report, target)``, ``tcpreach.assert_no_failing_finding(report)``.

    Each target's family, address, verdict and timings reach ``--junitxml`` as test
    properties where the JUnit family allows them (``xunit1``/``legacy``), and always
    ``--tcpreach-json``."""
    from tcpreach.pytest_plugin.fixture import Tcpreach

    family = str(request.config.getini("junit_family"))
    node = request.node
    record = (lambda key, value: node.user_properties.append((key, value))) if family in ("xunit1", "legacy") else None
    rerun = getattr(node, "execution_count", 1) > 1  # pytest-rerunfailures counts a test's runs
    return Tcpreach(_state(request.config), record, rerun)


@pytest.fixture
def tcpreach_settings(request: pytest.FixtureRequest) -> Settings:
    """The run's pytest-tcpreach settings (``.options`` is the ``CheckOptions`` used)."""
    return _state(request.config).settings


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


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if _SHARED_DIR in config.stash:
        shutil.rmtree(config.stash[_SHARED_DIR], ignore_errors=True)
    if _STATE not in config.stash:
        return
    from tcpreach.report.document import dump_report

    documents = {key: dump_report(r) for key, r in config.stash[_STATE].reports.items()}
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_REPORTS] = json.dumps(documents)
    else:
        _gather(config, config.stash[_STATE].reports)


def _gather(config: pytest.Config, reports: Mapping[str, HostReport]) -> None:
    """Keep every report; one per key, so a group probed by each worker shows once
    (every worker starts its own local servers, on ports of its own)."""
    collected = config.stash[_COLLECTED]
    for key, report in reports.items():
        collected.setdefault(key if key.startswith("host ") else f"group {report.host}", report)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {}) or {}
    if _WORKER_REPORTS in output:
        from tcpreach.report.document import load_report

        documents = json.loads(output[_WORKER_REPORTS])
        _gather(node.config, {key: load_report(doc) for key, doc in documents.items()})


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is not None or _COLLECTED not in config.stash:
        return
    reports = list(config.stash[_COLLECTED].values())
    path = config.getoption(f"{PREFIX}_json")
    if path or reports:
        from tcpreach.report.document import dump_reports
        from tcpreach.report.text import format_report

    if path:
        Path(path).write_text(json.dumps(dump_reports(reports), indent=2) + "\n", encoding="utf-8")
    if not reports:
        return
    terminalreporter.write_sep("=", "tcpreach matrix")
    for report in reports:
        terminalreporter.write_line(format_report(report))
        terminalreporter.write_line("")

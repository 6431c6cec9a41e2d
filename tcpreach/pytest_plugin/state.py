"""What the pytest plugin knows during a run: its settings (parsed once, with the source
of any bad value named), the reports it probed, and the ``tcpreach`` fixture's object.

Imported by the plugin only once a run uses it, so an unrelated run pays nothing.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import pytest

from tcpreach.check import HostCheck, check_resolutions, check_targets, resolve_all
from tcpreach.expectation import Expectation
from tcpreach.fly.files import LintInputError, predicts_for
from tcpreach.model import HostReport, Resolution, Target
from tcpreach.options import DEFAULT_RETRIES, CheckOptions
from tcpreach.pytest_plugin import options as plugin_options
from tcpreach.pytest_plugin.options import PLUGIN_SETTINGS
from tcpreach.report.document import dump_report, load_report
from tcpreach.settings import BY_NAME, CONFIG, PREFIX, Setting
from tcpreach.settings.config import load_config, options_from, parsed
from tcpreach.settings.inputs import parse_host

__all__ = ["Settings", "State", "read_settings"]

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


def read_settings(config: pytest.Config) -> Settings:
    """The run's settings from the command line, the environment, the ini file and the
    configuration file (in that order of precedence); a bad value is a ``UsageError``
    naming the option and where it came from."""
    given = plugin_options.given(config)
    config_file = plugin_options.value_of(config, CONFIG.name)
    if config_file is not None:
        path = Path(str(config_file.value))
        from_file = load_config(path if path.is_absolute() else config.rootpath / path)
        given = {**{k: v for k, v in from_file.items() if BY_NAME[k] in PLUGIN_SETTINGS}, **given}
    values = parsed(given, _plugin_flag)
    hosts: tuple[str, ...] = values.get("host", ())
    return Settings(
        hosts=hosts,
        options=options_from({**values, "retries": values.get("retries", 0)}, _plugin_flag),
        retries_given="retries" in values,
        accept_shared_ipv4=bool(values.get("accept_shared_ipv4")),
        json_path=config.getoption(f"{PREFIX}_json"),
        fly_toml=_fly_toml(config, values.get("fly_toml") or str(BY_NAME["fly_toml"].default)) if hosts else None,
        local_interfaces=bool(values.get("local_interfaces")),
    )


def _plugin_flag(setting: Setting) -> str:
    return setting.plugin_flag


def _fly_toml(config: pytest.Config, text: str) -> Path | None:
    path = Path(text)
    if not path.is_absolute():
        path = config.rootpath / path
    return path if path.is_file() else None


@dataclass
class State:
    settings: Settings
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    reports: dict[str, HostReport] = field(default_factory=dict)
    """Keyed ``host TEXT`` (a ``--tcpreach-host`` as given) or ``group LABEL TARGETS``."""
    shared: Path | None = None
    """Under xdist, a folder of the run's: the first worker that needs the hosts' addresses
    (to collect) resolves them all, the first that needs their reports probes them all, and
    every other worker reads what it wrote. A run whose tests need neither sends nothing."""
    _shared_read: set[str] = field(default_factory=set)
    cut_short: str | None = None
    """Why an earlier test's probe did not end (pytest-timeout's alarm, say): the hosts are
    not probed again for every later test, each of which would be cut short the same way."""

    def _shared_file(self, name: str, make: Callable[[], str]) -> str | None:
        """The shared file ``name``: read, or made by ``make`` under a lock; ``None`` when
        this run is not distributed, or this worker has read it already."""
        if self.shared is None or name in self._shared_read:
            return None
        self._shared_read.add(name)
        path = self.shared / name
        with (self.shared / f"{name}.lock").open("w") as lock:  # one each: hosts.json's maker reads the other
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists():
                path.write_text(make(), encoding="utf-8")
            return path.read_text(encoding="utf-8")

    def _every_resolution(self) -> str:
        docs = {}
        for host in self.settings.hosts:
            resolution = self.resolution(host)
            docs[host] = dump_report(HostReport(resolution.host, 0, Expectation(), resolution))
        return json.dumps(docs)

    def resolution(self, host: str) -> Resolution:
        """The host's resolution; the first one asked resolves every host of the run at once."""
        packed = self._shared_file("resolutions.json", self._every_resolution)
        if packed is not None:
            for name, doc in json.loads(packed).items():
                self.resolutions.setdefault(name, load_report(doc).resolution)
        if host not in self.resolutions:
            wanted = [h for h in dict.fromkeys((*self.settings.hosts, host)) if h not in self.resolutions]
            options = self.settings.options_for(remote=True)
            found = resolve_all([(parse_host(h).host, options) for h in wanted])
            self.resolutions.update(zip(wanted, found, strict=True))
        return self.resolutions[host]

    def predicted_dedicated_ipv4(self, host: str) -> bool:
        """The fly.toml lint predicts the shared-IPv4 failure for this app's name."""
        path = self.settings.fly_toml
        try:
            return path is not None and predicts_for(path, host)
        except LintInputError:
            return False

    def host_report(self, host: str) -> HostReport:
        """The host's report; the first one asked probes every host of the run at once, all
        their targets in one engine run."""
        key = f"host {host}"  # as given: the same address on two ports is two reports
        packed = self._shared_file("hosts.json", self.every_host_report)
        if packed is not None:
            self.take_host_reports(packed)
        if key not in self.reports:
            wanted = [h for h in dict.fromkeys((*self.settings.hosts, host)) if f"host {h}" not in self.reports]
            checks = [
                HostCheck(
                    self.resolution(h),
                    self.settings.options_for(remote=True, port=parse_host(h).port),
                    self.predicted_dedicated_ipv4(parse_host(h).host),
                )
                for h in wanted
            ]
            for h, report in zip(wanted, self._probed(lambda: check_resolutions(checks)), strict=True):
                self.reports[f"host {h}"] = report
        return self.reports[key]

    def _probed(self, probe: Callable[[], T]) -> T:
        if self.cut_short is not None:
            pytest.fail(
                f"tcpreach: not probed again: an earlier test's probe was cut short ({self.cut_short}); give the "
                "tests more time, or the probes less (--tcpreach-probe-timeout, --tcpreach-dns-lifetime)",
                pytrace=False,
            )
        try:
            return probe()
        except BaseException as exc:
            self.cut_short = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise

    def group_report(self, label: str, targets: Sequence[Target]) -> HostReport:
        key = f"group {label} {' '.join(t.endpoint for t in targets)}"
        if key not in self.reports:
            options = self.settings.options_for(remote=False)
            self.reports[key] = self._probed(lambda: check_targets(label, targets, options))
        return self.reports[key]

    def every_host_report(self) -> str:
        """All ``--tcpreach-host`` reports, probed here once, as JSON for the workers."""
        if self.settings.hosts:
            self.host_report(self.settings.hosts[0])
        hosts = {key: dump_report(r) for key, r in self.reports.items() if key.startswith("host ")}
        return json.dumps(hosts)

    def take_host_reports(self, packed: str) -> None:
        """A worker's share of the controller's probes: the same targets, the same verdicts."""
        for key, doc in json.loads(packed).items():
            report = load_report(doc)
            self.reports[key] = report
            self.resolutions[key.removeprefix("host ")] = report.resolution

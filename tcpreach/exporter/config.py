"""The exporter's configuration file (TOML), read once at start.

::

    max_concurrent = 32        # probes at once; a scrape beyond that gets 503
    timeout_offset = 0.5       # seconds kept from Prometheus's scrape timeout

    [allow]
    hosts = ["hello-server.fly.dev", "*.example.org"]
    networks = ["192.0.2.0/24", "2001:db8::/32"]

    [modules.hello]            # the settings table's keys (as in probe --config)
    port = 1848
    expect = 'hello\\n'

    [modules.tls]
    tls = true
    port = 443

Every module's settings are checked as ``probe --config`` checks them; any problem is one
``UsageError`` naming ``FILE:LINE``, before the exporter listens.
"""

from __future__ import annotations

import ipaddress
import resource
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tcpreach.engine import MAX_SLOTS
from tcpreach.errors import UsageError
from tcpreach.exporter.policy import Allowance, Network
from tcpreach.options import CheckOptions
from tcpreach.settings import Setting
from tcpreach.settings.config import line_of, options_from, parsed, read_toml, settings_of
from tcpreach.settings.inputs import hostname_problem, parse_count, parse_seconds

__all__ = ["DEFAULT_MAX_CONCURRENT", "DEFAULT_TIMEOUT_OFFSET", "ExporterConfig", "load_exporter_config"]

DEFAULT_MAX_CONCURRENT = 32
DEFAULT_TIMEOUT_OFFSET = 0.5
NOT_MODULE_SETTINGS = frozenset({"host", "fly_toml", "accept_shared_ipv4", "vantage", "local_interfaces"})
"""Settings of a run, not of a probe: the target comes with each scrape."""
_TOP = ("max_concurrent", "timeout_offset", "allow", "modules")


@dataclass(frozen=True)
class ExporterConfig:
    modules: Mapping[str, CheckOptions]
    allowance: Allowance = field(default_factory=Allowance)
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    timeout_offset: float = DEFAULT_TIMEOUT_OFFSET
    source: str = ""
    """The file it was read from."""


class _File:
    """A TOML file's path and lines, to name ``FILE:LINE`` in every error."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path, self.lines = path, lines

    def where(self, key: str) -> str:
        line = line_of(self.lines, key)
        return f"{self.path}:{line}" if line else str(self.path)

    def fail(self, key: str, problem: str) -> UsageError:
        return UsageError(f"{self.where(key)}: {problem}")


def _strings(file: _File, table: Mapping[str, Any], key: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise file.fail(key, f"allow.{key} takes a list of strings, got {value!r}")
    return value


def _allowance(file: _File, table: Any) -> Allowance:
    if table is None:
        raise UsageError(f"{file.path}: no [allow] table: the exporter probes only what it lists, e.g. "
                         '[allow] hosts = ["*.example.org"], networks = ["192.0.2.0/24"]')  # fmt: skip
    if not isinstance(table, Mapping):
        raise file.fail("allow", "[allow] must be a table: hosts = [...], networks = [...]")
    unknown = sorted(set(table) - {"hosts", "networks"})
    if unknown:
        raise file.fail(unknown[0], f"allow.{unknown[0]} is not known: allow takes hosts and networks")
    hosts = _strings(file, table, "hosts")
    for host in hosts:
        name = host.removeprefix("*.").rstrip(".")
        problem = hostname_problem(name) if name and "*" not in name else "it is empty or has a '*' inside"
        if problem is not None:
            raise file.fail("hosts", f"allow.hosts: {host!r} is no host name or *.pattern: {problem}")
    networks: list[Network] = []
    for text in _strings(file, table, "networks"):
        try:
            networks.append(ipaddress.ip_network(text, strict=True))
        except ValueError as exc:
            raise file.fail("networks", f"{text!r} is no network: {exc}") from None
    if not hosts and not networks:
        raise file.fail("allow", "[allow] allows nothing: list hosts = [...] or networks = [...]")
    return Allowance(tuple(hosts), tuple(networks))


def _module(file: _File, name: str, table: Any) -> CheckOptions:
    if not isinstance(table, Mapping):
        raise file.fail(name, f"modules.{name} must be a table of settings")
    given = settings_of(table, file.path, file.lines)
    for key in sorted(set(given) & NOT_MODULE_SETTINGS):
        raise UsageError(f"{given[key].source}: {key} is not a module setting (the target comes with each scrape)")

    def label(setting: Setting) -> str:
        return f"modules.{name}.{setting.key}"

    return options_from(parsed(given, label), label)


def _number(file: _File, table: Mapping[str, Any], key: str, parse: Any, default: Any) -> Any:
    if key not in table:
        return default
    try:
        return parse(str(table[key]))
    except UsageError as exc:
        raise file.fail(key, f"{key}: {exc}") from None


SOCKETS_PER_PROBE = 8
"""What one scrape's probe may hold open at once: a few addresses, hedged attempts, DNS."""


def most_concurrent() -> int:
    """The most probes the open-file limit (its hard limit, which the engine raises to) and
    the engine's own cap leave room for."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    files = MAX_SLOTS if hard == resource.RLIM_INFINITY else min(MAX_SLOTS, hard - 64)
    return max(1, files // SOCKETS_PER_PROBE)


def load_exporter_config(path: Path) -> ExporterConfig:
    """The configuration in ``path``. Raises ``UsageError`` naming ``FILE:LINE``."""
    table, lines = read_toml(path, "the exporter's TOML configuration")
    file = _File(path, lines)
    unknown = sorted(set(table) - set(_TOP))
    if unknown:
        raise file.fail(unknown[0], f"{unknown[0]!r} is not known here: the keys are {', '.join(_TOP)}")
    modules = table.get("modules")
    if not isinstance(modules, Mapping) or not modules:
        raise UsageError(f"{path}: no module: add one, e.g. [modules.hello] with port = 1848")
    max_concurrent = _number(file, table, "max_concurrent", parse_count, DEFAULT_MAX_CONCURRENT)
    most = most_concurrent()
    if not 1 <= max_concurrent <= most:
        raise file.fail(
            "max_concurrent", f"max_concurrent must be 1 to {most:,} (each probe may hold {SOCKETS_PER_PROBE} sockets "
            f"and the open-file limit allows {most * SOCKETS_PER_PROBE:,}), got {max_concurrent:,}",
        )  # fmt: skip
    return ExporterConfig(
        modules={name: _module(file, name, own) for name, own in modules.items()},
        allowance=_allowance(file, table.get("allow")),
        max_concurrent=max_concurrent,
        timeout_offset=_number(file, table, "timeout_offset", lambda t: parse_seconds(t, "timeout_offset"), 0.5),
        source=str(path),
    )

"""A fleet in a file: the hosts of one run, each with the settings it overrides.

Two forms. A plain list, one ``host[:port]`` a line, ``#`` starting a comment::

    hello-server.fly.dev
    [2a09:8280:1::c5:a273:0]:1848   # the IPv6 alone
    mail.example.com:110

Or a TOML file (``.toml``) of the settings table: settings for every host at the top,
``host = [...]`` for hosts with nothing of their own, and a table per host that needs its
own settings::

    probe_timeout = 2
    host = ["hello-server.fly.dev"]

    [hosts."mail.example.com:110"]
    expect_prefix = "+OK"
    keep_open = true

A line or key that does not parse is one ``UsageError`` naming ``FILE:LINE``, before
anything is probed; a host given twice is probed once; a file without a host is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tcpreach.errors import UsageError
from tcpreach.settings import Given
from tcpreach.settings.config import read_toml, settings_of
from tcpreach.settings.inputs import parse_host, read_small_file

__all__ = ["MAX_HOSTS_FILE_BYTES", "HostsFile", "parse_hosts_lines", "read_hosts_file"]

MAX_HOSTS_FILE_BYTES = 64 << 20
"""A hundred thousand hosts take a few MB; anything over 64 MiB is not a list of hosts."""

HostsFile = tuple[dict[str, Given], list[tuple[str, dict[str, Given]]]]
"""Settings for every host, and each host (as written) with the settings it overrides."""


def _once(hosts: list[tuple[str, dict[str, Given]]]) -> list[tuple[str, dict[str, Given]]]:
    """Each host once (the first time it is named, whatever its case or final dot), in the
    order given."""
    seen: dict[tuple[str, int | None], tuple[str, dict[str, Given]]] = {}
    for host, own in hosts:
        spec = parse_host(host)
        seen.setdefault((spec.host.lower().rstrip("."), spec.port), (host, own))
    return list(seen.values())


def parse_hosts_lines(text: str, path: Path) -> list[str]:
    """The hosts of a plain list, each checked as a host is on the command line."""
    hosts: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if len(line.split()) > 1:
            raise UsageError(f"{path}:{number}: one host a line, got {line!r}")
        try:
            parse_host(line)
        except UsageError as exc:
            raise UsageError(f"{path}:{number}: {exc}") from None
        hosts.append(line)
    return hosts


def _toml_hosts(path: Path) -> HostsFile:
    table, lines = read_toml(path, "a TOML hosts file", limit=MAX_HOSTS_FILE_BYTES)
    tables: Any = table.pop("hosts", {})
    common = settings_of(table, path, lines)
    if not isinstance(tables, Mapping):
        raise UsageError(f'{path}: hosts must be tables, [hosts."NAME"], one a host')
    listed = common.pop("host", None)
    hosts: list[tuple[str, dict[str, Given]]] = []
    if listed is not None:
        if not isinstance(listed.value, list) or not all(isinstance(h, str) for h in listed.value):
            raise UsageError(f"{listed.source}: host takes a list of host[:port], got {listed.value!r}")
        for host in listed.value:
            try:
                parse_host(host)
            except UsageError as exc:
                raise UsageError(f"{listed.source}: {exc}") from None
            hosts.append((host, {}))
    for host, own in tables.items():
        if not isinstance(own, Mapping):
            raise UsageError(f"{path}: [hosts.{host!r}] must be a table of settings")
        try:
            parse_host(host)
        except UsageError as exc:
            raise UsageError(f"{path}: [hosts.{host!r}]: {exc}") from None
        hosts.append((host, settings_of(own, path, lines)))
    return common, hosts


def read_hosts_file(path: Path) -> HostsFile:
    """The hosts a file names (see the module's docstring), each once. Raises ``UsageError``."""
    if path.suffix == ".toml":
        common, hosts = _toml_hosts(path)
    else:
        raw = read_small_file(path, "a hosts file", limit=MAX_HOSTS_FILE_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
        common, hosts = {}, [(host, {}) for host in parse_hosts_lines(text, path)]
    if not hosts:
        raise UsageError(f"{path} names no host: one host[:port] a line, or host = [...] in a .toml file")
    return common, _once(hosts)

"""The pytest plugin's settings table: every option, ini key and environment variable it
owns, each under its own prefix, and aliases for a project's own ``conftest.py``.

Light on purpose: the plugin loads this in every pytest run of the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pytest

PREFIX = "tcpreach"
ENV_PREFIX = "TCPREACH_"
DEFAULT_PORT_TEXT, DEFAULT_TIMEOUT_TEXT, DEFAULT_LIFETIME_TEXT = "1848", "3", "5"  # options.py's defaults


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
    _Option("port", DEFAULT_PORT_TEXT, "PORT", f"TCP port of the service (default {DEFAULT_PORT_TEXT})"),
    _Option("expect", "hello\\n", "TEXT", r"exactly these bytes, escapes \n \r \t \\ \0 \xHH (default 'hello\n')"),
    _Option("expect_prefix", "", "TEXT", "bytes that start with TEXT (a banner such as '+OK'); escapes as --expect"),
    _Option("expect_regex", "", "REGEX", "bytes in which this regular expression (Python re) is found"),
    _Option("send", "", "TEXT", "bytes written right after connecting (a request); escapes as --expect"),
    _Option("keep_open", "", "", "the server need not close: ok as soon as the expectation is met", "flag"),
    _Option("tls", "", "", "speak TLS after connecting (SNI: the host name, or --tcpreach-sni)", "flag"),
    _Option("sni", "", "NAME", "with TLS: the name sent as SNI and checked on the certificate"),
    _Option("ca", "", "FILE", "with TLS: trust the CAs in this PEM file instead of the system's"),
    _Option("resolver", "", "IP[:PORT]", "the only DNS server to ask (default: the system's)"),
    _Option("family", "both", "4|6|both", "address families to probe (default both)"),
    _Option("probe_timeout", DEFAULT_TIMEOUT_TEXT, "S", "connect timeout and read deadline in seconds"),
    _Option("dns_lifetime", DEFAULT_LIFETIME_TEXT, "S", "bound on each DNS query in seconds"),
    _Option("retries", "", "N", "retries of a failing probe (default 0 locally, 2 for hosts)"),
    _Option("fly_toml", "fly.toml", "PATH", "fly.toml to lint; its shared-IPv4 prediction is checked live"),
    _Option("accept_shared_ipv4", "", "", "Fly.io's known shared-IPv4 failure becomes an xfail", "flag"),
    _Option("local_interfaces", "", "", "local tests also probe this machine's interface addresses", "flag"),
)
BY_NAME = {o.name: o for o in OPTIONS}
JSON_FLAG = f"--{PREFIX}-json"


def _add(adder: Callable[..., Any], flag: str, option: _Option) -> None:
    if option.kind == "flag":
        adder(flag, action="store_true", default=None, dest=option.dest, help=f"{option.help}; env {option.env}=1")
    else:
        action = "append" if option.kind == "list" else "store"
        adder(flag, action=action, default=None, dest=option.dest, metavar=option.metavar,
              help=f"{option.help}; env {option.env}")  # fmt: skip


def add_options(parser: pytest.Parser) -> None:
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
            option = BY_NAME[name]
            _add(group.addoption, flag, replace(option, help=f"alias of {option.flag}"))


def value_of(config: pytest.Config, name: str) -> tuple[Any, str]:
    """A setting's value and where it came from (command line > environment > ini)."""
    option = BY_NAME[name]
    cli = config.getoption(option.dest)
    if cli not in (None, [], ""):
        return cli, "the command line"
    env = os.environ.get(option.env)
    if env:
        return env, option.env
    return config.getini(option.dest), f"ini key {option.dest}"


def anything_set(config: pytest.Config) -> bool:
    """Any setting of ours given at all: otherwise the plugin has nothing to check yet."""
    for option in OPTIONS:
        value, source = value_of(config, option.name)
        if not source.startswith("ini key") or value not in ("", [], False, option.default):
            return True
    return config.getoption(f"{PREFIX}_json") is not None

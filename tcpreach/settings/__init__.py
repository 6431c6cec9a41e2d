"""Every setting of a check, declared once: its name, what it means, its default as a user
would type it, its parser, and where it can be given.

From this one table come the command line's flags (``python -m tcpreach probe --port``),
the pytest plugin's options, environment variables and ini keys (``--tcpreach-port``,
``TCPREACH_PORT``, ``tcpreach_port``) and the keys of a TOML configuration file
(``port = 1848``). Values from any of them become one ``CheckOptions`` through
``options_from``, and a bad value's error names where it came from.

The package holds the settings' sources and parsers beside the table: ``inputs`` (one
value: an address, a port, a duration, a host), ``escapes`` and ``ports`` (shared with the
hello server), ``config`` (a TOML configuration file) and ``hosts_file`` (a fleet's list).

Light on purpose: the pytest plugin reads this table in every run of its environment, so
the parsers are imported only when a value is parsed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "BY_NAME",
    "CONFIG",
    "ENV_PREFIX",
    "PREFIX",
    "SETTINGS",
    "Given",
    "Kind",
    "Setting",
    "Surface",
]

PREFIX = "tcpreach"
ENV_PREFIX = "TCPREACH_"


class Kind(StrEnum):
    """How a setting is written."""

    VALUE = "value"
    """One value: a number, a name, TEXT with escapes."""
    FLAG = "flag"
    """On or off: a bare flag, ``TCPREACH_TLS=1``, ``tls = true``."""
    LIST = "list"
    """Repeatable: ``--tcpreach-host a --tcpreach-host b``, a TOML array, or words in an ini value."""


class Surface(StrEnum):
    """Where a setting can be given."""

    CLI = "cli"
    """``python -m tcpreach probe``'s flags."""
    PLUGIN = "plugin"
    """The pytest plugin's option, environment variable and ini key."""
    CONFIG = "config"
    """A key of the TOML configuration file."""


EVERYWHERE = frozenset(Surface)


def _lazy(path: str) -> Callable[[str], Any]:
    """A parser named ``module:function``, imported on its first use."""
    module, _, name = path.partition(":")

    def parse(text: str) -> Any:
        return getattr(importlib.import_module(module), name)(text)

    parse.__name__ = parse.__qualname__ = name
    return parse


@dataclass(frozen=True)
class Setting:
    """One setting. Its other spellings are derived from ``name``: the plugin's flag
    ``--tcpreach-NAME`` (dashes), environment variable ``TCPREACH_NAME``, ini key
    ``tcpreach_NAME`` and configuration key ``NAME``."""

    name: str
    """The configuration key; the other spellings derive from it."""
    help: str
    default: str | bool | tuple[str, ...]
    """As a user types it: text for a value (``""``: unset), ``False`` for a flag, ``()`` for a list."""
    parse: Callable[[str], Any] = str
    """Text to value; raises ``ValueError`` (``UsageError``) saying what was expected."""
    metavar: str = ""
    kind: Kind = Kind.VALUE
    cli_flags: tuple[str, ...] = ()
    """The command line's spellings, when they are not ``--NAME`` (``--timeout``)."""
    surfaces: frozenset[Surface] = EVERYWHERE
    group: str = ""
    """Settings of one group exclude each other (the three ways to expect bytes)."""
    ordered: bool = False
    """On the command line, repeatable in order: the steps of a dialogue (``--send``, ``--expect``)."""
    shell_words: bool = False
    """A list given as one text splits as a shell's words (quotes keep spaces), not at commas."""

    @property
    def cli(self) -> tuple[str, ...]:
        return self.cli_flags or (f"--{self.name.replace('_', '-')}",)

    @property
    def plugin_flag(self) -> str:
        return f"--{PREFIX}-{self.name.replace('_', '-')}"

    @property
    def dest(self) -> str:
        return f"{PREFIX}_{self.name}"

    @property
    def env(self) -> str:
        return f"{ENV_PREFIX}{self.name.upper()}"

    @property
    def ini(self) -> str:
        return self.dest

    @property
    def key(self) -> str:
        return self.name

    def typed_default(self) -> Any:
        """The default as a value (``None`` when a value setting has none)."""
        if self.kind is not Kind.VALUE:
            return self.default
        return self.parse(str(self.default)) if self.default else None


_EXPECT = "the expectation"
SETTINGS: tuple[Setting, ...] = (
    Setting("host", "deployed host to verify: name, name:port, address, [v6]:port (repeatable)", (),
            _lazy("tcpreach.settings.inputs:parse_host_text"), "HOST", Kind.LIST),
    Setting("port", "TCP port of the service (default 1848)", "1848",
            _lazy("tcpreach.settings.inputs:parse_port"), "PORT"),
    Setting("expect", r"exactly these bytes, escapes \n \r \t \\ \0 \xHH (default 'hello\n')", r"hello\n",
            _lazy("tcpreach.expectation:expected_bytes"), "TEXT", group=_EXPECT, ordered=True),
    Setting("expect_prefix", "bytes that start with TEXT (a banner such as '+OK'); escapes as for --expect", "",
            _lazy("tcpreach.expectation:expected_bytes"), "TEXT", group=_EXPECT, ordered=True),
    Setting("expect_regex", "bytes in which the regular expression REGEX (Python re) is found", "",
            _lazy("tcpreach.expectation:regex_bytes"), "REGEX", group=_EXPECT, ordered=True),
    Setting("send", "write TEXT (escapes as for --expect) right after connecting: a request", "",
            _lazy("tcpreach.expectation:request_bytes"), "TEXT", ordered=True),
    Setting("steps", "a dialogue, step by step: send:TEXT, expect:TEXT, expect-prefix:TEXT, expect-regex:REGEX, "
            "starttls; a regex step's groups go into later sends as ${1} (on the command line, --send and "
            "--expect* repeated in order make the same)", (), _lazy("tcpreach.dialogue:parse_step"), "KIND:TEXT",
            Kind.LIST, cli_flags=("--step",), ordered=True, shell_words=True),
    Setting("starttls", "upgrade to TLS the way this protocol does (smtp, imap, pop3), then judge as with TLS; "
            "without steps after it, a whole polite session", "", _lazy("tcpreach.dialogue:parse_starttls"),
            "PROTO"),
    Setting("keep_open", "the server need not close: ok as soon as the expectation is met", False, kind=Kind.FLAG),
    Setting("tls", "speak TLS after connecting (SNI: the host name, or the sni setting); judge the decrypted bytes",
            False, kind=Kind.FLAG),
    Setting("sni", "with TLS: the name sent as SNI and checked on the certificate", "",
            _lazy("tcpreach.settings.inputs:parse_server_name"), "NAME"),
    Setting("ca", "with TLS: trust the CAs in this PEM file instead of the system's", "",
            _lazy("tcpreach.settings.inputs:parse_ca_file"), "FILE"),
    Setting("cert", "with TLS: this client's certificate (PEM; the key too, unless the key setting gives it): "
            "mutual TLS", "", _lazy("tcpreach.settings.inputs:parse_pem_file"), "FILE"),
    Setting("key", "with TLS: the private key of the cert setting's certificate (PEM)", "",
            _lazy("tcpreach.settings.inputs:parse_pem_file"), "FILE"),
    Setting("insecure", "with TLS: verify nothing, neither the chain nor the name (the report says so)", False,
            kind=Kind.FLAG),
    Setting("min_tls", "with TLS: the oldest version accepted, 1.2 or 1.3 (default: the system's)", "",
            _lazy("tcpreach.settings.inputs:parse_tls_version"), "1.2|1.3"),
    Setting("cert_warn", "a certificate expiring within DAYS is a warning (default 14)", "14",
            _lazy("tcpreach.settings.inputs:parse_days"), "DAYS"),
    Setting("cert_crit", "a certificate expiring within DAYS is an error (default 0: only an expired one)", "0",
            _lazy("tcpreach.settings.inputs:parse_days"), "DAYS"),
    Setting("resolver", "ask this DNS server alone (no system resolver, no getaddrinfo)", "",
            _lazy("tcpreach.settings.inputs:parse_resolver"), "IP[:PORT]"),
    Setting("source", "connect from this local address (one per family, repeatable): which network a "
            "multi-homed client tests", (), _lazy("tcpreach.settings.inputs:parse_address"), "ADDR", Kind.LIST),
    Setting("family", "address families to probe: 4, 6 or both (default both)", "both",
            _lazy("tcpreach.settings.inputs:parse_family"), "4|6|both"),
    Setting("probe_timeout", "connect timeout and read deadline, each, in seconds (default 3)", "3",
            _lazy("tcpreach.settings.inputs:parse_seconds"), "S", cli_flags=("--timeout", "--probe-timeout")),
    Setting("dns_lifetime", "bound on each DNS query in seconds, resends included (default 5)", "5",
            _lazy("tcpreach.settings.inputs:parse_seconds"), "S"),
    Setting("retries", "up to N more attempts at a target that fails, hedged (the last within half the timeout), "
            "and resend lost DNS queries (default 2; the plugin's local servers: 0)", "2",
            _lazy("tcpreach.settings.inputs:parse_count"), "N"),
    Setting("fly_toml", "the fly.toml to lint beside a Fly name: a live shared-IPv4 failure then confirms its "
            "prediction (default ./fly.toml, when it exists)", "fly.toml", metavar="PATH"),
    Setting("accept_shared_ipv4", "Fly.io's known shared-IPv4 failure is accepted: an xfail in pytest, exit 0 "
            "from probe when it is the only failure", False, kind=Kind.FLAG),
    Setting("vantage", "name where this check runs, for reports merged from several places (default: the host "
            "name)", "", metavar="NAME"),
    # Only pytest has local servers whose addresses it checks; a config file can still set it.
    Setting("local_interfaces", "local tests also probe this machine's interface addresses", False, kind=Kind.FLAG,
            surfaces=frozenset({Surface.PLUGIN, Surface.CONFIG})),
)  # fmt: skip
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}

CONFIG = Setting(
    "config",
    "read settings from this TOML file (keys as the settings' names: port = 1848); "
    "anything given otherwise wins over it",
    "",
    metavar="FILE",
    surfaces=frozenset({Surface.CLI, Surface.PLUGIN}),
)
"""Where a configuration file is: an option of its own, outside the table it fills."""


@dataclass(frozen=True)
class Given:
    """A setting's value as given, and where: ``the command line``, ``TCPREACH_PORT``,
    ``ini key tcpreach_port``, ``tcpreach.toml:3``. ``value`` is text, or a TOML value."""

    value: Any
    source: str

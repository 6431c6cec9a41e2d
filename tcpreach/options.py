"""One frozen value for one check: what to probe, what to expect, how long and how often.

Built once at the edge (the command line, the pytest plugin, or your own code) and passed
whole to ``check_host``/``check_targets``; a new setting touches this class and the one
place that uses it. Importing this module costs nothing beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tcpreach.expectation import Expectation
from tcpreach.model import Family
from tcpreach.settings import BY_NAME

__all__ = [
    "BOTH",
    "DEFAULT_LIFETIME",
    "DEFAULT_PORT",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "CheckOptions",
    "TlsSettings",
]

# The defaults as the settings table declares them (tcpreach.settings), as values.
DEFAULT_PORT: int = BY_NAME["port"].typed_default()
DEFAULT_TIMEOUT: float = BY_NAME["probe_timeout"].typed_default()
DEFAULT_LIFETIME: float = BY_NAME["dns_lifetime"].typed_default()
DEFAULT_RETRIES: int = BY_NAME["retries"].typed_default()
BOTH: tuple[Family, ...] = BY_NAME["family"].typed_default()


@dataclass(frozen=True)
class TlsSettings:
    """Speak TLS after the TCP connect: ``server_name`` is the SNI sent and the name the
    certificate must carry (``None``: the host name checked; for a literal address, no SNI
    and no name check, the chain is still verified); ``ca_file`` holds the trusted CAs
    (``None``: the system's store)."""

    server_name: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    """This client's certificate (mutual TLS), with its key unless ``key_file`` holds it."""
    key_file: str | None = None
    insecure: bool = False
    """Verify nothing: neither the chain nor the name (reported as not verified)."""
    min_version: str | None = None
    """``"1.2"`` or ``"1.3"``: the oldest version accepted (``None``: the system's)."""


@dataclass(frozen=True)
class CheckOptions:
    """Everything a check needs besides the host.

    ``port`` is the default port; a host written as ``name:port`` overrides it.
    ``resolver`` is ``(ip, port)`` of the only DNS server to ask (``None``: the system's).
    ``timeout`` bounds the connect and, separately, the whole read; ``dns_lifetime``
    bounds each DNS query. ``retries`` is the one retry policy, the same for the command
    line, the pytest plugin and this API: a failing target is probed again that many
    times (hedged: the next attempt starts while the last still waits, see
    ``tcpreach.engine``; never a target this client has no route to), and with ``retries``
    above 0 a DNS query without an answer is sent again within its lifetime.
    """

    port: int = DEFAULT_PORT
    expectation: Expectation = field(default_factory=Expectation)
    families: tuple[Family, ...] = BOTH
    timeout: float = DEFAULT_TIMEOUT
    dns_lifetime: float = DEFAULT_LIFETIME
    retries: int = DEFAULT_RETRIES
    resolver: tuple[str, int] | None = None
    tls: TlsSettings | None = None
    cert_warn_days: float = 14.0
    """A certificate expiring within this many days is a warning."""
    cert_crit_days: float = 0.0
    """... and within this many an error (0: only an expired one, which fails its handshake)."""
    sources: tuple[str, ...] = ()
    """Local addresses to connect from, at most one per family (none: the kernel picks)."""
    vantage: str = ""
    """Where the check runs, named in its report (empty: this machine's host name)."""
    transcript: bool = False
    """Keep every event on the wire of each probe (``-v``, ``&debug=true``): what was sent,
    each chunk received, the handshake, with times. A dialogue keeps them always."""

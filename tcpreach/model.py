"""Plain data gathered from DNS and sockets. No behaviour here beyond naming things.

Everything is frozen, so a probe's result can be judged, diagnosed, reported, sent
between pytest-xdist workers and compared in tests without any socket around.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tcpreach.expectation import Expectation
from tcpreach.findings import Finding

__all__ = [
    "DnsAnswer",
    "DnsStatus",
    "Ending",
    "Exchange",
    "Family",
    "HostReport",
    "ProbeResult",
    "Resolution",
    "Source",
    "Target",
    "TargetOutcome",
    "TlsFailure",
    "TlsObservation",
    "Vantage",
    "Verdict",
]


class Family(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"

    @classmethod
    def of(cls, address: str) -> Family:
        """The socket family a literal address needs (``::ffff:a.b.c.d`` is IPv6)."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return cls.IPV4 if ip.version == 4 else cls.IPV6


class Source(StrEnum):
    """Where a target's address came from."""

    DNS = "dns"
    """An A or AAAA record."""
    LITERAL = "literal"
    """Given as an address, or chosen by the suite (loopback, interfaces)."""
    GETADDRINFO = "getaddrinfo"
    """Only the system's resolver knows it (e.g. /etc/hosts)."""
    DNS64 = "dns64"
    """An AAAA record the resolver made up (DNS64): the service's IPv4 through this
    network's NAT64, never the service's own IPv6."""


@dataclass(frozen=True)
class Target:
    """One address and port to probe."""

    family: Family
    address: str
    """No brackets; an IPv6 link-local address may carry a %scope."""
    port: int
    source: Source = Source.LITERAL

    @property
    def label(self) -> str:
        """``ipv6-::1``: the test id and the table's row name."""
        return f"{self.family}-{self.address}"

    @property
    def endpoint(self) -> str:
        """``[::1]:1848`` or ``127.0.0.1:1848``."""
        host = f"[{self.address}]" if self.family is Family.IPV6 else self.address
        return f"{host}:{self.port}"


class Ending(StrEnum):
    """How a connection that was established ended, as seen by the client."""

    EOF = "eof"
    """Orderly close (FIN): recv returned b""."""
    RESET = "reset"
    """ECONNRESET while reading."""
    DEADLINE = "deadline"
    """Still open when the read deadline passed."""
    CAPPED = "capped"
    """The read cap was reached; the client stopped reading."""
    STOPPED = "stopped"
    """The client stopped reading: expectation met (keep-open) or no longer possible."""


class TlsFailure(StrEnum):
    """Why a TLS handshake did not complete (see ``verdict.judge``)."""

    HANDSHAKE = "handshake"
    """An alert (unrecognized_name, handshake_failure), or a close mid-handshake."""
    UNTRUSTED = "untrusted"
    """The chain does not lead to a trusted CA."""
    NAME_MISMATCH = "name-mismatch"
    """The certificate does not carry the name."""
    EXPIRED = "expired"
    NOT_TLS = "not-tls"
    """The server answered with bytes that are not TLS."""


@dataclass(frozen=True)
class TlsObservation:
    """What the TLS handshake showed; times are seconds from the start of connect."""

    server_name: str | None
    """The SNI sent (None: none was sent, a literal address without --sni)."""
    handshake_s: float | None = None
    version: str | None = None
    alpn: str | None = None
    subject_names: tuple[str, ...] = ()
    issuer: str | None = None
    expires_in_days: float | None = None
    failure: TlsFailure | None = None
    detail: str = ""
    """The alert, or the verification message."""
    expires_at: float | None = None
    """The certificate's notAfter, as a Unix timestamp."""
    verified: bool = True
    """False with --insecure: neither the chain nor the name was checked."""


@dataclass(frozen=True)
class Exchange:
    """One event of a dialogue on the wire, at seconds from the start of connect."""

    at_s: float
    event: str
    """``sent``, ``received`` or ``tls`` (the STARTTLS handshake completed)."""
    data: bytes = b""


@dataclass(frozen=True)
class ProbeResult:
    """What one connection attempt observed. Timings are seconds from the start of connect."""

    target: Target
    connected: bool
    connect_errno: int | None = None
    """Why connect failed; None when it succeeded or timed out."""
    connect_timed_out: bool = False
    no_route: bool = False
    """The kernel has no route to the address: a fact about this client."""
    received: bytes = b""
    ending: Ending | None = None
    """Set when connected."""
    send_errno: int | None = None
    """Why writing the request failed, when it did."""
    connect_s: float | None = None
    first_byte_s: float | None = None
    total_s: float = 0.0
    """This attempt."""
    attempts: int = 1
    """How many attempts were started at this target (hedged: several may overlap)."""
    elapsed_s: float | None = None
    """From the first attempt to the verdict, every attempt included."""
    tls: TlsObservation | None = None
    """With --tls: the handshake (the bytes judged are the decrypted ones)."""
    attempt: int = 1
    """Which attempt this record is of: above 1, the first was not enough."""
    local_address: str | None = None
    """The address this client connected from, when it connected."""
    step: int | None = None
    """In a dialogue, the step the probe stopped at (from 1; the last when all went
    through): ``received`` holds the bytes that step read. ``None`` for one step."""
    exchange: tuple[Exchange, ...] = ()
    """A dialogue's events in order (what was sent, each chunk received, the handshake)."""

    @property
    def to_verdict_s(self) -> float:
        return self.total_s if self.elapsed_s is None else self.elapsed_s


class DnsStatus(StrEnum):
    OK = "ok"
    NXDOMAIN = "nxdomain"
    NO_ANSWER = "no-answer"
    """The name exists, with no record of this type."""
    TIMEOUT = "timeout"
    NO_NAMESERVERS = "no-nameservers"
    ERROR = "error"


@dataclass(frozen=True)
class DnsAnswer:
    """The answer to one query (A or AAAA) for the host name."""

    family: Family
    status: DnsStatus
    addresses: tuple[str, ...] = ()
    detail: str = ""
    ttl: int | None = None
    """Seconds the answer may be cached (the address records' TTL); ``None`` without records."""
    cnames: tuple[str, ...] = ()
    """The names an alias (CNAME) led through, in order, the last one the canonical name."""

    @property
    def rdtype(self) -> str:
        return "A" if self.family is Family.IPV4 else "AAAA"


@dataclass(frozen=True)
class Resolution:
    """How a host became targets: DNS answers per family, and the system's own view.

    ``system`` is what ``getaddrinfo`` returned (``None`` when it was not asked: a literal
    host, or an explicit resolver, which alone must be asked).
    """

    host: str
    literal: bool = False
    resolver: str = "system"
    dns: tuple[DnsAnswer, ...] = ()
    system: tuple[str, ...] | None = None
    system_error: str | None = None
    invalid_name: str | None = None
    """Why the host is not a valid name, when it is not."""
    unicode_host: str | None = None
    """The name as given, when ``host`` is its IDNA (punycode) form."""
    dns64_prefix: str | None = None
    """The NAT64 prefix the resolver revealed for ``ipv4only.arpa`` (RFC 7050), when it did."""

    @property
    def dns_addresses(self) -> tuple[str, ...]:
        return tuple(addr for answer in self.dns for addr in answer.addresses)

    @property
    def aliases(self) -> tuple[str, ...]:
        """The names the host is an alias of (CNAME), in order; empty for a name of its own."""
        return next((answer.cnames for answer in self.dns if answer.cnames), ())

    @property
    def names(self) -> tuple[str, ...]:
        """The host, then every name its alias leads to: a Fly name may be any of them."""
        return (self.host, *self.aliases)


class Verdict(StrEnum):
    """What one probe's observations mean (see ``verdict.judge``)."""

    OK = "ok"
    """The expectation met, then end-of-stream (or, with keep-open, at once)."""
    CLOSED_WITHOUT_DATA = "closed-without-data"
    """Connected, then FIN or RST before any byte."""
    RESET = "reset"
    """RST after some bytes."""
    WRONG_GREETING = "wrong-greeting"
    """Bytes that are not a prefix of the expected."""
    TRUNCATED = "truncated"
    """A proper prefix, then end-of-stream."""
    EXTRA_DATA = "extra-data"
    """The expected bytes followed by more."""
    NO_CLOSE = "no-close"
    """The expectation met, the connection still open at the deadline."""
    SILENT = "silent"
    """Connected; no byte and no close by the deadline."""
    REFUSED = "refused"
    TIMEOUT = "timeout"
    """Connect timed out."""
    UNREACHABLE = "unreachable"
    """No route to that address from this client."""
    TLS_HANDSHAKE_FAILED = "tls-handshake-failed"
    """An alert, or the server closed during the handshake."""
    TLS_UNTRUSTED = "tls-untrusted"
    TLS_NAME_MISMATCH = "tls-name-mismatch"
    TLS_EXPIRED = "tls-expired"
    TLS_NOT_SPOKEN = "tls-not-spoken"
    """The server answered with something that is not TLS."""


@dataclass(frozen=True)
class TargetOutcome:
    """A probe result with its verdict and a one-line explanation."""

    result: ProbeResult
    verdict: Verdict
    explanation: str
    failed_attempts: tuple[Verdict, ...] = ()
    """The verdicts of the attempts that failed before the one that decided (hedged)."""

    @property
    def target(self) -> Target:
        return self.result.target


@dataclass(frozen=True)
class Vantage:
    """Where a report was made: what a client's view of a service depends on."""

    label: str
    """The name a user gave this vantage point (default: this machine's host name)."""
    version: str
    """The version of tcpreach that made the report."""
    routes: tuple[Family, ...] = ()
    """The families this client has a route for (asked of the kernel, nothing sent)."""
    sources: tuple[tuple[Family, str], ...] = ()
    """This client's source address per family, towards the targets (nothing sent)."""


@dataclass(frozen=True)
class HostReport:
    """Everything known about one host after probing: the input of the reports."""

    host: str
    port: int
    expectation: Expectation
    resolution: Resolution
    outcomes: tuple[TargetOutcome, ...] = ()
    findings: tuple[Finding, ...] = ()
    started_at: datetime | None = None
    """When the check started, in UTC."""
    vantage: Vantage | None = None

"""What a user types, parsed and checked: hosts (``name:port``, ``[v6]:port``), ports,
counts, seconds, names, resolvers and CA files. Each parser raises ``UsageError`` with
what was expected."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from tcpreach.errors import UsageError
from tcpreach.model import Family
from tcpreach.settings.ports import port_number

__all__ = [
    "MAX_SECONDS",
    "HostSpec",
    "canonical_address",
    "canonical_host",
    "host_note",
    "hostname_problem",
    "ipv4_shorthand",
    "is_literal",
    "parse_address",
    "parse_ca_file",
    "parse_count",
    "parse_days",
    "parse_family",
    "parse_host",
    "parse_host_text",
    "parse_pem_file",
    "parse_port",
    "parse_resolver",
    "parse_seconds",
    "parse_server_name",
    "parse_target",
    "parse_tls_version",
    "to_ascii",
]

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
"""A label, matched whole (``fullmatch``: ``$`` would also match before a final newline)."""


@dataclass(frozen=True)
class HostSpec:
    host: str
    """A name, or a literal address without brackets."""
    port: int | None
    """From ``host:port`` / ``[v6]:port``, when given."""
    literal: bool


MAX_SECONDS = 3600.0
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def parse_port(text: str | int) -> int:
    """1..65535, written in ASCII digits only (no ``4_2``, no full-width digits, no sign)."""
    port = port_number(text)
    if port is None:
        raise UsageError(f"port must be an integer in 1..65535, got {text!r}")
    return port


def parse_count(text: str) -> int:
    """A whole number, 0 or more, in ASCII digits (``--retries``)."""
    raw = str(text).strip()
    if not (raw.isascii() and raw.isdigit()):
        raise UsageError(f"takes a whole number, 0 or more, got {text!r}")
    return int(raw)


def parse_seconds(text: str, what: str = "the value") -> float:
    """A positive, finite number of seconds up to an hour, for timeouts and lifetimes."""
    raw = str(text).strip()
    value = float(raw) if raw.isascii() and _DECIMAL.fullmatch(raw) else -1.0
    if not 0 < value <= MAX_SECONDS:
        raise UsageError(f"{what} must be a number of seconds above 0 and at most {MAX_SECONDS:g}, got {text!r}")
    return value


_ADDRESS_CHARS = frozenset("0123456789abcdefABCDEF:.")


def canonical_address(address: str) -> str:
    """An address literal in its one spelling, RFC 5952's (``2001:db8::1`` for
    ``2001:DB8:0::1``; ``::ffff:127.0.0.1`` for ``::ffff:7f00:1``, an IPv4-mapped address's
    tail dotted, and only then: ``::1:1848`` stays ``::1:1848``), its ``%scope`` kept. DNS
    answers are written the same way: one address is one row however it was typed or
    answered. Without dnspython, which a literal never loads."""
    head, sep, scope = address.partition("%")
    if Family.of(head) is Family.IPV4:
        return str(ipaddress.IPv4Address(head))
    packed = ipaddress.IPv6Address(head).packed
    if packed[:12] == bytes(10) + b"\xff\xff":
        return f"::ffff:{ipaddress.IPv4Address(packed[12:])}{sep}{scope}"
    return f"{ipaddress.IPv6Address(packed)}{sep}{scope}"


def canonical_host(host: str) -> str:
    """``host`` in its one spelling: an address as ``canonical_address`` writes it, a name in
    lower case without its final dot."""
    return canonical_address(host) if is_literal(host) else host.lower().rstrip(".")


def is_literal(host: str) -> bool:
    """An IPv4 or IPv6 address (with an optional ``%scope``), not a name."""
    head = host.split("%", 1)[0]
    if not head or not _ADDRESS_CHARS.issuperset(head):
        return False  # a name's letters: no address to parse
    try:
        ipaddress.ip_address(head)
    except ValueError:
        return False
    return True


def ipv4_shorthand(text: str) -> str | None:
    """The address an inet_aton shorthand means (``127.1`` is 127.0.0.1), or ``None``."""
    if not text or not text.isascii() or is_literal(text) or not re.fullmatch(r"[0-9a-fA-FxX.]+", text):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(text))
    except OSError:
        return None


def to_ascii(name: str) -> str:
    """An internationalised name in its IDNA (punycode) form: ``bücher.example`` is
    ``xn--bcher-kva.example``; an ASCII name as it is. Raises ``UsageError``."""
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise UsageError(f"{name!r} is not a valid internationalised name: {exc}") from None


def hostname_problem(name: str) -> str | None:
    """Why ``name`` is not a valid DNS host name, or ``None`` when it is."""
    stripped = name[:-1] if name.endswith(".") else name
    if not stripped:
        return "the name is empty"
    if len(stripped) > 253:
        return f"the name is {len(stripped)} characters long; at most 253"
    for label in stripped.split("."):
        if not _LABEL.fullmatch(label):
            return f"label {label!r} is not 1-63 letters, digits or inner hyphens"
    return None


def parse_host(text: str) -> HostSpec:
    """``name``, ``name:port``, ``1.2.3.4``, ``1.2.3.4:port``, ``::1``, ``[::1]``, ``[::1]:port``."""
    text = text.strip()
    if not text:
        raise UsageError("the host is empty: give a name or an address")
    scheme, sep, rest = text.partition("://")
    if sep:
        raise UsageError(f"{text!r} has a scheme: drop '{scheme}://' and give host[:port], e.g. {rest.split('/')[0]}")
    if text.startswith("["):
        inside, sep, rest = text[1:].partition("]")
        if not sep or not is_literal(inside) or Family.of(inside) is not Family.IPV6:
            raise UsageError(f"{text!r}: brackets must hold an IPv6 address, as in [::1]:1848")
        if rest and not rest.startswith(":"):
            raise UsageError(f"{text!r}: expected [IPv6]:PORT")
        return HostSpec(inside, parse_port(rest[1:]) if rest else None, literal=True)
    if is_literal(text):
        _check_scope(text)
        return HostSpec(text, None, literal=True)
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if not host.strip():
            raise UsageError(f"{text!r}: the host before the port is empty: give a name or an address")
        _check_shorthand(host)
        if is_literal(host):
            _check_scope(host)
        return HostSpec(host, parse_port(port), literal=is_literal(host))
    _check_shorthand(text)
    if ":" in text:
        raise UsageError(f"{text!r} is not an IPv6 address; write an address with a port as [v6]:port")
    return HostSpec(text, None, literal=False)


def host_note(text: str) -> str | None:
    """A note for a host that parses but was probably meant otherwise: ``::1:1848`` is the
    IPv6 address ``::1:1848``, where ``[::1]:1848`` was likely meant. ``None`` otherwise."""
    text = text.strip()
    head, _, last = text.rpartition(":")
    if text.startswith("[") or not is_literal(text) or Family.of(text) is not Family.IPV6:
        return None
    if not (last.isascii() and last.isdigit() and 0 < int(last) <= 65535) or not is_literal(head):
        return None
    return f"{text!r} is the IPv6 address {text}; for port {last} on {head}, write [{head}]:{last}"


def parse_target(text: str) -> HostSpec:
    """A host to probe: ``parse_host``, and a name that can be a host name (IDNA applied).
    Raises ``UsageError``: ``'bad_name!' is not a valid host name: ...``."""
    spec = parse_host(text)
    if not spec.literal and (problem := hostname_problem(to_ascii(spec.host))) is not None:
        raise UsageError(f"{spec.host!r} is not a valid host name: {problem}")
    return spec


def parse_host_text(text: str) -> str:
    """A host as written (``name``, ``name:port``, ``[v6]:port``), checked by ``parse_host``."""
    parse_host(text)
    return text.strip()


_FAMILIES = {"4": (Family.IPV4,), "6": (Family.IPV6,), "both": (Family.IPV4, Family.IPV6)}


def parse_family(text: str) -> tuple[Family, ...]:
    """``4``, ``6`` or ``both``: the families to probe."""
    if text not in _FAMILIES:
        raise UsageError(f"takes 4, 6 or both, got {text!r}")
    return _FAMILIES[text]


def _check_scope(address: str) -> None:
    if "%" in address and Family.of(address) is Family.IPV4:
        raise UsageError(f"{address!r}: a scope (%interface) belongs to IPv6 link-local addresses, not IPv4")


def _check_shorthand(text: str) -> None:
    meant = ipv4_shorthand(text.split("%", 1)[0])
    if meant is not None:
        raise UsageError(f"{text!r} is an IPv4 shorthand, not a name: write {meant} if that is the address you mean")


def parse_ca_file(text: str) -> str:
    """A PEM file of CA certificates that exists (``--ca``)."""
    if not Path(text).is_file():
        raise UsageError(f"no CA file at {text!r}: give a PEM file of CA certificates")
    return text


def parse_pem_file(text: str) -> str:
    """A PEM file that exists (``--cert``, ``--key``)."""
    if not Path(text).is_file():
        raise UsageError(f"no file at {text!r}: give a PEM file")
    return text


def parse_tls_version(text: str) -> str:
    """``1.2`` or ``1.3``: the oldest TLS version accepted."""
    if text.strip() not in ("1.2", "1.3"):
        raise UsageError(f"takes 1.2 or 1.3, got {text!r}")
    return text.strip()


def parse_days(text: str) -> float:
    """A number of days, 0 or more (certificate-expiry thresholds)."""
    raw = str(text).strip()
    value = float(raw) if raw.isascii() and _DECIMAL.fullmatch(raw) else -1.0
    if not 0 <= value <= 36500:
        raise UsageError(f"takes a number of days from 0 to 36500, got {text!r}")
    return value


def parse_server_name(text: str) -> str:
    """A name to send as SNI (``--sni``): a valid host name, in its IDNA form."""
    name = to_ascii(text.rstrip("."))
    if (problem := hostname_problem(name)) is not None:
        raise UsageError(f"{text!r} is not a host name: {problem}")
    return name


def parse_address(text: str) -> str:
    """An IP address literal (a source to connect from), in its one spelling; names and
    ports are refused."""
    spec = parse_host(text)
    if not spec.literal or spec.port is not None:
        raise UsageError(f"takes an IP address, got {text!r}")
    return canonical_address(spec.host)


def parse_resolver(text: str) -> tuple[str, int]:
    """``IP`` or ``IP:PORT`` (``[v6]:PORT`` for IPv6) of a DNS server; names are refused."""
    spec = parse_host(text)
    if not spec.literal:
        raise UsageError(f"--resolver takes an IP address (IP or IP:PORT), got {text!r}")
    return spec.host, spec.port or 53


MAX_FILE_BYTES = 1 << 20
"""A configuration file a user gives is a few kB; anything over 1 MiB is not one."""


def read_small_file(path: Path, what: str, error: type[UsageError] = UsageError, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a file a user named as ``what`` (``a fly.toml``); ``error`` (a
    ``UsageError``) for a directory, a file that cannot be read, or one over ``limit``."""
    try:
        if path.is_dir():
            raise error(f"{path} is a directory: give the path of {what}")
        with path.open("rb") as file:
            raw = file.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror}; give the path of {what}") from None
    if len(raw) > limit:
        raise error(f"{path} is over {limit // 1024} KiB: that is not {what}, and it is not read")
    return raw

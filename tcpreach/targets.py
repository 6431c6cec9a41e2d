"""What to probe: parsing a host argument, and turning a resolution into targets."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tcpreach.model import Family, Resolution, Source, Target

_IFA_F_DADFAILED = 0x08
_IFA_F_TENTATIVE = 0x40
_IFF_UP = 0x1
_IFF_RUNNING = 0x40
_SIOCGIFADDR = 0x8915
_SIOCGIFFLAGS = 0x8913
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class UsageError(ValueError):
    """Input a user can fix: the message says what was expected."""


@dataclass(frozen=True)
class HostSpec:
    host: str  # a name, or a literal address without brackets
    port: int | None  # from ``host:port`` / ``[v6]:port``, when given
    literal: bool


MAX_SECONDS = 3600.0
_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]*)?$|^\.[0-9]+$")


def parse_port(text: str | int) -> int:
    """1..65535, written in ASCII digits only (no ``4_2``, no full-width digits, no sign)."""
    raw = str(text).strip()
    port = int(raw) if raw.isascii() and raw.isdigit() else -1
    if not 0 < port <= 65535:
        raise UsageError(f"port must be an integer in 1..65535, got {text!r}")
    return port


def parse_count(text: str) -> int:
    """A whole number, 0 or more, in ASCII digits (``--retries``)."""
    raw = str(text).strip()
    if not (raw.isascii() and raw.isdigit()):
        raise UsageError(f"takes a whole number, 0 or more, got {text!r}")
    return int(raw)


def parse_seconds(text: str, what: str) -> float:
    """A positive, finite number of seconds up to an hour, for timeouts and lifetimes."""
    raw = str(text).strip()
    value = float(raw) if raw.isascii() and _DECIMAL.match(raw) else -1.0
    if not 0 < value <= MAX_SECONDS:
        raise UsageError(f"{what} must be a number of seconds above 0 and at most {MAX_SECONDS:g}, got {text!r}")
    return value


def is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
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
        if not _LABEL.match(label):
            return f"label {label!r} is not 1-63 letters, digits or inner hyphens"
    return None


def parse_host(text: str) -> HostSpec:
    """``name``, ``name:port``, ``1.2.3.4``, ``1.2.3.4:port``, ``::1``, ``[::1]``, ``[::1]:port``."""
    text = text.strip()
    if not text:
        raise UsageError("the host is empty: give a name or an address")
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


def parse_server_name(text: str) -> str:
    """A name to send as SNI (``--sni``): a valid host name, in its IDNA form."""
    name = to_ascii(text.rstrip("."))
    if (problem := hostname_problem(name)) is not None:
        raise UsageError(f"{text!r} is not a host name: {problem}")
    return name


def parse_resolver(text: str) -> tuple[str, int]:
    """``IP`` or ``IP:PORT`` (``[v6]:PORT`` for IPv6) of a DNS server; names are refused."""
    spec = parse_host(text)
    if not spec.literal:
        raise UsageError(f"--resolver takes an IP address (IP or IP:PORT), got {text!r}")
    return spec.host, spec.port or 53


def targets_of(resolution: Resolution, port: int, families: Iterable[Family]) -> tuple[Target, ...]:
    """Every address becomes its own target: DNS records first, then addresses only the
    system resolver knows."""
    wanted = set(families)
    if resolution.literal:
        family = Family.of(resolution.host)
        return (Target(family, resolution.host, port, Source.LITERAL),) if family in wanted else ()
    seen: set[str] = set()
    targets: list[Target] = []
    for answer in resolution.dns:
        for address in answer.addresses:
            if answer.family in wanted and address not in seen:
                seen.add(address)
                targets.append(Target(answer.family, address, port, Source.DNS))
    for address in resolution.system or ():
        family = Family.of(address)
        if family in wanted and address not in seen:
            seen.add(address)
            targets.append(Target(family, address, port, Source.GETADDRINFO))
    return tuple(targets)


def local_addresses(include_interfaces: bool = False) -> tuple[str, ...]:
    """The addresses a local server answers on: loopback in every notation, what
    ``localhost`` resolves to (from the hosts file, never DNS) and, with
    ``include_interfaces``, this machine's own interface addresses (Linux)."""
    found: list[str] = ["127.0.0.1"]
    if socket.has_ipv6:
        found += ["::1", "::ffff:127.0.0.1"]
    try:
        infos = socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        infos = []
    found += [str(info[4][0]) for info in infos]
    if include_interfaces:
        found += interface_addresses()
    return tuple(dict.fromkeys(found))


def interface_addresses() -> list[str]:
    """Usable global addresses of this machine's interfaces (Linux).

    Left out: loopback and link-local addresses, interfaces that are down or without
    carrier (a Docker bridge with no container), and IPv6 addresses still tentative or
    that failed duplicate address detection: none of those can be connected to reliably.
    """
    import fcntl  # Unix only
    import struct

    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:

        def ioctl(request: int, name: str) -> bytes | None:
            try:
                return fcntl.ioctl(sock.fileno(), request, struct.pack("256s", name.encode()[:15]))
            except OSError:
                return None

        def running(name: str) -> bool:
            reply = ioctl(_SIOCGIFFLAGS, name)
            if reply is None:
                return False
            flags: int = struct.unpack_from("H", reply, 16)[0]
            return flags & (_IFF_UP | _IFF_RUNNING) == _IFF_UP | _IFF_RUNNING

        for _, name in socket.if_nameindex():
            reply = ioctl(_SIOCGIFADDR, name)
            if reply is not None and running(name):
                ip4 = ipaddress.IPv4Address(reply[20:24])
                if not ip4.is_loopback:
                    found.append(str(ip4))
        lines: list[str] = []
        # thread-self: the calling thread's network namespace (/proc/net is the process's).
        for table_path in ("/proc/thread-self/net/if_inet6", "/proc/net/if_inet6"):
            try:
                with open(table_path, encoding="ascii") as table:
                    lines = table.read().splitlines()
                break
            except OSError:
                continue
        for line in lines:
            raw, _, _, _, flags, name = line.split()[:6]
            ip6 = ipaddress.IPv6Address(bytes.fromhex(raw))
            unusable = int(flags, 16) & (_IFA_F_TENTATIVE | _IFA_F_DADFAILED)
            if not (ip6.is_loopback or ip6.is_link_local or unusable) and running(name):
                found.append(str(ip6))
    return found

"""This machine's own addresses: loopback in every notation, ``localhost``'s, and its
interfaces' usable global addresses (Linux: ioctl and /proc)."""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["interface_addresses", "local_addresses"]

_IFA_F_DADFAILED = 0x08
_IFA_F_TENTATIVE = 0x40
_IFF_UP = 0x1
_IFF_RUNNING = 0x40
_SIOCGIFADDR = 0x8915
_SIOCGIFFLAGS = 0x8913


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

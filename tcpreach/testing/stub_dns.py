"""A DNS server on loopback (UDP, dnspython) that answers from a table: for rehearsals.

    zone = {"hello-server.fly.dev": {"A": ["127.0.0.2"], "AAAA": ["::1"]}}
    with StubDNS(zone) as dns_server:
        check_host("hello-server.fly.dev", CheckOptions(port=1848, resolver=dns_server.address))

A name missing from the table is NXDOMAIN; a name present without a record of the asked
type gets an empty answer (NOERROR, no data). ``slow`` delays the answers for some names;
``silent`` names are never answered (a resolver that does not answer; ``name/A`` leaves
only that type unanswered); ``rotate`` names
get one record of their list per answer, the next one each time (DNS that rotates);
``truncate`` names get an empty answer with the TC bit over UDP, and the full answer over
TCP on the same port (an answer too large for a datagram); ``lose_first`` leaves the first
copies of every question unanswered, as a lossy path would; ``servfail`` names get SERVFAIL.
A ``CNAME`` record is followed inside the table, as an authoritative server does (a target
that is not in it is NXDOMAIN); ``alias_only`` names get their CNAME alone, as a server
authoritative for the alias but not for its target answers.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

__all__ = ["StubDNS", "Zone"]

Zone = Mapping[str, Mapping[str, Sequence[str]]]


def _key(name: str) -> str:
    return name.rstrip(".").lower()


def _udp_and_tcp(family: socket.AddressFamily, host: str, port: int = 0) -> tuple[socket.socket, socket.socket]:
    """A UDP socket and a TCP listener on one port number, as a DNS server has. With port 0
    the kernel picks the UDP port; the TCP one may be taken by then, so a few ports are tried."""
    for _ in range(1 if port else 50):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        try:
            udp.bind((host, port))
            return udp, socket.create_server((host, udp.getsockname()[1]), family=family)
        except OSError:
            udp.close()
    raise OSError(f"no port on {host} was free for both UDP and TCP")


class StubDNS:
    def __init__(
        self,
        zone: Zone,
        host: str = "127.0.0.1",
        slow: Mapping[str, float] | None = None,
        silent: Iterable[str] = (),
        *,
        ttl: int = 30,
        rotate: Iterable[str] = (),
        truncate: Iterable[str] = (),
        lose_first: int = 0,
        servfail: Iterable[str] = (),
        port: int = 0,
        alias_only: Iterable[str] = (),
    ) -> None:
        self.zone = {_key(name): {t.upper(): list(v) for t, v in types.items()} for name, types in zone.items()}
        self.slow = {_key(name): delay for name, delay in (slow or {}).items()}
        self.silent = {name.rstrip(".").lower().replace("./", "/") for name in silent}
        self.rotate = {_key(name) for name in rotate}
        self.truncate = {_key(name) for name in truncate}
        self.servfail = {_key(name) for name in servfail}
        self.alias_only = {_key(name) for name in alias_only}
        """Aliases (CNAME) answered alone, as a server authoritative for the alias only does."""
        self.lose_first = lose_first  # the first N queries of each (name, type) go unanswered: a lossy path
        self._seen: dict[tuple[str, str], int] = {}
        self._turns: dict[tuple[str, str], int] = {}
        self.ttl = ttl
        self.queries: list[tuple[str, str]] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock, self._tcp = _udp_and_tcp(family, host, port)
        self._sock.settimeout(0.05)
        self._tcp.settimeout(0.05)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="stub-dns", daemon=True)
        self._tcp_thread = threading.Thread(target=self._serve_tcp, name="stub-dns-tcp", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        """The ``(ip, port)`` to pass as a resolver."""
        return self.host, self.port

    @property
    def spec(self) -> str:
        """The ``IP:PORT`` text for ``--resolver``."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def start(self) -> StubDNS:
        self._thread.start()
        self._tcp_thread.start()
        return self

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, contextlib.suppress(OSError, dns.exception.DNSException):
                conn.settimeout(2)
                size = int.from_bytes(conn.recv(2), "big")
                query = dns.message.from_wire(conn.recv(size))
                question = query.question[0]
                self.queries.append((_key(question.name.to_text()), f"{dns.rdatatype.to_text(question.rdtype)}/tcp"))
                wire = self._response(query).to_wire()
                conn.sendall(len(wire).to_bytes(2, "big") + wire)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(wire)
            except dns.exception.DNSException:  # garbage on the port is ignored
                continue
            question = query.question[0]
            name = _key(question.name.to_text())
            self.queries.append((name, dns.rdatatype.to_text(question.rdtype)))
            if name in self.silent or f"{name}/{dns.rdatatype.to_text(question.rdtype)}".lower() in self.silent:
                continue
            key = (name, dns.rdatatype.to_text(question.rdtype))
            self._seen[key] = self._seen.get(key, 0) + 1
            if self._seen[key] <= self.lose_first:
                continue
            if name in self.slow:
                threading.Thread(target=self._reply_later, args=(query, peer, self.slow[name]), daemon=True).start()
                continue
            self._reply(query, peer)

    def _reply_later(self, query: dns.message.Message, peer: tuple[str, int], delay: float) -> None:
        time.sleep(delay)
        if not self._stop.is_set():
            self._reply(query, peer)

    def _reply(self, query: dns.message.Message, peer: tuple[str, int]) -> None:
        if _key(query.question[0].name.to_text()) in self.truncate:
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA | dns.flags.TC
        else:
            response = self._response(query)
        with contextlib.suppress(OSError):
            self._sock.sendto(response.to_wire(), peer)

    def _response(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name, rdtype = _key(question.name.to_text()), dns.rdatatype.to_text(question.rdtype)
        owner = question.name
        records = self.zone.get(name)
        for _ in range(8):  # an alias is followed inside the zone, as an authoritative server does
            if records is None or "CNAME" not in records or rdtype == "CNAME":
                break
            target = dns.name.from_text(records["CNAME"][0])
            response.answer.append(dns.rrset.from_text_list(owner, self.ttl, dns.rdataclass.IN, "CNAME",
                                                            [target.to_text()]))  # fmt: skip
            if name in self.alias_only:  # the target is another server's: the resolver asks on
                return response
            owner, name = target, _key(target.to_text())
            records = self.zone.get(name)  # a target that is not here does not exist: NXDOMAIN
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif records is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            values = records.get(rdtype, [])
            if values and name in self.rotate:
                turn = self._turns.get((name, rdtype), 0)
                self._turns[(name, rdtype)] = turn + 1
                values = [values[turn % len(values)]]
            if values:
                response.answer.append(
                    dns.rrset.from_text_list(owner, self.ttl, dns.rdataclass.IN, question.rdtype, values)
                )
        return response

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._thread, self._tcp_thread):
            if thread.is_alive():
                thread.join(5)
        self._sock.close()
        self._tcp.close()

    def __enter__(self) -> StubDNS:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

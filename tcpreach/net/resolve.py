"""Gathering: a host's A and AAAA records (dnspython, on the running event loop), and the
system's own answer (``getaddrinfo``, bounded).

DNS failures come back as data (``DnsStatus``), never as exceptions. With an explicit
resolver, that server alone is asked: no ``getaddrinfo`` and no system resolver. Without
one, the servers of ``/etc/resolv.conf`` are asked directly, and ``getaddrinfo`` (the hosts
file, nsswitch) runs beside them in a daemon thread that is abandoned at the host's DNS
deadline: glibc's own timeouts (5 s a server, and its attempts) never hold a check up, and
a process never waits for such a thread to exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import threading
import time
import weakref
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from tcpreach.errors import UsageError
from tcpreach.model import DnsAnswer, DnsStatus, Family, Resolution
from tcpreach.net.loop import run_sync
from tcpreach.net.wait import receive_from
from tcpreach.options import CheckOptions
from tcpreach.settings.inputs import canonical_address, hostname_problem, is_literal, to_ascii
from tcpreach.standards.nat64 import IPV4ONLY_ARPA, prefix_from_ipv4only
from tcpreach.standards.special_names import SPECIAL_RESOLVER, special_answers

__all__ = [
    "MAX_ALIASES", "MAX_LOOKUP_THREADS", "RESEND_EVERY", "RESEND_FIRST", "ask", "nameservers", "query",
    "resolve", "resolve_async", "system_addresses",
]  # fmt: skip

RESEND_FIRST = RESEND_EVERY = 0.5
"""A query without an answer is sent again every half second, within its lifetime."""
MAX_LOOKUP_THREADS = 64
"""``getaddrinfo`` calls alive at once, per event loop: a hung system resolver holds at
most this many threads, and a lookup that finds none free within its deadline is not made."""

_CONFIGURED: dict[tuple[int, int], list[tuple[str, int]]] = {}


def nameservers(server: tuple[str, int] | None) -> list[tuple[str, int]]:
    """``server`` alone when given, else the system's configured name servers (read with
    dnspython, again only when ``/etc/resolv.conf`` changes)."""
    if server is not None:
        return [server]
    try:
        seen = os.stat("/etc/resolv.conf")
        key = (seen.st_mtime_ns, seen.st_ino)
    except OSError:
        key = (0, 0)
    if key not in _CONFIGURED:
        configured = dns.resolver.Resolver(configure=True)
        _CONFIGURED.clear()
        _CONFIGURED[key] = [(str(ns), configured.port) for ns in configured.nameservers]
    return list(_CONFIGURED[key])


async def ask(servers: list[tuple[str, int]], name: str, family: Family, lifetime: float, resend: bool) -> DnsAnswer:
    """One question (A or AAAA), asked over UDP until an answer or the end of ``lifetime``.

    With ``resend`` a question that has no answer yet is sent again every half second, to
    the next server in turn, on the same socket: an answer to any of the
    copies counts, so a lossy path costs time, not the answer. A truncated answer is asked
    again over TCP.
    """
    rdtype = dns.rdatatype.A if family is Family.IPV4 else dns.rdatatype.AAAA
    if not servers:
        return DnsAnswer(family, DnsStatus.NO_NAMESERVERS, detail="no name server is configured (/etc/resolv.conf)")
    question = dns.message.make_query(dns.name.from_text(name), rdtype)
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + lifetime
    sent = 0
    errors: list[str] = []
    sockets: dict[int, socket.socket] = {}
    wire = question.to_wire()
    try:
        wait = RESEND_FIRST
        while (now := time.monotonic()) < deadline:
            where = servers[sent % len(servers)]
            family_of_server = socket.AF_INET6 if ":" in where[0] else socket.AF_INET
            sock = sockets.get(family_of_server)
            try:
                if sock is None:
                    sock = sockets[family_of_server] = socket.socket(family_of_server, socket.SOCK_DGRAM)
                    sock.setblocking(False)
                await loop.sock_sendto(sock, wire, where)
                sent += 1
            except OSError as exc:
                errors.append(f"{_label(where)}: {exc.strerror or exc}")
                if len(errors) >= len(servers) and not sent:
                    break
                await asyncio.sleep(0.05)  # a server we cannot send to: try the next, never in a busy loop
                continue
            expiration = min(deadline, now + wait) if resend else deadline
            wait = RESEND_EVERY
            response = await _receive(sock, question, expiration)
            if response is None:
                await asyncio.sleep(max(0.0, expiration - time.monotonic()))  # never faster than the schedule
                continue
            if response.flags & dns.flags.TC:
                left = max(0.1, deadline - time.monotonic())
                response = await dns.asyncquery.tcp(question, where[0], timeout=left, port=where[1])
            return _answer(response, name, family, rdtype)
    except dns.exception.Timeout:
        pass
    except (OSError, dns.exception.DNSException) as exc:
        return DnsAnswer(family, DnsStatus.ERROR, detail=f"{type(exc).__name__}: {exc}")
    finally:
        for sock in sockets.values():
            sock.close()
    if not sent:
        return DnsAnswer(family, DnsStatus.NO_NAMESERVERS, detail="; ".join(dict.fromkeys(errors)))
    tries = f"{sent} {'query' if sent == 1 else 'queries'} sent"
    return DnsAnswer(family, DnsStatus.TIMEOUT, detail=f"no answer within {lifetime:g} s, {tries}")


async def _receive(sock: socket.socket, question: dns.message.Message, expiration: float) -> dns.message.Message | None:
    """The response to any copy of ``question``, or ``None`` at ``expiration`` (monotonic)."""
    while True:
        left = expiration - time.monotonic()
        try:
            if left > 0:
                async with asyncio.timeout(left):
                    data, _ = await receive_from(sock, 65535)
            else:  # past the expiration: what is in the socket came in time, however late the loop
                data, _ = sock.recvfrom(65535)
        except TimeoutError:
            continue  # the next pass takes the last looks
        except BlockingIOError:
            return None
        except OSError:
            if left <= 0:
                return None
            continue  # an ICMP error for an earlier copy: the schedule goes on
        try:
            response = dns.message.from_wire(data)
        except dns.exception.FormError:
            continue  # garbage on our port: not an answer
        if question.is_response(response):
            return response


def _answer(response: dns.message.Message, name: str, family: Family, rdtype: dns.rdatatype.RdataType) -> DnsAnswer:
    chained = response.resolve_chaining() if isinstance(response, dns.message.QueryMessage) else None
    cnames = tuple(str(rrset[0].target).rstrip(".") for rrset in chained.cnames) if chained else ()
    rcode = response.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        detail = (
            f"{name} is an alias (CNAME) of {cnames[-1]}, which does not exist (NXDOMAIN)"
            if cnames
            else f"{name} does not exist (NXDOMAIN)"
        )
        return DnsAnswer(family, DnsStatus.NXDOMAIN, detail=detail, cnames=cnames)
    if rcode != dns.rcode.NOERROR:
        return DnsAnswer(family, DnsStatus.ERROR, detail=f"the server answered {dns.rcode.to_text(rcode)}")
    rrset = None if chained is None else chained.answer
    addresses = tuple(sorted({canonical_address(rdata.to_text()) for rdata in rrset or ()}))  # CNAMEs followed
    if not addresses or rrset is None:
        last = cnames[-1] if cnames else name
        return DnsAnswer(family, DnsStatus.NO_ANSWER, detail=f"{last} has no {rdtype.name} record", cnames=cnames)
    return DnsAnswer(family, DnsStatus.OK, addresses, ttl=rrset.ttl, cnames=cnames)


MAX_ALIASES = 8
"""CNAMEs followed, at most (a loop ends there)."""


async def query(servers: list[tuple[str, int]], name: str, family: Family, lifetime: float, resend: bool) -> DnsAnswer:
    """``ask`` the question, then, when the answer is an alias and nothing more (a server
    authoritative for the alias alone), ask again for the name it points at: the whole
    chain within ``lifetime``."""
    deadline = time.monotonic() + lifetime
    answer = await ask(servers, name, family, lifetime, resend)
    seen = [name.rstrip(".").lower()]
    while answer.status is DnsStatus.NO_ANSWER and answer.cnames and len(seen) <= MAX_ALIASES:
        target = answer.cnames[-1]
        left = deadline - time.monotonic()
        if target.lower() in seen or left <= 0:
            break
        seen.append(target.lower())
        further = await ask(servers, target, family, left, resend)
        answer = dataclasses.replace(further, cnames=(*answer.cnames, *further.cnames))
        if further.status is DnsStatus.NXDOMAIN:
            answer = dataclasses.replace(
                answer, detail=f"{name} is an alias (CNAME) of {answer.cnames[-1]}, which does not exist (NXDOMAIN)"
            )
    return answer


_LOOKUP_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _getaddrinfo(name: str) -> tuple[tuple[str, ...], str | None]:
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return (), f"getaddrinfo: {exc.strerror}"
    except (OSError, UnicodeError) as exc:
        return (), f"getaddrinfo: {exc}"
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos)), None


async def system_addresses(name: str, timeout: float) -> tuple[tuple[str, ...] | None, str | None]:
    """What ``getaddrinfo`` (hosts file, nsswitch, the system resolver) returns within
    ``timeout``; ``(None, why)`` when it has not answered by then. The call runs in a daemon
    thread of its own (made here, so in this thread's network namespace), which is left to
    finish alone when it is late."""
    loop = asyncio.get_running_loop()
    slots = _LOOKUP_SLOTS.setdefault(loop, asyncio.Semaphore(MAX_LOOKUP_THREADS))
    answered: asyncio.Future[tuple[tuple[str, ...], str | None]] = loop.create_future()
    late = f"getaddrinfo: no answer within {timeout:g} s (the system resolver; abandoned)"
    try:
        async with asyncio.timeout(timeout):
            await slots.acquire()
    except TimeoutError:
        return None, late

    def lookup() -> None:
        found = _getaddrinfo(name)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(_settle, answered, found, slots)

    threading.Thread(target=lookup, name="tcpreach-getaddrinfo", daemon=True).start()
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.shield(answered)
    except TimeoutError:
        return None, late


def _settle(answered: asyncio.Future[Any], found: Any, slots: asyncio.Semaphore) -> None:
    slots.release()
    if not answered.done():
        answered.set_result(found)


_DNS64: dict[tuple[tuple[str, int], ...], str | None] = {}


async def dns64_prefix(servers: list[tuple[str, int]], lifetime: float, resend: bool) -> str | None:
    """The NAT64 prefix these name servers synthesize AAAA records with, asked once per
    process as RFC 7050 says (the AAAA of ``ipv4only.arpa``); ``None``: they do not."""
    key = tuple(servers)
    if key not in _DNS64:
        answer = await query(servers, IPV4ONLY_ARPA, Family.IPV6, lifetime, resend)
        if answer.status is DnsStatus.TIMEOUT and key not in _DNS64:
            return None  # not known yet: asked again for the next name
        _DNS64[key] = prefix_from_ipv4only(answer.addresses)
    return _DNS64[key]


async def resolve_async(host: str, options: CheckOptions | None = None) -> Resolution:
    """Query A and AAAA (``options.families``) concurrently, through ``options.resolver``
    alone when given, all within ``options.dns_lifetime``, resending a lost query when
    ``options.retries`` is above 0; keep the system's view beside them (within the same
    deadline) unless an explicit resolver was given. A literal host needs no DNS at all."""
    opts = CheckOptions() if options is None else options
    families, resolver, lifetime, resend = opts.families, opts.resolver, opts.dns_lifetime, opts.retries > 0
    resolver_label = "system" if resolver is None else _label(resolver)
    if is_literal(host):
        return Resolution(host, literal=True, resolver=resolver_label)
    try:
        ascii_host = to_ascii(host)
    except UsageError as exc:
        return Resolution(host, resolver=resolver_label, invalid_name=str(exc))
    given = host if ascii_host != host else None
    host = ascii_host
    problem = hostname_problem(host)
    if problem is not None:
        return Resolution(host, resolver=resolver_label, invalid_name=problem, unicode_host=given)
    special = special_answers(host, families)
    if special is not None:
        return Resolution(host, resolver=SPECIAL_RESOLVER, dns=special, unicode_host=given)
    try:
        servers = nameservers(resolver)
    except dns.resolver.NoResolverConfiguration as exc:
        answers = tuple(DnsAnswer(f, DnsStatus.NO_NAMESERVERS, detail=str(exc)) for f in families)
        return Resolution(host, resolver=resolver_label, dns=answers)
    deadline = time.monotonic() + lifetime
    system = asyncio.ensure_future(system_addresses(host, lifetime)) if resolver is None else None
    answers = tuple(await asyncio.gather(*(query(servers, host, family, lifetime, resend) for family in families)))
    system_view, system_error = await system if system is not None else (None, None)
    left = deadline - time.monotonic()
    prefix = (
        await dns64_prefix(servers, left, resend)
        if left > 0 and any(a.addresses for a in answers if a.family is Family.IPV6)
        else None
    )
    return Resolution(
        host, resolver=resolver_label, dns=answers, system=system_view, system_error=system_error, unicode_host=given,
        dns64_prefix=prefix,
    )  # fmt: skip


def resolve(host: str, options: CheckOptions | None = None) -> Resolution:
    """``resolve_async`` from synchronous code."""
    return run_sync(resolve_async(host, options))


def _label(resolver: tuple[str, int]) -> str:
    host = f"[{resolver[0]}]" if ":" in resolver[0] else resolver[0]
    return f"{host}:{resolver[1]}"

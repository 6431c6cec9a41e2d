"""Gathering: a host's A and AAAA records (dnspython), and the system's own answer.

DNS failures come back as data (``DnsStatus``), never as exceptions. With an explicit
resolver, that server alone is asked: no ``getaddrinfo`` and no system resolver.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from tcpreach.errors import UsageError
from tcpreach.model import DnsAnswer, DnsStatus, Family, Resolution
from tcpreach.options import CheckOptions
from tcpreach.settings.inputs import hostname_problem, is_literal, to_ascii
from tcpreach.standards.nat64 import IPV4ONLY_ARPA, prefix_from_ipv4only
from tcpreach.standards.special_names import SPECIAL_RESOLVER, special_answers

__all__ = ["MAX_ALIASES", "RESEND_EVERY", "RESEND_FIRST", "ask", "nameservers", "query", "resolve", "system_addresses"]

RESEND_FIRST = RESEND_EVERY = 0.5
"""A query without an answer is sent again every half second, within its lifetime."""


def nameservers(server: tuple[str, int] | None) -> list[tuple[str, int]]:
    """``server`` alone when given, else the system's configured name servers."""
    if server is not None:
        return [server]
    configured = dns.resolver.Resolver(configure=True)
    return [(str(ns), configured.port) for ns in configured.nameservers]


def ask(servers: list[tuple[str, int]], name: str, family: Family, lifetime: float, resend: bool) -> DnsAnswer:
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
    deadline = time.time() + lifetime  # dnspython's expirations are wall-clock times
    sent = 0
    errors: list[str] = []
    sockets: dict[int, socket.socket] = {}
    try:
        wait = RESEND_FIRST
        while (now := time.time()) < deadline:
            where = servers[sent % len(servers)]
            family_of_server = socket.AF_INET6 if ":" in where[0] else socket.AF_INET
            sock = sockets.get(family_of_server)
            if sock is None:
                sock = sockets[family_of_server] = socket.socket(family_of_server, socket.SOCK_DGRAM)
                sock.setblocking(False)  # dnspython waits for readability up to each expiration
            try:
                dns.query.send_udp(sock, question, where, deadline)
                sent += 1
            except OSError as exc:
                errors.append(f"{_label(where)}: {exc.strerror or exc}")
                if len(errors) >= len(servers) and not sent:
                    break
                time.sleep(0.05)  # a server we cannot send to: try the next, never in a busy loop
                continue
            expiration = min(deadline, now + wait) if resend else deadline
            wait = RESEND_EVERY
            response = _receive(sock, question, expiration)
            if response is None:
                time.sleep(max(0.0, expiration - time.time()))  # never faster than the schedule
                continue
            if response.flags & dns.flags.TC:
                response = dns.query.tcp(question, where[0], timeout=max(0.1, deadline - time.time()), port=where[1])
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


def _receive(sock: socket.socket, question: dns.message.Message, expiration: float) -> dns.message.Message | None:
    """The response to any copy of ``question``, or ``None`` at ``expiration``."""
    while True:
        try:
            received = dns.query.receive_udp(sock, None, expiration, ignore_unexpected=True)
            response: dns.message.Message = received[0]
        except dns.exception.Timeout:
            return None
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
    addresses = tuple(sorted({rdata.to_text() for rdata in rrset or ()}))  # CNAMEs followed
    if not addresses or rrset is None:
        last = cnames[-1] if cnames else name
        return DnsAnswer(family, DnsStatus.NO_ANSWER, detail=f"{last} has no {rdtype.name} record", cnames=cnames)
    return DnsAnswer(family, DnsStatus.OK, addresses, ttl=rrset.ttl, cnames=cnames)


MAX_ALIASES = 8
"""CNAMEs followed, at most (a loop ends there)."""


def query(servers: list[tuple[str, int]], name: str, family: Family, lifetime: float, resend: bool) -> DnsAnswer:
    """``ask`` the question, then, when the answer is an alias and nothing more (a server
    authoritative for the alias alone), ask again for the name it points at."""
    answer = ask(servers, name, family, lifetime, resend)
    seen = [name.rstrip(".").lower()]
    while answer.status is DnsStatus.NO_ANSWER and answer.cnames and len(seen) <= MAX_ALIASES:
        target = answer.cnames[-1]
        if target.lower() in seen:
            break
        seen.append(target.lower())
        further = ask(servers, target, family, lifetime, resend)
        answer = dataclasses.replace(further, cnames=(*answer.cnames, *further.cnames))
        if further.status is DnsStatus.NXDOMAIN:
            answer = dataclasses.replace(
                answer, detail=f"{name} is an alias (CNAME) of {answer.cnames[-1]}, which does not exist (NXDOMAIN)"
            )
    return answer


def system_addresses(name: str) -> tuple[tuple[str, ...] | None, str | None]:
    """What ``getaddrinfo`` (hosts file, nsswitch, the system resolver) returns."""
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return (), f"getaddrinfo: {exc.strerror}"
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos)), None


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()
QUERY_THREADS = 96
"""Queries (and ``getaddrinfo`` calls) in flight at once, shared by every ``resolve`` of the
process: 32 names resolved at once ask three questions each. Threads are made once, not per
name (a thread costs more than a query on loopback)."""


def _network_namespace() -> int:
    """The calling thread's network namespace (a thread's sockets are made in the namespace
    of the thread that runs them, and a thread starts in its creator's)."""
    try:
        return os.stat("/proc/thread-self/ns/net").st_ino
    except OSError:
        return 0


def _queries() -> ThreadPoolExecutor:
    """The pool for the caller's network namespace: never a thread of another one."""
    key = _network_namespace()
    with _POOL_LOCK:
        if key not in _POOLS:
            _POOLS[key] = ThreadPoolExecutor(max_workers=QUERY_THREADS, thread_name_prefix="tcpreach-dns")
        return _POOLS[key]


_DNS64: dict[tuple[tuple[str, int], ...], str | None] = {}


def dns64_prefix(servers: list[tuple[str, int]], lifetime: float, resend: bool) -> str | None:
    """The NAT64 prefix these name servers synthesize AAAA records with, asked once per
    process as RFC 7050 says (the AAAA of ``ipv4only.arpa``); ``None``: they do not."""
    key = tuple(servers)
    if key not in _DNS64:
        answer = query(servers, IPV4ONLY_ARPA, Family.IPV6, lifetime, resend)
        _DNS64[key] = prefix_from_ipv4only(answer.addresses)
    return _DNS64[key]


def resolve(host: str, options: CheckOptions | None = None) -> Resolution:
    """Query A and AAAA (``options.families``) concurrently, through ``options.resolver``
    alone when given, each within ``options.dns_lifetime``, resending a lost query when
    ``options.retries`` is above 0; keep the system's view beside them unless an explicit
    resolver was given. A literal host needs no DNS at all."""
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
    pool = _queries()
    futures = [pool.submit(query, servers, host, family, lifetime, resend) for family in families]
    system = pool.submit(system_addresses, host) if resolver is None else None
    answers = tuple(f.result() for f in futures)
    system_view, system_error = system.result() if system is not None else (None, None)
    prefix = (
        dns64_prefix(servers, lifetime, resend)
        if any(a.addresses for a in answers if a.family is Family.IPV6)
        else None
    )
    return Resolution(
        host, resolver=resolver_label, dns=answers, system=system_view, system_error=system_error, unicode_host=given,
        dns64_prefix=prefix,
    )  # fmt: skip


def _label(resolver: tuple[str, int]) -> str:
    host = f"[{resolver[0]}]" if ":" in resolver[0] else resolver[0]
    return f"{host}:{resolver[1]}"

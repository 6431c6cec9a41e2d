"""Gathering: a host's A and AAAA records (dnspython), and the system's own answer.

DNS failures come back as data (``DnsStatus``), never as exceptions. With an explicit
resolver, that server alone is asked: no ``getaddrinfo`` and no system resolver.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from tcpreach.model import DnsAnswer, DnsStatus, Family, Resolution
from tcpreach.options import BOTH, DEFAULT_LIFETIME
from tcpreach.targets import hostname_problem, is_literal


def make_resolver(server: tuple[str, int] | None, lifetime: float) -> dns.resolver.Resolver:
    """The system's configured resolver, or only ``server`` when one is given."""
    if server is None:
        resolver = dns.resolver.Resolver(configure=True)
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [server[0]]
        resolver.port = server[1]
    resolver.lifetime = lifetime
    resolver.timeout = min(lifetime, 2.0)
    return resolver


def query(resolver: dns.resolver.Resolver, name: str, family: Family) -> DnsAnswer:
    rdtype = dns.rdatatype.A if family is Family.IPV4 else dns.rdatatype.AAAA
    try:
        answer = resolver.resolve(dns.name.from_text(name), rdtype, search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return DnsAnswer(family, DnsStatus.NXDOMAIN, detail=f"{name} does not exist (NXDOMAIN)")
    except dns.resolver.LifetimeTimeout as exc:
        return DnsAnswer(family, DnsStatus.TIMEOUT, detail=f"no answer within {resolver.lifetime:g} s: {exc}")
    except dns.resolver.NoNameservers as exc:
        return DnsAnswer(family, DnsStatus.NO_NAMESERVERS, detail=f"no name server answered: {exc}")
    except dns.exception.DNSException as exc:
        return DnsAnswer(family, DnsStatus.ERROR, detail=f"{type(exc).__name__}: {exc}")
    addresses = tuple(sorted({rdata.to_text() for rdata in answer}))  # CNAMEs already followed
    if not addresses:
        return DnsAnswer(family, DnsStatus.NO_ANSWER, detail=f"{name} has no {rdtype.name} record")
    return DnsAnswer(family, DnsStatus.OK, addresses)


def system_addresses(name: str) -> tuple[tuple[str, ...] | None, str | None]:
    """What ``getaddrinfo`` (hosts file, nsswitch, the system resolver) returns."""
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return (), f"getaddrinfo: {exc.strerror}"
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos)), None


def resolve(
    host: str,
    families: tuple[Family, ...] = BOTH,
    resolver: tuple[str, int] | None = None,
    lifetime: float = DEFAULT_LIFETIME,
) -> Resolution:
    """Query A and AAAA concurrently; keep the system's view beside them unless an
    explicit ``resolver`` was given. A literal host needs no DNS at all."""
    resolver_label = "system" if resolver is None else _label(resolver)
    if is_literal(host):
        return Resolution(host, literal=True, resolver=resolver_label)
    problem = hostname_problem(host)
    if problem is not None:
        return Resolution(host, resolver=resolver_label, invalid_name=problem)
    try:
        dns_resolver = make_resolver(resolver, lifetime)
    except dns.resolver.NoResolverConfiguration as exc:
        answers = tuple(DnsAnswer(f, DnsStatus.NO_NAMESERVERS, detail=str(exc)) for f in families)
        return Resolution(host, resolver=resolver_label, dns=answers)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(query, dns_resolver, host, family) for family in families]
        system = pool.submit(system_addresses, host) if resolver is None else None
        answers = tuple(f.result() for f in futures)
        system_view, system_error = system.result() if system is not None else (None, None)
    return Resolution(host, resolver=resolver_label, dns=answers, system=system_view, system_error=system_error)


def _label(resolver: tuple[str, int]) -> str:
    host = f"[{resolver[0]}]" if ":" in resolver[0] else resolver[0]
    return f"{host}:{resolver[1]}"

"""Findings from the DNS answers alone, before any probe. Pure."""

from __future__ import annotations

from tcpreach.findings import Finding, FindingCode, Severity
from tcpreach.fly.remedies import fly_name, is_fly_name
from tcpreach.model import DnsStatus, Family, Resolution
from tcpreach.standards.nat64 import synthesized_by

__all__ = ["dns_findings"]


def _dangling(host: str, aliases: tuple[str, ...]) -> Finding:
    """The name exists, as an alias of a name that does not."""
    gone = aliases[-1]
    via = f" by way of {', '.join(aliases[:-1])}" if len(aliases) > 1 else ""
    if is_fly_name(gone):
        app = gone.rstrip(".").removesuffix(".fly.dev")
        remedy = (
            f"the Fly app {app!r} no longer exists (deleted, or renamed): point {host}'s CNAME at the app's "
            f"current <app>.fly.dev ('fly apps list'), and add the domain to it with 'fly certs add {host}'"
        )
    else:
        remedy = f"point {host}'s CNAME at a name that exists, or remove the alias"
    return Finding(
        FindingCode.DANGLING_CNAME,
        Severity.ERROR,
        f"{host} exists, as an alias (CNAME) of {gone}{via}, which does not exist: the alias points at a name "
        "that is gone",
        remedy,
    )


def _no_address(host: str) -> Finding:
    """The name exists (NOERROR) with neither A nor AAAA: nothing to connect to."""
    if is_fly_name(host):
        remedy = (
            "the app has no public address yet (a non-interactive first deploy allocates none): "
            "'fly ips allocate-v6' (free) and, for raw TCP over IPv4, 'fly ips allocate-v4' ($2/month); "
            "'fly ips list' shows what it has"
        )
    else:
        remedy = "publish the service's addresses: an A record for IPv4 and an AAAA record for IPv6"
    return Finding(
        FindingCode.NO_ADDRESS,
        Severity.ERROR,
        f"{host} exists but has no A and no AAAA record: there is no address to connect to",
        remedy,
    )


def dns_findings(resolution: Resolution) -> list[Finding]:
    """What the DNS answers alone show: a name that is invalid or does not exist, lost
    queries, a family without addresses, and the system resolver disagreeing with DNS."""
    host = resolution.host
    if resolution.invalid_name is not None:
        return [
            Finding(
                FindingCode.INVALID_NAME,
                Severity.ERROR,
                f"{host!r} is not a valid host name: {resolution.invalid_name}",
                "check the spelling; give a name such as my-app.fly.dev, or an IP address",
            )
        ]
    if resolution.literal:
        return []
    answers = {a.family: a for a in resolution.dns}
    statuses = {a.status for a in resolution.dns}
    findings: list[Finding] = []
    if answers and statuses == {DnsStatus.NXDOMAIN} and resolution.aliases:
        findings.append(_dangling(host, resolution.aliases))
    elif answers and statuses == {DnsStatus.NXDOMAIN}:
        findings.append(
            Finding(
                FindingCode.NXDOMAIN,
                Severity.ERROR,
                f"{host} does not exist in DNS (NXDOMAIN from {resolution.resolver})",
                "check the name; for a Fly app, 'fly apps list' shows the names, and a new app's "
                "<app>.fly.dev appears once it has an IP ('fly ips list')",
            )
        )
    findings += _lost_queries(resolution)
    findings += _missing_family(resolution)
    findings += _mismatch(resolution)
    return findings


def _lost_queries(resolution: Resolution) -> list[Finding]:
    """Queries that timed out (beside others that were answered, or all of them) or failed."""
    host = resolution.host
    findings: list[Finding] = []
    timed_out = [a for a in resolution.dns if a.status is DnsStatus.TIMEOUT]
    answered = [a for a in resolution.dns if a.status in (DnsStatus.OK, DnsStatus.NO_ANSWER, DnsStatus.NXDOMAIN)]
    if timed_out and answered:
        lost = " and ".join(a.rdtype for a in timed_out)
        findings.append(
            Finding(
                FindingCode.DNS_TIMEOUT,
                Severity.ERROR,
                f"{lost} for {host} timed out at {resolution.resolver} ({timed_out[0].detail}) while "
                f"{' and '.join(a.rdtype for a in answered)} answered: the {lost} addresses were never tested",
                f"the resolver, or the path to it, lost or dropped the {lost} queries: run the check again; if it "
                "repeats, ask another resolver (--resolver IP[:PORT]) and tell the resolver's operator",
            )
        )
    elif timed_out:
        findings.append(
            Finding(
                FindingCode.DNS_TIMEOUT,
                Severity.ERROR,
                f"{resolution.resolver} answered no query for {host} ({timed_out[0].detail})",
                "check that the resolver is reachable from here (--resolver IP[:PORT] to choose one), then retry",
            )
        )
    failed = [a for a in resolution.dns if a.status in (DnsStatus.NO_NAMESERVERS, DnsStatus.ERROR)]
    if failed:
        findings.append(
            Finding(
                FindingCode.DNS_ERROR,
                Severity.ERROR,
                f"{' and '.join(a.rdtype for a in failed)} for {host} failed at {resolution.resolver}: "
                f"{failed[0].detail}",
                "check the resolver configuration (/etc/resolv.conf, or --resolver IP[:PORT])",
            )
        )
    return findings


def _missing_family(resolution: Resolution) -> list[Finding]:
    """One family answered with addresses, the other with none: its clients cannot connect."""
    host = resolution.host
    answers = {a.family: a for a in resolution.dns}
    findings: list[Finding] = []
    a, aaaa = answers.get(Family.IPV4), answers.get(Family.IPV6)
    if a is not None and aaaa is not None and a.status is aaaa.status is DnsStatus.NO_ANSWER:
        return [_no_address(fly_name(resolution.names) or host)]
    if a is not None and aaaa is not None:
        if a.status is DnsStatus.NO_ANSWER and aaaa.status is DnsStatus.OK:
            findings.append(
                Finding(
                    FindingCode.NO_A,
                    Severity.WARNING,
                    f"{host} has AAAA records but no A record: IPv4-only clients cannot reach it",
                    "on Fly.io, 'fly ips allocate-v4' gives raw TCP a dedicated IPv4 ($2/month)",
                )
            )
        made_up = [x for x in aaaa.addresses if synthesized_by(x, resolution.dns64_prefix)]
        if a.status is DnsStatus.OK and (
            aaaa.status is DnsStatus.NO_ANSWER
            or (aaaa.status is DnsStatus.OK and bool(made_up) and made_up == list(aaaa.addresses))
        ):
            dns64 = (
                f" of its own: this network's DNS64 made up {', '.join(made_up)}, the IPv4 through its NAT64,"
                if made_up
                else ":"
            )
            findings.append(
                Finding(
                    FindingCode.NO_AAAA,
                    Severity.WARNING,
                    f"{host} has A records but no AAAA record{dns64} IPv6-only clients without NAT64 cannot reach it",
                    "on Fly.io, 'fly ips allocate-v6' gives the app a dedicated IPv6 (free)",
                )
            )
    return findings


def _mismatch(resolution: Resolution) -> list[Finding]:
    if resolution.system is None or not resolution.dns:
        return []
    queried = {a.family for a in resolution.dns if a.status in (DnsStatus.OK, DnsStatus.NO_ANSWER)}
    if not queried:
        return []
    dns_view = set(resolution.dns_addresses)
    system_view = {addr for addr in resolution.system if Family.of(addr) in queried}
    if dns_view == system_view:
        return []
    only_system = sorted(system_view - dns_view)
    only_dns = sorted(dns_view - system_view)
    parts = []
    if only_system:
        parts.append(f"getaddrinfo alone returns {', '.join(only_system)}")
    if only_dns:
        parts.append(f"DNS alone returns {', '.join(only_dns)}")
    return [
        Finding(
            FindingCode.DNS_MISMATCH,
            Severity.WARNING,
            f"this machine's resolver and DNS disagree for {resolution.host}: {'; '.join(parts)}",
            "programs here connect to getaddrinfo's answer: look for a hosts-file entry, a stale "
            "cache or a split-horizon resolver",
            tuple(only_system + only_dns),
        )
    ]

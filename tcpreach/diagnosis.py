"""What a host's verdicts mean for the deployment: a pure function, tested without sockets.

Each finding has a stable code (used in reports, JSON and tests), a severity, a message
saying what was seen and a remedy saying what to do. Severity ``error`` means the
deployment fails some clients; ``warning`` is worth knowing (often about this client);
``info`` is good news or context.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tcpreach.model import (
    DnsStatus,
    Family,
    Finding,
    Resolution,
    Severity,
    TargetOutcome,
    Verdict,
)

FLY_SHARED_IPV4 = "fly-shared-ipv4"
FLY_SHARED_IPV4_SUSPECTED = "fly-shared-ipv4-suspected"
EDGE_NO_APP = "edge-no-app"
ALL_OK = "all-ok"
FLY_DEDICATED_IPV4_REMEDY = (
    "run 'fly ips allocate-v4' (dedicated IPv4, $2/month), then optionally "
    "'fly ips release <shared address>'; or serve this port through the 'tls' handler "
    "so clients send SNI"
)
FLY_SHARED_IPV4_CAUSE = (
    "Fly.io's shared IPv4 cannot route raw TCP: its edge picks the app from the HTTP Host "
    "header or the TLS SNI, and a raw stream has neither"
)

_VERDICT_REMEDIES: dict[Verdict, str] = {
    Verdict.CLOSED_WITHOUT_DATA: (
        "a proxy accepted the connection but found no backend: is the app listening on "
        "0.0.0.0 or [::] (not 127.0.0.1) on the internal port? Behind docker-proxy, is it up yet?"
    ),
    Verdict.RESET: "the server reset the connection: check its logs for crashes or a full accept queue",
    Verdict.WRONG_GREETING: "another service answers on this port, or --expect is not what the server writes",
    Verdict.TRUNCATED: "the server must write the whole greeting before closing",
    Verdict.EXTRA_DATA: "the server writes more than the greeting: check --expect or the server",
    Verdict.NO_CLOSE: "the server must close the connection after the greeting",
    Verdict.SILENT: "something accepts but never writes: a stuck server, or a proxy with an HTTP handler",
    Verdict.REFUSED: "nothing listens there: is the service running, on this port?",
    Verdict.TIMEOUT: "no answer at all: a firewall drops the packets, or the host is down",
    Verdict.UNREACHABLE: (
        "a router on the way answered that the address is unreachable (ICMP): the server's network, its "
        "routes or a firewall rule that rejects; this client's own routes are fine"
    ),
    Verdict.TLS_HANDSHAKE_FAILED: (
        "the server refused the handshake for this name: on Fly.io's shared IPv4, an SNI that is not the app's "
        "own name (<app>.fly.dev or a certificate added with 'fly certs add') is refused; check --sni"
    ),
    Verdict.TLS_UNTRUSTED: "the chain does not lead to a CA this client trusts: pass --ca FILE for a private CA, or "
    "serve the full chain",
    Verdict.TLS_NAME_MISMATCH: "the certificate is for other names: ask for one of them with --sni, or issue a "
    "certificate for this name ('fly certs add NAME')",
    Verdict.TLS_EXPIRED: "renew the certificate ('fly certs show NAME' on Fly.io)",
    Verdict.TLS_NOT_SPOKEN: "this port speaks plain TCP: probe it without --tls, or put the 'tls' handler on it",
}
_NO_ROUTE_REMEDY = "this client has no route to that address: test from a host that has one"


def verdict_remedy(outcome: TargetOutcome) -> str:
    """What to do about one target's verdict, when no finding explains it better."""
    if outcome.verdict is Verdict.UNREACHABLE and outcome.result.no_route:
        return _NO_ROUTE_REMEDY
    return _VERDICT_REMEDIES.get(outcome.verdict, "")


def _by_family(outcomes: Sequence[TargetOutcome], family: Family) -> list[TargetOutcome]:
    return [o for o in outcomes if o.target.family is family]


def _all(outcomes: Sequence[TargetOutcome], *verdicts: Verdict) -> bool:
    return bool(outcomes) and all(o.verdict in verdicts for o in outcomes)


def _any(outcomes: Sequence[TargetOutcome], *verdicts: Verdict) -> bool:
    return any(o.verdict in verdicts for o in outcomes)


def _addresses(outcomes: Iterable[TargetOutcome]) -> tuple[str, ...]:
    return tuple(o.target.address for o in outcomes)


def _listing(outcomes: Iterable[TargetOutcome]) -> str:
    return ", ".join(f"{o.target.address} {o.verdict}" for o in outcomes)


def is_fly_name(host: str) -> bool:
    """``<app>.fly.dev``: a name Fly.io's edge answers for."""
    return host.rstrip(".").endswith(".fly.dev")


def diagnose(
    resolution: Resolution,
    outcomes: Sequence[TargetOutcome],
    predicted_dedicated_ipv4: bool = False,
    plain_ipv4: Sequence[TargetOutcome] = (),
) -> tuple[Finding, ...]:
    """All findings for one host, errors first.

    ``predicted_dedicated_ipv4``: the offline fly.toml lint predicted that this service
    needs a dedicated IPv4 (flyctl's own rule); a live shared-IPv4 failure confirms it.
    ``plain_ipv4``: plain-TCP probes of the IPv4 targets beside ``outcomes`` over TLS, to
    tell whether TLS with SNI is the only way through a shared IPv4.
    """
    findings = [
        *_dns_findings(resolution),
        *_probe_findings(resolution, outcomes, predicted_dedicated_ipv4),
        *_tls_findings(outcomes),
        *tls_path_findings(resolution.host, outcomes, plain_ipv4),
    ]
    if any(f.severity is Severity.ERROR for f in findings):
        findings = [f for f in findings if f.code != ALL_OK]  # never "all ok" beside an error
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return tuple(sorted(findings, key=lambda f: (order[f.severity], f.code == ALL_OK)))  # all-ok sums up, last


def _dns_findings(resolution: Resolution) -> list[Finding]:
    host = resolution.host
    if resolution.invalid_name is not None:
        return [
            Finding(
                "invalid-name",
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
    if answers and statuses == {DnsStatus.NXDOMAIN}:
        findings.append(
            Finding(
                "nxdomain",
                Severity.ERROR,
                f"{host} does not exist in DNS (NXDOMAIN from {resolution.resolver})",
                "check the name; for a Fly app, 'fly apps list' shows the names, and a new app's "
                "<app>.fly.dev appears once it has an IP ('fly ips list')",
            )
        )
    timed_out = [a for a in resolution.dns if a.status is DnsStatus.TIMEOUT]
    answered = [a for a in resolution.dns if a.status in (DnsStatus.OK, DnsStatus.NO_ANSWER, DnsStatus.NXDOMAIN)]
    if timed_out and answered:
        lost = " and ".join(a.rdtype for a in timed_out)
        findings.append(
            Finding(
                "dns-timeout",
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
                "dns-timeout",
                Severity.ERROR,
                f"{resolution.resolver} answered no query for {host} ({timed_out[0].detail})",
                "check that the resolver is reachable from here (--resolver IP[:PORT] to choose one), then retry",
            )
        )
    failed = [a for a in resolution.dns if a.status in (DnsStatus.NO_NAMESERVERS, DnsStatus.ERROR)]
    if failed:
        findings.append(
            Finding(
                "dns-error",
                Severity.ERROR,
                f"{' and '.join(a.rdtype for a in failed)} for {host} failed at {resolution.resolver}: "
                f"{failed[0].detail}",
                "check the resolver configuration (/etc/resolv.conf, or --resolver IP[:PORT])",
            )
        )
    a, aaaa = answers.get(Family.IPV4), answers.get(Family.IPV6)
    if a is not None and aaaa is not None:
        if a.status is DnsStatus.NO_ANSWER and aaaa.status is DnsStatus.OK:
            findings.append(
                Finding(
                    "no-a",
                    Severity.WARNING,
                    f"{host} has AAAA records but no A record: IPv4-only clients cannot reach it",
                    "on Fly.io, 'fly ips allocate-v4' gives raw TCP a dedicated IPv4 ($2/month)",
                )
            )
        if aaaa.status is DnsStatus.NO_ANSWER and a.status is DnsStatus.OK:
            findings.append(
                Finding(
                    "no-aaaa",
                    Severity.WARNING,
                    f"{host} has A records but no AAAA record: IPv6-only clients cannot reach it",
                    "on Fly.io, 'fly ips allocate-v6' gives the app a dedicated IPv6 (free)",
                )
            )
    findings += _mismatch(resolution)
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
            "dns-mismatch",
            Severity.WARNING,
            f"this machine's resolver and DNS disagree for {resolution.host}: {'; '.join(parts)}",
            "programs here connect to getaddrinfo's answer: look for a hosts-file entry, a stale "
            "cache or a split-horizon resolver",
            tuple(only_system + only_dns),
        )
    ]


def _probe_findings(resolution: Resolution, outcomes: Sequence[TargetOutcome], predicted: bool) -> list[Finding]:
    if not outcomes:
        return []
    v4 = _by_family(outcomes, Family.IPV4)
    v6 = _by_family(outcomes, Family.IPV6)
    findings: list[Finding] = []
    explained: set[str] = set()

    if _all(outcomes, Verdict.OK):
        return [Finding(ALL_OK, Severity.INFO, f"all {len(outcomes)} targets answered as expected")]

    edge = _edge_finding(resolution, v4, v6, predicted)
    if edge is not None:
        findings.append(edge)
        explained.update(edge.addresses)

    listeners = (
        (v4, v6, "ipv4-only-listener", "IPv4 answers but IPv6 is refused: the server listens on 0.0.0.0 only",
         "bind [::] with IPV6_V6ONLY off (dual-stack), e.g. socket.create_server(('::', port), "
         "family=AF_INET6, dualstack_ipv6=True)"),
        (v6, v4, "ipv6-only-listener", "IPv6 answers but IPv4 is refused: the server's IPv6 socket has "
         "IPV6_V6ONLY on", "turn IPV6_V6ONLY off on the [::] socket (dual-stack), or listen on 0.0.0.0 as well"),
    )  # fmt: skip
    for answering, refused, code, message, remedy in listeners:
        if _any(answering, Verdict.OK) and _all(refused, Verdict.REFUSED):
            findings.append(Finding(code, Severity.ERROR, message, remedy, _addresses(refused)))
            explained.update(_addresses(refused))

    for family, group in ((Family.IPV6, v6), (Family.IPV4, v4)):
        if _all(group, Verdict.UNREACHABLE) and all(o.result.no_route for o in group):
            name = "IPv6" if family is Family.IPV6 else "IPv4"
            findings.append(
                Finding(
                    f"client-without-{family}",
                    Severity.WARNING,
                    f"this client has no {name} route, so its {name} targets were not tested "
                    f"({', '.join(_addresses(group))}): a fact about this client, not the server",
                    f"run the check again from a host with {name} connectivity (a CI runner or a Fly machine)",
                    _addresses(group),
                )
            )
            explained.update(_addresses(group))

    if _all(outcomes, Verdict.REFUSED, Verdict.TIMEOUT):
        findings.append(
            Finding(
                "service-down",
                Severity.ERROR,
                f"no target accepted a connection ({_listing(outcomes)})",
                "is the service running and listening on this port? On Fly.io: 'fly status', "
                "'fly logs'; a stopped machine should start on connection unless auto_start_machines is off",
                _addresses(outcomes),
            )
        )
        return findings

    rest = [o for o in outcomes if o.verdict is not Verdict.OK and o.target.address not in explained]
    for verdict in dict.fromkeys(o.verdict for o in rest):
        group = [o for o in rest if o.verdict is verdict]
        findings.append(
            Finding(
                "failing-targets",
                Severity.ERROR,
                f"{verdict} on {', '.join(o.target.endpoint for o in group)}: {group[0].explanation}",
                verdict_remedy(group[0]),
                _addresses(group),
            )
        )
    return findings


def _edge_finding(
    resolution: Resolution, v4: Sequence[TargetOutcome], v6: Sequence[TargetOutcome], predicted: bool
) -> Finding | None:
    """A proxy in front of the app: Fly's shared IPv4 that cannot route raw TCP (only when
    the same name's IPv6 answers in this run), a suspicion of it (when IPv6 was not
    shown to answer), or an edge that reaches no app at all (both families closed)."""
    on_fly = is_fly_name(resolution.host) or predicted
    # A shared-IPv4 edge closes a raw stream at once, or waits (longer than the probe)
    # for a TLS ClientHello; on a name that is not Fly's, only the first is its mark.
    edge_like = (Verdict.CLOSED_WITHOUT_DATA, Verdict.SILENT) if on_fly else (Verdict.CLOSED_WITHOUT_DATA,)
    if v4 and v6 and _all([*v4, *v6], Verdict.CLOSED_WITHOUT_DATA):
        where = (
            "Fly.io's edge reaches no app: no started machine, a crash, or the app listens on 127.0.0.1 or on "
            "another port than internal_port"
            if on_fly
            else "a proxy in front accepts, but reaches no app behind it"
        )
        remedy = (
            "'fly status', 'fly logs' and 'fly machine list'; the app must bind 0.0.0.0 or [::] on internal_port"
            if on_fly
            else "is the app behind the proxy running, and listening on 0.0.0.0 or [::] on the port it forwards to?"
        )
        return Finding(
            EDGE_NO_APP,
            Severity.ERROR,
            f"every address, IPv4 and IPv6, connects and is closed without data: {where}",
            remedy,
            _addresses([*v4, *v6]),
        )
    if not (v4 and _all(v4, *edge_like)):
        return None
    seen = (
        "connects and is closed without data"
        if _all(v4, Verdict.CLOSED_WITHOUT_DATA)
        else "connects, then stays silent"
    )
    if _any(v6, Verdict.OK):
        confirm = (
            " The fly.toml lint predicted this (needs-dedicated-ipv4): the live behaviour confirms it."
            if predicted
            else ""
        )
        return Finding(
            FLY_SHARED_IPV4,
            Severity.ERROR,
            f"IPv6 answers while IPv4 {seen}. {FLY_SHARED_IPV4_CAUSE}.{confirm}",
            FLY_DEDICATED_IPV4_REMEDY,
            _addresses(v4),
        )
    if not on_fly or (v6 and _all(v6, *edge_like)):
        return None  # off Fly, or IPv6 fails the same way: no sign of the shared IPv4 either way
    if not v6:
        missing = "IPv6 was not probed"
    elif all(o.result.no_route for o in v6):
        missing = "IPv6 could not be tested from this client (no route)"
    else:
        missing = f"IPv6 did not answer either ({_listing(v6)})"
    return Finding(
        FLY_SHARED_IPV4_SUSPECTED,
        Severity.ERROR,
        f"IPv4 {seen} on a Fly.io name, as Fly's shared IPv4 does with raw TCP; but {missing}, and an app that "
        "is down looks the same from IPv4",
        "probe IPv6 too (both families, from a host with IPv6): IPv6 ok confirms the shared-IPv4 trap (then "
        "'fly ips allocate-v4'); IPv6 failing as well means the app is not reached ('fly status', 'fly logs')",
        _addresses(v4),
    )


EXPIRY_WARNING_DAYS = 14
FLY_TLS_SNI_ONLY = "fly-tls-sni-only"


def tls_path_findings(host: str, over_tls: Sequence[TargetOutcome], plain: Sequence[TargetOutcome]) -> list[Finding]:
    """The other way through Fly's shared IPv4: TLS with SNI answers where plain TCP is
    closed without data (or waits), so clients must speak TLS and send the name."""
    tls_ok = {o.target.address for o in over_tls if o.verdict is Verdict.OK and o.target.family is Family.IPV4}
    edge_like = (Verdict.CLOSED_WITHOUT_DATA, Verdict.SILENT)
    shared = [o for o in plain if o.target.address in tls_ok and o.verdict in edge_like]
    if not shared:
        return []
    names = [o.result.tls.server_name for o in over_tls if o.result.tls and o.result.tls.server_name]
    name = names[0] if names else host
    port = shared[0].target.port
    return [
        Finding(
            FLY_TLS_SNI_ONLY,
            Severity.WARNING,
            f"over TLS with SNI {name} the shared IPv4 answers, while plain TCP there is "
            f"{_listing(shared)}: IPv4 clients must speak TLS and send SNI {name}",
            f"connect with TLS and SNI {name} (for example: openssl s_client -connect {host}:{port} -servername "
            f"{name}); plain-TCP IPv4 clients need a dedicated IPv4 ('fly ips allocate-v4')",
            _addresses(shared),
        )
    ]


def _tls_findings(outcomes: Sequence[TargetOutcome]) -> list[Finding]:
    """Certificates close to expiry, and TLS spoken without a name to send as SNI."""
    findings: list[Finding] = []
    soon = [o for o in outcomes if o.result.tls and (o.result.tls.expires_in_days or 1e9) < EXPIRY_WARNING_DAYS]
    if soon:
        days = min(o.result.tls.expires_in_days or 0 for o in soon if o.result.tls)
        findings.append(
            Finding(
                "tls-expires-soon",
                Severity.WARNING,
                f"the certificate expires in {days:g} days ({', '.join(_addresses(soon))})",
                "renew it now ('fly certs show NAME' on Fly.io tells when it renews)",
                _addresses(soon),
            )
        )
    unnamed = [o for o in outcomes if o.result.tls and o.result.tls.server_name is None]
    if unnamed:
        findings.append(
            Finding(
                "tls-no-sni",
                Severity.INFO,
                "TLS was spoken without SNI and without a name check (a literal address): a shared edge such as "
                "Fly's routes by SNI and would refuse it",
                "give --sni NAME to send the name and check the certificate against it",
                _addresses(unnamed),
            )
        )
    return findings


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]


def findings_for(findings: Iterable[Finding], address: str) -> list[Finding]:
    """The findings that explain one target (for a per-target failure message)."""
    return [f for f in findings if address in f.addresses]

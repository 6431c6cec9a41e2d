"""What a host's verdicts mean for the deployment: a pure function, tested without sockets.

Each finding has a stable code (used in reports, JSON and tests), a severity, a message
saying what was seen and a remedy saying what to do. Severity ``error`` means the
deployment fails some clients; ``warning`` is worth knowing (often about this client);
``info`` is good news or context.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from tcpreach.findings import Finding, FindingCode, Severity
from tcpreach.fly.live import edge_finding, tls_path_findings
from tcpreach.fly.remedies import fly_name, is_fly_name
from tcpreach.judging.dns_findings import dns_findings
from tcpreach.judging.verdict import LOSS_CAN_PRODUCE
from tcpreach.model import Family, Resolution, TargetOutcome, Verdict
from tcpreach.outcomes import addresses_of, all_are, any_is, by_family, listing

__all__ = ["EXPIRY_WARNING_DAYS", "diagnose", "verdict_remedy"]

EXPIRY_WARNING_DAYS = 14.0
"""A certificate expiring within this many days is a warning, unless told otherwise."""

_VERDICT_REMEDIES: dict[Verdict, str] = {
    Verdict.CLOSED_WITHOUT_DATA: (
        "a proxy or load balancer accepted the connection but found no backend, or the server closes right after "
        "accepting: is the app listening on 0.0.0.0 or [::] (not 127.0.0.1) on the port the proxy forwards to?"
    ),
    Verdict.RESET: "the server reset the connection: check its logs for crashes or a full accept queue",
    Verdict.WRONG_GREETING: "another service answers on this port, or --expect is not what the server writes",
    Verdict.TRUNCATED: "the server must write the whole greeting before closing",
    Verdict.EXTRA_DATA: "the server writes more than the greeting: check --expect or the server",
    Verdict.NO_CLOSE: "the server must close the connection after the greeting",
    Verdict.SILENT: "something accepts but never answers what was sent: a stuck server, or an HTTP proxy",
    Verdict.REFUSED: "nothing listens there: is the service running, on this port?",
    Verdict.TIMEOUT: "no answer at all: a firewall drops the packets, or the host is down",
    Verdict.UNREACHABLE: (
        "a router on the way answered that the address is unreachable (ICMP): the server's network, its "
        "routes or a firewall rule that rejects; this client's own routes are fine"
    ),
    Verdict.TLS_HANDSHAKE_FAILED: "the server refused the handshake for this name: check --sni and the server's names",
    Verdict.TLS_UNTRUSTED: "the chain does not lead to a CA this client trusts: pass --ca FILE for a private CA, or "
    "serve the full chain",
    Verdict.TLS_NAME_MISMATCH: "the certificate is for other names: ask for one of them with --sni, or issue a "
    "certificate for this name",
    Verdict.TLS_EXPIRED: "renew the certificate",
    Verdict.TLS_NOT_SPOKEN: "this port speaks plain TCP: probe it without --tls, or put a TLS terminator in front",
}
_FLY_REMEDIES: dict[Verdict, str] = {
    Verdict.TLS_HANDSHAKE_FAILED: (
        "the server refused the handshake for this name: on Fly.io's shared IPv4, an SNI that is not the app's "
        "own name (<app>.fly.dev or a certificate added with 'fly certs add') is refused; check --sni"
    ),
    Verdict.TLS_NAME_MISMATCH: "the certificate is for other names: ask for one of them with --sni, or issue a "
    "certificate for this name ('fly certs add NAME')",
    Verdict.TLS_EXPIRED: "renew the certificate ('fly certs show NAME')",
    Verdict.TLS_NOT_SPOKEN: "this port speaks plain TCP: probe it without --tls, or put the 'tls' handler on it",
}
"""Remedies that name Fly.io: only for a target on it."""
_NO_ROUTE_REMEDY = "this client has no route to that address: test from a host that has one"
_SILENT_UNASKED = (
    "something accepts but never writes: a service that speaks only after a request (Redis, HTTP, a database) "
    "needs one: --send 'PING\\r\\n' --expect '+PONG\\r\\n' for Redis; otherwise a stuck server"
)
_CLOSED_ON_LOOPBACK = (
    "the server accepted and closed without a byte: check its logs (a crash, or a rejection right after accept); "
    "if this port is published by a container or a tunnel, its backend is not up yet"
)


_STEP_VERDICTS = frozenset({Verdict.WRONG_GREETING, Verdict.TRUNCATED, Verdict.RESET})
_STEP_REMEDY = (
    "the server answered the dialogue otherwise at that step (its answer is above): a command it refuses "
    "(STARTTLS without a certificate, say), or steps written for another server"
)


def verdict_remedy(outcome: TargetOutcome, host: str = "", sent: bool = False) -> str:
    """What to do about one target's verdict, when no finding explains it better: ``host``
    is the name checked (a platform is named only for its own names), ``sent`` whether a
    request was written."""
    verdict = outcome.verdict
    if verdict is Verdict.UNREACHABLE and outcome.result.no_route:
        return _NO_ROUTE_REMEDY
    if (outcome.result.step or 0) > 1 and verdict in _STEP_VERDICTS:
        return _STEP_REMEDY
    if verdict is Verdict.SILENT and not sent:
        return _SILENT_UNASKED
    if (
        verdict is Verdict.CLOSED_WITHOUT_DATA
        and ipaddress.ip_address(outcome.target.address.split("%")[0]).is_loopback
    ):
        return _CLOSED_ON_LOOPBACK
    if is_fly_name(host) and verdict in _FLY_REMEDIES:
        return _FLY_REMEDIES[verdict]
    return _VERDICT_REMEDIES.get(verdict, "")


def diagnose(
    resolution: Resolution,
    outcomes: Sequence[TargetOutcome],
    predicted_dedicated_ipv4: bool = False,
    plain_ipv4: Sequence[TargetOutcome] = (),
    *,
    sent: bool = False,
    cert_days: tuple[float, float] = (EXPIRY_WARNING_DAYS, 0.0),
) -> tuple[Finding, ...]:
    """All findings for one host, errors first.

    ``predicted_dedicated_ipv4``: the offline fly.toml lint predicted that this service
    needs a dedicated IPv4 (flyctl's own rule); a live shared-IPv4 failure confirms it.
    ``plain_ipv4``: plain-TCP probes of the IPv4 targets beside ``outcomes`` over TLS, to
    tell whether TLS with SNI is the only way through a shared IPv4. ``sent``: a request
    was written after connecting (a silent server is then no sign of a missing one).
    ``cert_days``: a certificate expiring within the first is a warning, within the second
    an error.
    """
    findings = [
        *dns_findings(resolution),
        *_probe_findings(resolution, outcomes, predicted_dedicated_ipv4, sent),
        *_attempt_findings(fly_name(resolution.names) or resolution.host, outcomes),
        *_tls_findings(outcomes, cert_days),
        *tls_path_findings(resolution.host, outcomes, plain_ipv4),
    ]
    if any(f.severity is Severity.ERROR for f in findings):
        findings = [f for f in findings if f.code != FindingCode.ALL_OK]  # never "all ok" beside an error
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    # Errors first; all-ok sums up, last.
    return tuple(sorted(findings, key=lambda f: (order[f.severity], f.code == FindingCode.ALL_OK)))


def _attempt_findings(host: str, outcomes: Sequence[TargetOutcome]) -> list[Finding]:
    """An address that answered only after failed attempts. A failure that packet loss
    cannot produce (a close without data, a refusal, a wrong greeting) before a success is
    the service failing some connections; a failure loss can produce is the path's."""
    findings: list[Finding] = []
    for outcome in outcomes:
        if outcome.verdict is not Verdict.OK or not outcome.failed_attempts:
            continue
        seen = ", ".join(dict.fromkeys(str(v) for v in outcome.failed_attempts))  # each verdict once
        answered = f"{outcome.target.endpoint} answered on attempt {outcome.result.attempt}"
        if any(v not in LOSS_CAN_PRODUCE for v in outcome.failed_attempts):
            logs = " ('fly logs', 'fly machine list' on Fly.io)" if is_fly_name(host) else ""
            findings.append(Finding(
                FindingCode.INTERMITTENT, Severity.ERROR,
                f"{answered}, after attempts that saw {seen}: the service fails some connections (a backend "
                "that crash-loops, restarts or is overloaded behind round robin); a retry hid it",
                f"look at the backends' logs and restarts{logs}: every connection must get the greeting",
                (outcome.target.address,),
            ))  # fmt: skip
        else:
            findings.append(Finding(
                FindingCode.LOSSY_PATH, Severity.WARNING,
                f"{answered}, after attempts that saw {seen}: the path may be losing packets",
                "run again, or from another network, to tell a lossy path from a slow server",
                (outcome.target.address,),
            ))  # fmt: skip
    return findings


def _probe_findings(
    resolution: Resolution, outcomes: Sequence[TargetOutcome], predicted: bool, sent: bool
) -> list[Finding]:
    if not outcomes:
        return []
    v4 = by_family(outcomes, Family.IPV4)
    v6 = by_family(outcomes, Family.IPV6)
    findings: list[Finding] = []
    explained: set[str] = set()

    if all_are(outcomes, Verdict.OK):
        return [Finding(FindingCode.ALL_OK, Severity.INFO, f"all {len(outcomes)} targets answered as expected")]

    edge = edge_finding(resolution, v4, v6, predicted)
    if edge is not None:
        findings.append(edge)
        explained.update(edge.addresses)

    for finding in (*_listener_findings(v4, v6), *_client_findings(v4, v6)):
        findings.append(finding)
        explained.update(finding.addresses)

    if all_are(outcomes, Verdict.REFUSED, Verdict.TIMEOUT):
        findings.append(
            Finding(
                FindingCode.SERVICE_DOWN,
                Severity.ERROR,
                f"no target accepted a connection ({listing(outcomes)})",
                "is the service running and listening on this port?"
                + (
                    " On Fly.io: 'fly status', 'fly logs'; a stopped machine should start on connection unless "
                    "auto_start_machines is off"
                    if fly_name(resolution.names)
                    else ""
                ),
                addresses_of(outcomes),
            )
        )
        return findings

    rest = [o for o in outcomes if o.verdict is not Verdict.OK and o.target.address not in explained]
    for verdict in dict.fromkeys(o.verdict for o in rest):
        group = [o for o in rest if o.verdict is verdict]
        findings.append(
            Finding(
                FindingCode.FAILING_TARGETS,
                Severity.ERROR,
                f"{verdict} on {', '.join(o.target.endpoint for o in group)}: {group[0].explanation}",
                verdict_remedy(group[0], fly_name(resolution.names) or resolution.host, sent),
                addresses_of(group),
            )
        )
    return findings


def _listener_findings(v4: Sequence[TargetOutcome], v6: Sequence[TargetOutcome]) -> list[Finding]:
    """One family answers while every address of the other is refused: a listener bound to
    one family only."""
    findings: list[Finding] = []
    listeners = (
        (v4, v6, FindingCode.IPV4_ONLY_LISTENER, "IPv4 answers but IPv6 is refused: the server listens on 0.0.0.0 only",
         "bind [::] with IPV6_V6ONLY off (dual-stack), e.g. socket.create_server(('::', port), "
         "family=AF_INET6, dualstack_ipv6=True)"),
        (v6, v4, FindingCode.IPV6_ONLY_LISTENER, "IPv6 answers but IPv4 is refused: the server's IPv6 socket has "
         "IPV6_V6ONLY on", "turn IPV6_V6ONLY off on the [::] socket (dual-stack), or listen on 0.0.0.0 as well"),
    )  # fmt: skip
    for answering, refused, code, message, remedy in listeners:
        if any_is(answering, Verdict.OK) and all_are(refused, Verdict.REFUSED):
            findings.append(Finding(code, Severity.ERROR, message, remedy, addresses_of(refused)))
    return findings


def _client_findings(v4: Sequence[TargetOutcome], v6: Sequence[TargetOutcome]) -> list[Finding]:
    """Every address of a family unreachable for want of this client's own route."""
    findings: list[Finding] = []
    for family, group in ((Family.IPV6, v6), (Family.IPV4, v4)):
        if all_are(group, Verdict.UNREACHABLE) and all(o.result.no_route for o in group):
            name = "IPv6" if family is Family.IPV6 else "IPv4"
            findings.append(
                Finding(
                    FindingCode(f"client-without-{family}"),
                    Severity.WARNING,
                    f"this client has no {name} route, so its {name} targets were not tested "
                    f"({', '.join(addresses_of(group))}): a fact about this client, not the server",
                    f"run the check again from a host with {name} connectivity (a CI runner or a Fly machine)",
                    addresses_of(group),
                )
            )
    return findings


def _tls_findings(outcomes: Sequence[TargetOutcome], cert_days: tuple[float, float]) -> list[Finding]:
    """Certificates close to expiry (a warning within the first of ``cert_days``, an error
    within the second), certificates not verified, and TLS spoken without SNI."""
    findings: list[Finding] = []
    warn, crit = cert_days
    left = [(o, o.result.tls.expires_in_days) for o in outcomes if o.result.tls]
    soon = [(o, days) for o, days in left if days is not None and days < max(warn, crit)]  # 0 days is soon too
    if soon:
        days = min(d for _, d in soon)
        findings.append(
            Finding(
                FindingCode.TLS_EXPIRES_SOON,
                Severity.ERROR if days < crit else Severity.WARNING,
                f"the certificate expires in {days:g} days ({', '.join(addresses_of(o for o, _ in soon))})",
                "renew it now ('fly certs show NAME' on Fly.io tells when it renews)",
                addresses_of(o for o, _ in soon),
            )
        )
    unverified = [o for o in outcomes if o.result.tls and o.result.tls.version and not o.result.tls.verified]
    if unverified:
        findings.append(
            Finding(
                FindingCode.TLS_NOT_VERIFIED,
                Severity.WARNING,
                "the certificates were not verified (--insecure): any server, or one in between, would have passed",
                "verify them: drop --insecure, and give --ca FILE for a private CA",
                addresses_of(unverified),
            )
        )
    unnamed = [o for o in outcomes if o.result.tls and o.result.tls.server_name is None]
    if unnamed:
        findings.append(
            Finding(
                FindingCode.TLS_NO_SNI,
                Severity.INFO,
                "TLS was spoken without SNI and without a name check (a literal address): a shared edge such as "
                "Fly's routes by SNI and would refuse it",
                "give --sni NAME to send the name and check the certificate against it",
                addresses_of(unnamed),
            )
        )
    return findings

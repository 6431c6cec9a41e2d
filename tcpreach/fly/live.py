"""Live findings about a proxy in front of the app: Fly.io's shared IPv4 that cannot route
raw TCP, an edge that reaches no app, and TLS with SNI as the way through. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from tcpreach.findings import Finding, FindingCode, Severity
from tcpreach.fly.remedies import FLY_DEDICATED_IPV4_REMEDY, FLY_SHARED_IPV4_CAUSE, fly_name
from tcpreach.model import Family, Resolution, TargetOutcome, Verdict
from tcpreach.outcomes import addresses_of, all_are, any_is, listing

__all__ = ["edge_finding", "tls_path_findings"]


def edge_finding(
    resolution: Resolution, v4: Sequence[TargetOutcome], v6: Sequence[TargetOutcome], predicted: bool
) -> Finding | None:
    """A proxy in front of the app: Fly's shared IPv4 that cannot route raw TCP (only when
    the same name's IPv6 answers in this run), a suspicion of it (when IPv6 was not
    shown to answer), or an edge that reaches no app at all (both families closed)."""
    on_fly = fly_name(resolution.names) is not None or predicted
    # A shared-IPv4 edge closes a raw stream at once, or waits (longer than the probe)
    # for a TLS ClientHello; on a name that is not Fly's, only the first is its mark.
    edge_like = (Verdict.CLOSED_WITHOUT_DATA, Verdict.SILENT) if on_fly else (Verdict.CLOSED_WITHOUT_DATA,)
    if v4 and v6 and all_are([*v4, *v6], Verdict.CLOSED_WITHOUT_DATA):
        return _edge_no_app([*v4, *v6], on_fly)
    if on_fly and any_is(v6, Verdict.OK):
        beside = _shared_beside_dedicated(v4, edge_like)
        if beside is not None:
            return beside
    if not (v4 and all_are(v4, *edge_like)):
        return None
    seen = (
        "connects and is closed without data"
        if all_are(v4, Verdict.CLOSED_WITHOUT_DATA)
        else "connects, then stays silent"
    )
    if any_is(v6, Verdict.OK):
        confirm = (
            " The fly.toml lint predicted this (needs-dedicated-ipv4): the live behaviour confirms it."
            if predicted
            else ""
        )
        return Finding(
            FindingCode.FLY_SHARED_IPV4,
            Severity.ERROR,
            f"IPv6 answers while IPv4 {seen}. {FLY_SHARED_IPV4_CAUSE}.{confirm}",
            FLY_DEDICATED_IPV4_REMEDY,
            addresses_of(v4),
        )
    if not on_fly or (v6 and all_are(v6, *edge_like)):
        return None  # off Fly, or IPv6 fails the same way: no sign of the shared IPv4 either way
    if not v6:
        missing = "IPv6 was not probed"
    elif all(o.result.no_route for o in v6):
        missing = "IPv6 could not be tested from this client (no route)"
    else:
        missing = f"IPv6 did not answer either ({listing(v6)})"
    return Finding(
        FindingCode.FLY_SHARED_IPV4_SUSPECTED,
        Severity.ERROR,
        f"IPv4 {seen} on a Fly.io name, as Fly's shared IPv4 does with raw TCP; but {missing}, and an app that "
        "is down looks the same from IPv4",
        "probe IPv6 too (both families, from a host with IPv6): IPv6 ok confirms the shared-IPv4 trap (then "
        "'fly ips allocate-v4'); IPv6 failing as well means the app is not reached ('fly status', 'fly logs')",
        addresses_of(v4),
    )


def _shared_beside_dedicated(v4: Sequence[TargetOutcome], edge_like: tuple[Verdict, ...]) -> Finding | None:
    """Some IPv4 addresses answer and the others fail as the shared edge does: a dedicated
    IPv4 was allocated and the shared one kept, so the clients that pick it get nothing."""
    shared = [o for o in v4 if o.verdict in edge_like]
    dedicated = [o for o in v4 if o.verdict is Verdict.OK]
    if not shared or not dedicated or len(shared) + len(dedicated) != len(v4):
        return None
    releases = "; ".join(f"'fly ips release {o.target.address}'" for o in shared)
    return Finding(
        FindingCode.FLY_SHARED_IPV4,
        Severity.ERROR,
        f"{listing(shared)} while IPv6 and the dedicated IPv4 {', '.join(addresses_of(dedicated))} answer: the app "
        f"kept Fly.io's shared IPv4 beside its dedicated one, and the clients that pick it get nothing. "
        f"{FLY_SHARED_IPV4_CAUSE}",
        f"release the shared address: {releases} ('fly ips list' shows which is shared)",
        addresses_of(shared),
    )


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
            FindingCode.FLY_TLS_SNI_ONLY,
            Severity.WARNING,
            f"over TLS with SNI {name} the shared IPv4 answers, while plain TCP there is "
            f"{listing(shared)}: IPv4 clients must speak TLS and send SNI {name}",
            f"connect with TLS and SNI {name} (for example: openssl s_client -connect {host}:{port} -servername "
            f"{name}); plain-TCP IPv4 clients need a dedicated IPv4 ('fly ips allocate-v4')",
            addresses_of(shared),
        )
    ]


def _edge_no_app(outcomes: Sequence[TargetOutcome], on_fly: bool) -> Finding:
    """Every address of both families accepts and closes: the proxy in front reaches no app."""
    where = (
        "Fly.io's edge reaches no app: no started machine, a crash, or the app listens on 127.0.0.1 or on "
        "another port than internal_port"
        if on_fly
        else "a proxy in front accepts, but reaches no app behind it"
    )
    remedy = (
        "'fly status', 'fly logs' and 'fly machine list'; the app must bind 0.0.0.0 or [::] on internal_port: "
        "see what listens inside the machine, from the app's folder (internal_port is read from its fly.toml), "
        'with fly ssh console -C "cat /proc/net/tcp /proc/net/tcp6" | python -m tcpreach listeners --proc -'
        if on_fly
        else "is the app behind the proxy running, and listening on 0.0.0.0 or [::] on the port it forwards to?"
    )
    return Finding(
        FindingCode.EDGE_NO_APP,
        Severity.ERROR,
        f"every address, IPv4 and IPv6, connects and is closed without data: {where}",
        remedy,
        addresses_of(outcomes),
    )

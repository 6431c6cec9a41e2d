"""Every finding from constructed verdicts and resolutions: no socket."""

from __future__ import annotations

import dataclasses

import pytest

from tcpreach.expectation import Expectation
from tcpreach.findings import Finding, Severity, errors, findings_for
from tcpreach.fly.live import tls_path_findings
from tcpreach.judging.diagnosis import diagnose, verdict_remedy
from tcpreach.model import (
    DnsAnswer,
    DnsStatus,
    Family,
    HostReport,
    ProbeResult,
    Resolution,
    Source,
    Target,
    TargetOutcome,
    TlsObservation,
    Verdict,
)
from tcpreach.outcomes import passes

V4, V6 = "66.241.125.63", "2a09:8280:1::c5:a273:0"


def outcome(address: str, verdict: Verdict, no_route: bool = False) -> TargetOutcome:
    target = Target(Family.of(address), address, 1848, Source.DNS)
    result = ProbeResult(
        target, connected=verdict not in {Verdict.REFUSED, Verdict.TIMEOUT, Verdict.UNREACHABLE}, no_route=no_route
    )
    return TargetOutcome(result, verdict, f"{verdict} explained")


def dns(host: str = "hello-server.fly.dev", a=(V4,), aaaa=(V6,), system=None) -> Resolution:
    def answer(family, addresses):
        if isinstance(addresses, DnsStatus):
            return DnsAnswer(family, addresses)
        return DnsAnswer(family, DnsStatus.OK if addresses else DnsStatus.NO_ANSWER, tuple(addresses))

    return Resolution(host, dns=(answer(Family.IPV4, a), answer(Family.IPV6, aaaa)), system=system)


def codes(findings) -> list[str]:
    return [f.code for f in findings]


CAUSE = (
    "Fly.io's shared IPv4 cannot route raw TCP: its edge picks the app from the HTTP Host header or the TLS SNI, "
    "and a raw stream has neither"
)
SUSPECT_REMEDY = (
    "probe IPv6 too (both families, from a host with IPv6): IPv6 ok confirms the shared-IPv4 trap (then "
    "'fly ips allocate-v4'); IPv6 failing as well means the app is not reached ('fly status', 'fly logs')"
)


def test_fly_shared_ipv4_when_ipv6_answers_and_ipv4_closes_without_data():
    findings = diagnose(dns(), [outcome(V4, Verdict.CLOSED_WITHOUT_DATA), outcome(V6, Verdict.OK)])
    assert findings == (
        Finding(
            "fly-shared-ipv4",
            Severity.ERROR,
            f"IPv6 answers while IPv4 connects and is closed without data. {CAUSE}.",
            "run 'fly ips allocate-v4' (dedicated IPv4, $2/month), then optionally 'fly ips release <shared address>';"
            " or serve this port through the 'tls' handler so clients send SNI",
            (V4,),
        ),
    )
    assert findings_for(findings, V6) == []


def test_a_shared_ipv4_edge_that_waits_for_a_client_hello_is_the_same_trap_on_a_fly_name():
    findings = diagnose(dns(), [outcome(V4, Verdict.SILENT), outcome(V6, Verdict.OK)])
    assert [(f.code, f.message.split(".")[0], f.addresses) for f in findings] == [
        ("fly-shared-ipv4", "IPv6 answers while IPv4 connects, then stays silent", (V4,))
    ]


def test_a_silent_ipv4_off_fly_is_not_blamed_on_fly():
    findings = diagnose(dns("example.com"), [outcome(V4, Verdict.SILENT), outcome(V6, Verdict.OK)])
    assert [(f.code, f.addresses) for f in findings] == [("failing-targets", (V4,))]


def test_both_families_closed_without_data_is_an_edge_that_reaches_no_app_not_the_shared_ipv4():
    findings = diagnose(dns(), [outcome(V4, Verdict.CLOSED_WITHOUT_DATA), outcome(V6, Verdict.CLOSED_WITHOUT_DATA)])
    assert findings == (
        Finding(
            "edge-no-app",
            Severity.ERROR,
            "every address, IPv4 and IPv6, connects and is closed without data: Fly.io's edge reaches no app: no "
            "started machine, a crash, or the app listens on 127.0.0.1 or on another port than internal_port",
            "'fly status', 'fly logs' and 'fly machine list'; the app must bind 0.0.0.0 or [::] on internal_port: "
            "see what listens inside the machine, from the app's folder (internal_port is read from its fly.toml), "
            'with fly ssh console -C "cat /proc/net/tcp /proc/net/tcp6" | python -m tcpreach listeners --proc -',
            (V4, V6),
        ),
    )


def test_both_families_closed_off_fly_is_a_proxy_without_its_app():
    findings = diagnose(
        dns("example.com"), [outcome(V4, Verdict.CLOSED_WITHOUT_DATA), outcome(V6, Verdict.CLOSED_WITHOUT_DATA)]
    )
    assert [(f.code, f.message, f.remedy) for f in findings] == [
        (
            "edge-no-app",
            "every address, IPv4 and IPv6, connects and is closed without data: a proxy in front accepts, but "
            "reaches no app behind it",
            "is the app behind the proxy running, and listening on 0.0.0.0 or [::] on the port it forwards to?",
        )
    ]


@pytest.mark.parametrize(
    ("v6", "missing", "also"),
    [
        ([], "IPv6 was not probed", []),
        ([outcome(V6, Verdict.UNREACHABLE, no_route=True)], "IPv6 could not be tested from this client (no route)",
         ["client-without-ipv6"]),
        ([outcome(V6, Verdict.REFUSED)], f"IPv6 did not answer either ({V6} refused)", ["failing-targets"]),
    ],
    ids=["ipv4-only", "no-ipv6-route", "ipv6-refused"],
)  # fmt: skip
def test_ipv4_closed_on_a_fly_name_without_ipv6_evidence_is_only_a_suspicion(v6, missing, also):
    findings = diagnose(dns(), [outcome(V4, Verdict.CLOSED_WITHOUT_DATA), *v6])
    assert codes(findings) == ["fly-shared-ipv4-suspected", *also]
    assert findings[0] == Finding(
        "fly-shared-ipv4-suspected",
        Severity.ERROR,
        f"IPv4 connects and is closed without data on a Fly.io name, as Fly's shared IPv4 does with raw TCP; but "
        f"{missing}, and an app that is down looks the same from IPv4",
        SUSPECT_REMEDY,
        (V4,),
    )


def test_both_families_silent_on_a_fly_name_is_no_sign_of_the_shared_ipv4():
    findings = diagnose(dns(), [outcome(V4, Verdict.SILENT), outcome(V6, Verdict.SILENT)])
    assert [(f.code, f.addresses) for f in findings] == [("failing-targets", (V4, V6))]


def test_closed_without_data_off_fly_without_ipv6_proof_is_not_blamed_on_fly():
    findings = diagnose(dns("example.com", aaaa=()), [outcome(V4, Verdict.CLOSED_WITHOUT_DATA)])
    assert [(f.code, f.addresses) for f in findings] == [("no-aaaa", ()), ("failing-targets", (V4,))][::-1]
    assert findings[0].remedy.startswith("a proxy or load balancer accepted the connection but found no backend")


def test_the_lint_prediction_is_confirmed_by_the_live_failure():
    outcomes = [outcome(V4, Verdict.CLOSED_WITHOUT_DATA), outcome(V6, Verdict.OK)]
    (fly,) = diagnose(dns(), outcomes, predicted_dedicated_ipv4=True)
    assert fly.message == (
        f"IPv6 answers while IPv4 connects and is closed without data. {CAUSE}. The fly.toml lint predicted this "
        "(needs-dedicated-ipv4): the live behaviour confirms it."
    )


def test_ipv4_only_listener():
    findings = diagnose(dns("example.com"), [outcome(V4, Verdict.OK), outcome(V6, Verdict.REFUSED)])
    assert codes(findings) == ["ipv4-only-listener"]
    assert "IPV6_V6ONLY off" in findings[0].remedy


def test_ipv6_only_listener():
    findings = diagnose(dns("example.com"), [outcome(V4, Verdict.REFUSED), outcome(V6, Verdict.OK)])
    assert codes(findings) == ["ipv6-only-listener"]


@pytest.mark.parametrize(("family", "address", "other"), [("ipv6", V6, V4), ("ipv4", V4, V6)])
def test_client_without_a_family_is_a_warning_about_the_client(family, address, other):
    findings = diagnose(dns(), [outcome(address, Verdict.UNREACHABLE, no_route=True), outcome(other, Verdict.OK)])
    assert codes(findings) == [f"client-without-{family}"]
    assert findings[0].severity is Severity.WARNING
    assert errors(findings) == []


def test_all_ok_and_service_down():
    assert codes(diagnose(dns(), [outcome(V4, Verdict.OK), outcome(V6, Verdict.OK)])) == ["all-ok"]
    down = diagnose(dns(), [outcome(V4, Verdict.REFUSED), outcome(V6, Verdict.TIMEOUT)])
    assert codes(down) == ["service-down"]


def test_no_a_and_no_aaaa():
    no_a = diagnose(dns(a=()), [outcome(V6, Verdict.OK)])
    assert codes(no_a) == ["no-a", "all-ok"]
    assert "IPv4-only clients cannot reach it" in no_a[0].message
    no_aaaa = diagnose(dns(aaaa=()), [outcome(V4, Verdict.OK)])
    assert codes(no_aaaa) == ["no-aaaa", "all-ok"]


@pytest.mark.parametrize(
    ("aaaa", "prefix", "found"),
    [
        # every AAAA made up by DNS64 (the well-known prefix, or the one the resolver revealed)
        (("64:ff9b::4229:7d3f",), None, ["no-aaaa", "all-ok"]),
        (("2001:db8:64::4229:7d3f",), "2001:db8:64::/96", ["no-aaaa", "all-ok"]),
        # look-alikes: an address of the service's own beside a made-up one, or under a
        # prefix this resolver never revealed
        (("64:ff9b::4229:7d3f", V6), None, ["all-ok"]),
        (("2001:db8:64::4229:7d3f",), None, ["all-ok"]),
    ],
)
def test_an_aaaa_that_dns64_made_up_is_no_aaaa_of_the_service(aaaa, prefix, found):
    resolution = dataclasses.replace(dns("v4only.example", aaaa=aaaa), dns64_prefix=prefix)
    findings = diagnose(resolution, [outcome(V4, Verdict.OK), *(outcome(x, Verdict.OK) for x in aaaa)])
    assert codes(findings) == found
    if found[0] == "no-aaaa":
        assert findings[0].message == (
            f"v4only.example has A records but no AAAA record of its own: this network's DNS64 made up {aaaa[0]}, "
            "the IPv4 through its NAT64, IPv6-only clients without NAT64 cannot reach it"
        )


def test_dns_mismatch_names_both_sides():
    findings = diagnose(dns(system=(V4, "203.0.113.9")), [outcome(V4, Verdict.OK), outcome(V6, Verdict.OK)])
    (mismatch,) = [f for f in findings if f.code == "dns-mismatch"]
    assert "getaddrinfo alone returns 203.0.113.9" in mismatch.message
    assert f"DNS alone returns {V6}" in mismatch.message
    assert diagnose(dns(system=(V6, V4)), [outcome(V4, Verdict.OK)]) == diagnose(dns(), [outcome(V4, Verdict.OK)])


@pytest.mark.parametrize(
    ("status", "code"),
    [(DnsStatus.NXDOMAIN, "nxdomain"), (DnsStatus.TIMEOUT, "dns-timeout"), (DnsStatus.NO_NAMESERVERS, "dns-error")],
)
def test_dns_failures_are_named(status, code):
    findings = diagnose(dns(a=status, aaaa=status), [])
    assert codes(findings) == [code]
    assert findings[0].severity is Severity.ERROR


def test_invalid_name():
    findings = diagnose(Resolution("bad_name", invalid_name="label 'bad_name' is not ..."), [])
    assert codes(findings) == ["invalid-name"]


def test_other_failures_are_listed_with_a_remedy_per_verdict():
    findings = diagnose(dns("example.com"), [outcome(V4, Verdict.WRONG_GREETING), outcome(V6, Verdict.SILENT)])
    assert codes(findings) == ["failing-targets", "failing-targets"]
    assert "another service" in findings[0].remedy
    assert findings[1].addresses == (V6,)


def test_errors_come_first():
    findings = diagnose(
        dns(a=(), system=("198.51.100.1",)),
        [outcome(V6, Verdict.WRONG_GREETING)],
    )
    severities = [f.severity for f in findings]
    assert severities == sorted(severities, key=[Severity.ERROR, Severity.WARNING, Severity.INFO].index)


# -- whole findings, message and remedy included ---------------------------------------
def test_dns_findings_in_full():
    timeout = DnsAnswer(Family.IPV4, DnsStatus.TIMEOUT, detail="no answer within 5 s, 6 queries sent")
    half = Resolution(
        "half.fly.dev", resolver="10.0.0.53:53", dns=(timeout, DnsAnswer(Family.IPV6, DnsStatus.OK, (V6,)))
    )
    both = Resolution("x.fly.dev", resolver="10.0.0.53:53",
                      dns=(timeout, DnsAnswer(Family.IPV6, DnsStatus.TIMEOUT, detail="no answer")))  # fmt: skip
    gone = (DnsAnswer(Family.IPV4, DnsStatus.NXDOMAIN), DnsAnswer(Family.IPV6, DnsStatus.NXDOMAIN))
    nx = Resolution("gone.fly.dev", resolver="system", dns=gone)
    failed = Resolution("x.example", resolver="system",
                        dns=(DnsAnswer(Family.IPV4, DnsStatus.ERROR, detail="the server answered SERVFAIL"),
                             DnsAnswer(Family.IPV6, DnsStatus.NO_NAMESERVERS, detail="none")))  # fmt: skip
    assert diagnose(half, [outcome(V6, Verdict.OK)]) == (
        Finding(
            "dns-timeout",
            Severity.ERROR,
            "A for half.fly.dev timed out at 10.0.0.53:53 (no answer within 5 s, 6 queries sent) while AAAA "
            "answered: the A addresses were never tested",
            "the resolver, or the path to it, lost or dropped the A queries: run the check again; if it repeats, "
            "ask another resolver (--resolver IP[:PORT]) and tell the resolver's operator",
        ),
    )
    assert diagnose(both, []) == (
        Finding(
            "dns-timeout",
            Severity.ERROR,
            "10.0.0.53:53 answered no query for x.fly.dev (no answer within 5 s, 6 queries sent)",
            "check that the resolver is reachable from here (--resolver IP[:PORT] to choose one), then retry",
        ),
    )
    assert diagnose(nx, []) == (
        Finding(
            "nxdomain",
            Severity.ERROR,
            "gone.fly.dev does not exist in DNS (NXDOMAIN from system)",
            "check the name; for a Fly app, 'fly apps list' shows the names, and a new app's <app>.fly.dev "
            "appears once it has an IP ('fly ips list')",
        ),
    )
    assert diagnose(failed, []) == (
        Finding(
            "dns-error",
            Severity.ERROR,
            "A and AAAA for x.example failed at system: the server answered SERVFAIL",
            "check the resolver configuration (/etc/resolv.conf, or --resolver IP[:PORT])",
        ),
    )


def test_listener_and_service_down_findings_in_full():
    v4_only = diagnose(dns("example.com"), [outcome(V4, Verdict.OK), outcome(V6, Verdict.REFUSED)])
    assert v4_only == (
        Finding(
            "ipv4-only-listener",
            Severity.ERROR,
            "IPv4 answers but IPv6 is refused: the server listens on 0.0.0.0 only",
            "bind [::] with IPV6_V6ONLY off (dual-stack), e.g. socket.create_server(('::', port), "
            "family=AF_INET6, dualstack_ipv6=True)",
            (V6,),
        ),
    )
    down = diagnose(dns(), [outcome(V4, Verdict.REFUSED), outcome(V6, Verdict.TIMEOUT)])
    assert down == (
        Finding(
            "service-down",
            Severity.ERROR,
            f"no target accepted a connection ({V4} refused, {V6} timeout)",
            "is the service running and listening on this port? On Fly.io: 'fly status', 'fly logs'; a stopped "
            "machine should start on connection unless auto_start_machines is off",
            (V4, V6),
        ),
    )
    assert diagnose(dns(), [outcome(V4, Verdict.OK), outcome(V6, Verdict.OK)]) == (
        Finding("all-ok", Severity.INFO, "all 2 targets answered as expected"),
    )


def tls_outcome(address: str, days: float | None, name: str | None = "hello-server.fly.dev") -> TargetOutcome:
    target = Target(Family.of(address), address, 1848, Source.DNS)
    observed = TlsObservation(name, 0.01, version="TLSv1.3", expires_in_days=days)
    return TargetOutcome(ProbeResult(target, connected=True, tls=observed), Verdict.OK, "ok")


def test_tls_findings_in_full():
    soon = diagnose(dns(), [tls_outcome(V4, 13.5), tls_outcome(V6, 30)])
    assert soon == (
        Finding(
            "tls-expires-soon",
            Severity.WARNING,
            f"the certificate expires in 13.5 days ({V4})",
            "renew it now ('fly certs show NAME' on Fly.io tells when it renews)",
            (V4,),
        ),
        Finding("all-ok", Severity.INFO, "all 2 targets answered as expected"),
    )
    assert diagnose(dns(), [tls_outcome(V4, 14), tls_outcome(V6, None)]) == (
        Finding("all-ok", Severity.INFO, "all 2 targets answered as expected"),
    )
    unnamed = diagnose(Resolution(V4, literal=True), [tls_outcome(V4, 90, name=None)])
    assert unnamed == (
        Finding(
            "tls-no-sni",
            Severity.INFO,
            "TLS was spoken without SNI and without a name check (a literal address): a shared edge such as "
            "Fly's routes by SNI and would refuse it",
            "give --sni NAME to send the name and check the certificate against it",
            (V4,),
        ),
        Finding("all-ok", Severity.INFO, "all 1 targets answered as expected"),  # all-ok sums up, last
    )


def test_tls_path_findings_in_full():
    over_tls = [tls_outcome(V4, 90), tls_outcome(V6, 90)]
    plain = [outcome(V4, Verdict.CLOSED_WITHOUT_DATA)]
    assert tls_path_findings("hello-server.fly.dev", over_tls, plain) == [
        Finding(
            "fly-tls-sni-only",
            Severity.WARNING,
            f"over TLS with SNI hello-server.fly.dev the shared IPv4 answers, while plain TCP there is {V4} "
            "closed-without-data: IPv4 clients must speak TLS and send SNI hello-server.fly.dev",
            "connect with TLS and SNI hello-server.fly.dev (for example: openssl s_client -connect "
            "hello-server.fly.dev:1848 -servername hello-server.fly.dev); plain-TCP IPv4 clients need a dedicated "
            "IPv4 ('fly ips allocate-v4')",
            (V4,),
        )
    ]
    assert tls_path_findings("hello-server.fly.dev", over_tls, [outcome(V4, Verdict.OK)]) == []
    assert tls_path_findings("hello-server.fly.dev", [tls_outcome(V6, 90)], plain) == []
    # Through diagnose, with its order: the warning before all-ok.
    assert [f.code for f in diagnose(dns(), over_tls, plain_ipv4=plain)] == ["fly-tls-sni-only", "all-ok"]


@pytest.mark.parametrize(
    ("verdict", "no_route", "starts"),
    [
        (Verdict.UNREACHABLE, True, "this client has no route to that address"),
        (Verdict.UNREACHABLE, False, "a router on the way answered"),
        (Verdict.OK, False, ""),
        (Verdict.TLS_EXPIRED, False, "renew the certificate"),
    ],
)
def test_the_remedy_of_one_verdict(verdict, no_route, starts):
    remedy = verdict_remedy(outcome(V4, verdict, no_route=no_route))
    assert remedy.startswith(starts) and (remedy == "") is (starts == "")


@pytest.mark.parametrize(
    ("host", "remedy"),
    [
        ("new-app.fly.dev", "the app has no public address yet (a non-interactive first deploy allocates none): "
                            "'fly ips allocate-v6' (free) and, for raw TCP over IPv4, 'fly ips allocate-v4' "
                            "($2/month); 'fly ips list' shows what it has"),
        ("example.com", "publish the service's addresses: an A record for IPv4 and an AAAA record for IPv6"),
    ],
)  # fmt: skip
def test_a_name_without_any_address_is_an_error_with_the_remedy_of_its_platform(host, remedy):
    findings = diagnose(dns(host, a=(), aaaa=()), [])
    assert [(f.code, f.severity, f.message, f.remedy) for f in findings] == [
        ("no-address", Severity.ERROR, f"{host} exists but has no A and no AAAA record: there is no address to "
                                       "connect to", remedy),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("a", "aaaa", "found"),
    [
        (DnsStatus.NXDOMAIN, DnsStatus.NXDOMAIN, ["nxdomain"]),  # the name does not exist: another finding
        ((), DnsStatus.TIMEOUT, ["dns-timeout"]),  # AAAA unknown: not "no address"
        ((), (V6,), ["no-a", "all-ok"]),  # one family answered
    ],
)
def test_no_address_needs_both_queries_answered_empty(a, aaaa, found):
    outcomes = [outcome(V6, Verdict.OK)] if aaaa == (V6,) else []
    assert codes(diagnose(dns("new-app.fly.dev", a=a, aaaa=aaaa), outcomes)) == found


SILENT_UNASKED = (
    "something accepts but never writes: a service that speaks only after a request (Redis, HTTP, a database) "
    "needs one: --send 'PING\\r\\n' --expect '+PONG\\r\\n' for Redis; otherwise a stuck server"
)


@pytest.mark.parametrize(
    ("address", "verdict", "host", "sent", "remedy"),
    [
        # silence: the obvious case is a service that waits for a request, unless one was sent
        (V4, Verdict.SILENT, "example.com", False, SILENT_UNASKED),
        (V4, Verdict.SILENT, "example.com", True, "something accepts but never answers what was sent: a stuck server, "
                                                  "or an HTTP proxy"),
        # a close without data on loopback is the server itself (or a container's published port)
        ("127.0.0.1", Verdict.CLOSED_WITHOUT_DATA, "localhost", False,
         "the server accepted and closed without a byte: check its logs (a crash, or a rejection right after "
         "accept); if this port is published by a container or a tunnel, its backend is not up yet"),
        ("::1", Verdict.CLOSED_WITHOUT_DATA, "localhost", False,
         "the server accepted and closed without a byte: check its logs (a crash, or a rejection right after "
         "accept); if this port is published by a container or a tunnel, its backend is not up yet"),
        # a platform is named for its own names only
        (V4, Verdict.TLS_EXPIRED, "example.com", False, "renew the certificate"),
        (V4, Verdict.TLS_EXPIRED, "hello-server.fly.dev", False, "renew the certificate ('fly certs show NAME')"),
        (V4, Verdict.TLS_NOT_SPOKEN, "example.com", False,
         "this port speaks plain TCP: probe it without --tls, or put a TLS terminator in front"),
        (V4, Verdict.TLS_NOT_SPOKEN, "a.fly.dev.", False,
         "this port speaks plain TCP: probe it without --tls, or put the 'tls' handler on it"),
    ],
)  # fmt: skip
def test_a_remedy_fits_the_target(address, verdict, host, sent, remedy):
    assert verdict_remedy(outcome(address, verdict), host, sent) == remedy


@pytest.mark.parametrize(("host", "fly"), [("example.com", False), ("localhost", False), ("down.fly.dev", True)])
def test_a_service_down_names_fly_only_on_a_fly_name(host, fly):
    (down,) = diagnose(dns(host), [outcome(V4, Verdict.REFUSED), outcome(V6, Verdict.REFUSED)])
    assert (down.code, "fly status" in down.remedy) == ("service-down", fly)


SHARED, DEDICATED = "66.241.125.63", "137.66.1.2"


def test_a_shared_ipv4_kept_beside_a_dedicated_one_is_named_alone_with_its_release():
    resolution = dns(a=(SHARED, DEDICATED))
    findings = diagnose(resolution, [outcome(SHARED, Verdict.CLOSED_WITHOUT_DATA), outcome(DEDICATED, Verdict.OK),
                                     outcome(V6, Verdict.OK)])  # fmt: skip
    assert [(f.code, f.addresses, f.remedy) for f in findings] == [
        ("fly-shared-ipv4", (SHARED,),
         f"release the shared address: 'fly ips release {SHARED}' ('fly ips list' shows which is shared)"),
    ]  # fmt: skip
    assert findings[0].message.startswith(
        f"{SHARED} closed-without-data while IPv6 and the dedicated IPv4 {DEDICATED} answer: the app kept Fly.io's "
        "shared IPv4 beside its dedicated one"
    )


@pytest.mark.parametrize(
    ("host", "v6", "found"),
    [
        ("example.com", Verdict.OK, ["failing-targets"]),  # not Fly: no shared edge to blame
        ("hello-server.fly.dev", Verdict.CLOSED_WITHOUT_DATA, ["failing-targets"]),  # IPv6 fails alike
        ("hello-server.fly.dev", Verdict.REFUSED, ["ipv4-only-listener", "failing-targets"]),
    ],
)
def test_one_ipv4_of_two_failing_is_no_shared_edge_without_its_evidence(host, v6, found):
    outcomes = [outcome(SHARED, Verdict.CLOSED_WITHOUT_DATA), outcome(DEDICATED, Verdict.OK), outcome(V6, v6)]
    findings = diagnose(dns(host, a=(SHARED, DEDICATED)), outcomes)
    assert codes(findings) == found


def after(address: str, *failed: Verdict) -> TargetOutcome:
    """Ok on its last attempt, after ``failed``."""
    ok = outcome(address, Verdict.OK)
    result = dataclasses.replace(ok.result, attempts=len(failed) + 1, attempt=len(failed) + 1)
    return dataclasses.replace(ok, result=result, failed_attempts=failed)


@pytest.mark.parametrize(
    ("failed", "found"),
    [
        ((Verdict.CLOSED_WITHOUT_DATA,), [("intermittent", Severity.ERROR), ("all-ok", None)]),
        ((Verdict.REFUSED,), [("intermittent", Severity.ERROR), ("all-ok", None)]),
        ((Verdict.WRONG_GREETING,), [("intermittent", Severity.ERROR), ("all-ok", None)]),
        ((Verdict.TIMEOUT, Verdict.REFUSED), [("intermittent", Severity.ERROR), ("all-ok", None)]),
        # look-alikes: what loss alone can produce is the path's, at most a warning
        ((Verdict.TIMEOUT,), [("lossy-path", Severity.WARNING), ("all-ok", Severity.INFO)]),
        ((Verdict.SILENT, Verdict.TIMEOUT), [("lossy-path", Severity.WARNING), ("all-ok", Severity.INFO)]),
        ((), [("all-ok", Severity.INFO)]),
    ],
)
def test_a_success_after_failures_loss_cannot_produce_is_an_intermittent_service(failed, found):
    findings = diagnose(dns("example.com"), [after(V4, *failed), outcome(V6, Verdict.OK)])
    # all-ok never stands beside an error: None marks the one that must be gone
    assert [(f.code, f.severity) for f in findings] == [(c, s) for c, s in found if s is not None]
    if findings[0].code in ("intermittent", "lossy-path"):
        assert findings[0].addresses == (V4,)


@pytest.mark.parametrize(
    ("failed", "seen"),
    [
        ((Verdict.CLOSED_WITHOUT_DATA, Verdict.CLOSED_WITHOUT_DATA), "closed-without-data"),  # confirmations at once
        ((Verdict.REFUSED, Verdict.CLOSED_WITHOUT_DATA), "refused, closed-without-data"),  # look-alike: two kinds
    ],
)
def test_the_failed_attempts_are_named_each_kind_once_in_order(failed, seen):
    (finding,) = diagnose(dns("example.com"), [after(V4, *failed), outcome(V6, Verdict.OK)])
    assert finding.message.split(", after attempts that saw ")[1].split(": the service")[0] == seen


def test_an_intermittent_service_fails_the_run():
    report = HostReport("example.com", 1848, Expectation(), dns("example.com"),
                        (after(V4, Verdict.CLOSED_WITHOUT_DATA), outcome(V6, Verdict.OK)))  # fmt: skip
    report = dataclasses.replace(report, findings=diagnose(report.resolution, report.outcomes))
    assert passes(report) is False


def alias_of(resolution: Resolution, *names: str) -> Resolution:
    return dataclasses.replace(resolution, dns=tuple(dataclasses.replace(a, cnames=names) for a in resolution.dns))


@pytest.mark.parametrize(
    ("aliases", "message", "remedy"),
    [
        (("deleted-app.fly.dev",),
         "old.example.org exists, as an alias (CNAME) of deleted-app.fly.dev, which does not exist: the alias points "
         "at a name that is gone",
         "the Fly app 'deleted-app' no longer exists (deleted, or renamed): point old.example.org's CNAME at the "
         "app's current <app>.fly.dev ('fly apps list'), and add the domain to it with 'fly certs add "
         "old.example.org'"),
        (("cdn.example.net", "gone.example.net"),
         "old.example.org exists, as an alias (CNAME) of gone.example.net by way of cdn.example.net, which does not "
         "exist: the alias points at a name that is gone",
         "point old.example.org's CNAME at a name that exists, or remove the alias"),
    ],
)  # fmt: skip
def test_a_dangling_alias_names_the_missing_target(aliases, message, remedy):
    gone = alias_of(dns("old.example.org", a=DnsStatus.NXDOMAIN, aaaa=DnsStatus.NXDOMAIN), *aliases)
    assert [(f.code, f.message, f.remedy) for f in diagnose(gone, [])] == [("dangling-cname", message, remedy)]


@pytest.mark.parametrize(
    ("aliases", "fly"), [(("hello-server.fly.dev",), True), (("lb.example.net",), False), ((), False)]
)
def test_a_custom_domain_pointed_at_a_fly_name_is_on_fly(aliases, fly):
    resolution = alias_of(dns("hello.example.org"), *aliases)
    (down,) = diagnose(resolution, [outcome(V4, Verdict.REFUSED), outcome(V6, Verdict.REFUSED)])
    assert (down.code, "fly status" in down.remedy) == ("service-down", fly)


def test_two_shared_addresses_beside_two_dedicated_ones_are_each_named():
    from test_report_corpus import seen

    from tcpreach.fly.live import _shared_beside_dedicated
    from tcpreach.judging.verdict import judge
    from tcpreach.model import Verdict

    shared, dedicated = ("66.241.124.10", "66.241.124.11"), ("66.241.124.20", "66.241.124.21")
    outcomes = [judge(seen(a, b""), b"hello\n") for a in shared] + [judge(seen(a), b"hello\n") for a in dedicated]
    found = _shared_beside_dedicated(outcomes, (Verdict.CLOSED_WITHOUT_DATA,))
    assert found is not None and found.addresses == shared
    assert "while IPv6 and the dedicated IPv4 66.241.124.20, 66.241.124.21 answer" in found.message
    assert found.remedy == ("release the shared address: 'fly ips release 66.241.124.10'; 'fly ips release "
                            "66.241.124.11' ('fly ips list' shows which is shared)")  # fmt: skip

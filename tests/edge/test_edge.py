"""The six ways a diagnosis went wrong on a realistic network, each on the real thing:
HAProxy as Fly's SNI-routing edge, Knot answering for ``fly.dev``, the hello server as
the app, routes that blackhole, prohibit or are rejected with ICMP, and a lossy link.

Every probe runs in the client namespace, whose only routes lead to the lab.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netlab.lab import (
    APP_V6,
    BLACKHOLE_V4,
    DEDICATED_V4,
    DNS_DROPS_A_V4,
    DNS_V4,
    DOWN_V4,
    DOWN_V6,
    FLAKY_V4,
    LOSSY_DNS_V4,
    LOSSY_V4,
    LOSSY_V6,
    PROHIBIT_V4,
    REJECT_V4,
    REJECT_V6,
    RESETTING_V4,
    SHARED_V4,
    TLS_NAME,
    TLS_V6,
    WAITING_V4,
)

pytestmark = pytest.mark.edge

ROOT = Path(__file__).resolve().parents[2]
REMOTE_SUITE = str(ROOT / "tests" / "remote")
QUIET = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-q", "-rA"]


def probe(lab, host, *args):
    done = lab.client_cli("probe", host, "--resolver", DNS_V4, "--json", *args)
    assert not done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def verdicts(doc):
    return [(t["address"], t["verdict"]) for t in doc["targets"]]


def codes(doc):
    return [f["code"] for f in doc["findings"]]


def remote_suite(lab, host, *args, resolver=DNS_V4):
    return lab.client_python("-m", "pytest", "-m", "remote", "--host", host, "--resolver", resolver, *QUIET, *args,
                             REMOTE_SUITE)  # fmt: skip


def outcome_line(done):
    return done.stdout.strip().splitlines()[-1]


# 1. An app that is down behind the edge is not the shared-IPv4 trap.
def test_the_shared_ipv4_edge_with_ipv6_answering_is_the_trap(lab):
    code, doc = probe(lab, "hello-server.fly.dev", "--retries", "0")
    assert (code, verdicts(doc), codes(doc)) == (
        1,
        [(SHARED_V4, "closed-without-data"), (APP_V6, "ok")],
        ["fly-shared-ipv4"],
    )


def test_an_app_down_behind_the_edge_is_edge_no_app(lab):
    code, doc = probe(lab, "down.fly.dev", "--retries", "0")
    assert (code, verdicts(doc), codes(doc)) == (
        1,
        [(DOWN_V4, "closed-without-data"), (DOWN_V6, "closed-without-data")],
        ["edge-no-app"],
    )
    assert doc["findings"][0]["remedy"].startswith("'fly status', 'fly logs' and 'fly machine list'")


def test_accept_shared_ipv4_never_turns_an_app_that_is_down_green(lab, finding_codes):
    done = remote_suite(lab, "down.fly.dev", "--accept-shared-ipv4", "--retries", "0")
    assert done.returncode == 1, done.stdout[-3000:]
    assert outcome_line(done).startswith("3 failed, 1 passed in ")  # both targets and the diagnosis; DNS is fine
    assert finding_codes(done.stdout) == ["edge-no-app"]


def test_an_ipv4_only_run_on_the_shared_edge_is_a_suspicion_and_never_accepted(lab):
    done = remote_suite(lab, "hello-server.fly.dev", "--family", "4", "--accept-shared-ipv4", "--retries", "0")
    assert done.returncode == 1, done.stdout[-3000:]
    assert outcome_line(done).startswith("2 failed, 1 passed in ")  # the IPv4 target and the diagnosis
    assert "fly-shared-ipv4-suspected: IPv4 connects and is closed without data on a Fly.io name" in done.stdout
    assert "but IPv6 was not probed" in done.stdout


# 2. A DNS error finding never sits beside all-ok, and fails the run.
def test_a_timed_out_a_query_fails_the_run_and_says_what_happened(lab):
    done = lab.client_cli("probe", "half.fly.dev", "--resolver", DNS_DROPS_A_V4, "--dns-lifetime", "0.6", "--json")
    doc = json.loads(done.stdout)
    assert (done.returncode, verdicts(doc), codes(doc)) == (1, [(APP_V6, "ok")], ["dns-timeout"])
    assert doc["findings"][0]["message"] == (
        f"A for half.fly.dev timed out at {DNS_DROPS_A_V4}:53 (no answer within 0.6 s, 2 queries sent) while AAAA "
        "answered: the A addresses were never tested"
    )


# 3. Local no-route answers are this client's, never retried; an ICMP reject is a router's.
def test_blackhole_and_prohibit_routes_are_this_clients_no_route_and_not_retried(lab):
    for host, address, why in (
        ("blackhole.fly.dev", BLACKHOLE_V4, "a blackhole route): EINVAL (Invalid argument)"),
        ("prohibit.fly.dev", PROHIBIT_V4, "a prohibit route or a local firewall rule): EACCES (Permission denied)"),
    ):
        code, doc = probe(lab, host)
        v4 = doc["targets"][0]
        # exit 0: what this client could test answered; its missing route is its own note
        assert (code, verdicts(doc), codes(doc), v4["attempts"]) == (
            0,
            [(address, "unreachable"), (APP_V6, "ok")],
            ["client-without-ipv4"],
            1,
        )
        assert v4["explanation"] == f"this client has no route to {address} ({why}"


def test_the_pytest_target_behind_a_blackhole_route_skips_like_a_client_without_ipv6(lab):
    done = remote_suite(lab, "blackhole.fly.dev")
    assert done.returncode == 0, done.stdout[-3000:]
    assert outcome_line(done).startswith("3 passed, 1 skipped in ")
    assert f"this client has no IPv4 route to {BLACKHOLE_V4}: test it from a host with IPv4" in done.stdout


def test_an_icmp_reject_on_the_way_is_not_blamed_on_this_client(lab):
    code, doc = probe(lab, "rejecting.fly.dev", "--retries", "0")
    assert (code, verdicts(doc), codes(doc)) == (
        1,
        [(REJECT_V4, "unreachable"), (REJECT_V6, "unreachable")],
        ["failing-targets"],
    )
    assert [t["explanation"] for t in doc["targets"]] == [
        f"a router on the way answered that {REJECT_V4} is unreachable (ICMP): EHOSTUNREACH (No route to host)",
        f"a router on the way answered that {REJECT_V6} is unreachable (ICMP): EHOSTUNREACH (No route to host)",
    ]
    assert "this client" not in doc["findings"][0]["remedy"].split(";")[0]


# 4. Loss on the path: the one retry policy, DNS included, carries a working deployment.
def test_a_lossy_path_is_ok_with_the_default_retry_policy(lab):
    done = lab.client_cli("probe", "lossy.fly.dev", "--resolver", LOSSY_DNS_V4, "--json")
    doc = json.loads(done.stdout)
    assert (done.returncode, verdicts(doc), codes(doc)) == (0, [(LOSSY_V4, "ok"), (LOSSY_V6, "ok")], ["all-ok"])
    assert [a["status"] for a in doc["dns"]] == ["ok", "ok"]


def test_without_retries_the_first_lost_query_is_the_answer(lab):
    done = lab.client_cli(
        "probe", "lossy.fly.dev", "--resolver", LOSSY_DNS_V4, "--retries", "0",
        "--dns-lifetime", "1", "--json",
    )  # fmt: skip
    doc = json.loads(done.stdout)
    assert (done.returncode, [a["status"] for a in doc["dns"]], codes(doc)) == (
        1,
        ["timeout", "timeout"],
        ["dns-timeout"],
    )


# 6. An edge that waits for a ClientHello longer than the probe: the same trap on a Fly name.
def test_an_edge_that_waits_longer_than_the_probe_is_the_trap_and_accepted(lab):
    code, doc = probe(lab, "waiting.fly.dev", "--timeout", "1", "--retries", "0")
    assert (code, verdicts(doc), codes(doc)) == (1, [(WAITING_V4, "silent"), (APP_V6, "ok")], ["fly-shared-ipv4"])
    done = remote_suite(lab, "waiting.fly.dev", "--accept-shared-ipv4", "--probe-timeout", "1", "--retries", "0")
    assert done.returncode == 0, done.stdout[-3000:]
    assert outcome_line(done).startswith("3 passed, 1 xfailed in ")


# TLS and SNI: Fly's "tls" handler, the other way through the shared IPv4.
def tls_probe(lab, *args):
    done = lab.client_cli("probe", TLS_NAME, "--resolver", DNS_V4, "--json", "--tls", "--ca", lab.ca_file, *args)
    assert not done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_over_tls_with_sni_both_families_answer_and_plain_ipv4_is_closed(lab):
    code, doc = tls_probe(lab)
    assert (code, verdicts(doc), codes(doc)) == (
        0,
        [(SHARED_V4, "ok"), (TLS_V6, "ok")],
        ["fly-tls-sni-only", "all-ok"],
    )
    assert {t["tls"]["server_name"] for t in doc["targets"]} == {TLS_NAME}
    assert {tuple(t["tls"]["subject_names"]) for t in doc["targets"]} == {(TLS_NAME,)}
    assert doc["findings"][0]["message"] == (
        f"over TLS with SNI {TLS_NAME} the shared IPv4 answers, while plain TCP there is {SHARED_V4} "
        f"closed-without-data: IPv4 clients must speak TLS and send SNI {TLS_NAME}"
    )
    plain_code, plain = probe(lab, TLS_NAME, "-4", "--retries", "0")
    assert (plain_code, verdicts(plain)) == (1, [(SHARED_V4, "closed-without-data")])


def test_a_wrong_sni_on_the_shared_ipv4_fails_the_handshake(lab):
    code, doc = tls_probe(lab, "--sni", "other.fly.dev", "-4", "--retries", "0")
    assert (code, verdicts(doc)) == (1, [(SHARED_V4, "tls-handshake-failed")])
    assert doc["targets"][0]["explanation"] == (
        "the server closed the connection during the handshake (SNI other.fly.dev)"
    )


def test_a_shared_ipv4_kept_beside_a_dedicated_one_names_the_shared_address_alone(lab):
    code, doc = probe(lab, "kept.fly.dev", "--retries", "0")
    expected = sorted([(SHARED_V4, "closed-without-data"), (DEDICATED_V4, "ok"), (APP_V6, "ok")])
    assert (code, sorted(verdicts(doc)), codes(doc)) == (1, expected, ["fly-shared-ipv4"])
    (finding,) = doc["findings"]
    release = f"release the shared address: 'fly ips release {SHARED_V4}' ('fly ips list' shows which is shared)"
    assert (finding["addresses"], finding["remedy"]) == ([SHARED_V4], release)


def test_a_fly_name_without_any_address_is_an_error_and_nothing_is_probed(lab):
    code, doc = probe(lab, "noaddr.fly.dev")
    assert (code, verdicts(doc), codes(doc)) == (1, [], ["no-address"])


def test_an_edge_that_resets_at_once_is_a_close_without_data_and_the_shared_ipv4_trap(lab):
    # however the client's stack reports the reset (from connect() itself or from the first
    # read), the connection was accepted: never "unreachable", never a router to blame
    code, doc = probe(lab, "resetting.fly.dev", "--retries", "0")
    assert (code, verdicts(doc), codes(doc)) == (
        1, [(RESETTING_V4, "closed-without-data"), (APP_V6, "ok")], ["fly-shared-ipv4"])  # fmt: skip


def test_an_intermittent_backend_hidden_by_a_retry_is_an_error_not_all_ok(lab):
    # round robin: the first connection finds no backend (closed without data), the retry answers
    code, doc = probe(lab, "flaky.fly.dev", "--retries", "2")
    assert (code, verdicts(doc), codes(doc)) == (1, [(FLAKY_V4, "ok"), (APP_V6, "ok")], ["intermittent"])
    (finding,) = doc["findings"]
    assert finding["addresses"] == [FLAKY_V4]
    # the confirmations start side by side: round robin gives the answering backend to the
    # second or the third, whichever connected first
    assert re.match(rf"{re.escape(FLAKY_V4)}:1848 answered on attempt [23], after attempts that saw "
                    "closed-without-data: the service fails some connections", finding["message"])  # fmt: skip


def test_a_custom_domain_shows_the_fly_name_it_leads_to_and_is_diagnosed_as_fly(lab):
    # Knot answers the alias alone (its target is another zone): the probe asks on
    code, doc = probe(lab, "hello.example.org", "--retries", "0")
    trap = [(SHARED_V4, "closed-without-data"), (APP_V6, "ok")]
    assert (code, doc["aliases"], verdicts(doc), codes(doc)) == (1, ["hello-server.fly.dev"], trap, ["fly-shared-ipv4"])
    text = lab.client_cli("probe", "hello.example.org", "--resolver", DNS_V4, "--retries", "0").stdout
    assert text.splitlines()[0] == "hello.example.org (CNAME hello-server.fly.dev) port 1848, expecting 'hello\\n'"


def test_an_alias_of_a_deleted_app_says_the_alias_points_at_a_name_that_is_gone(lab):
    code, doc = probe(lab, "old.example.org")
    assert (code, verdicts(doc), codes(doc)) == (1, [], ["dangling-cname"])
    assert doc["findings"][0]["message"] == (
        "old.example.org exists, as an alias (CNAME) of deleted-app.fly.dev, which does not exist: the alias "
        "points at a name that is gone"
    )

"""Every kind of client, built: an IPv4-only, an IPv6-only, an IPv6-only client behind
NAT64/DNS64 (Debian's unbound and tayga) and the lab's dual-stack client each probe the
HAProxy edge with ``probe --json --vantage``; ``merge`` over their reports must give the
population table each case implies, whole."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from netlab.lab import DEDICATED_V4
from netlab.vantages import VANTAGES, VantageLab, vantages_problem
from tcpreach.judging.merge import merge
from tcpreach.judging.population import Answer, ClientKind
from tcpreach.report.document import load_report

pytestmark = pytest.mark.edge

NAT64_OF_DEDICATED = "64:ff9b::42f1:7c14"  # 66.241.124.20 under the well-known prefix


@pytest.fixture(scope="module")
def clients(lab, edge_unavailable):
    problem = vantages_problem()
    if problem is not None:
        edge_unavailable(problem)
    with VantageLab(lab) as built:
        yield built


def reports(clients, host, tmp_path: Path):
    """Each vantage's report of ``host``, probed at once."""

    def one(vantage):
        done = clients.probe(vantage, host, "--retries", "0")
        assert done.stdout, done.stderr
        (tmp_path / f"{vantage}.json").write_text(done.stdout)
        return load_report(json.loads(done.stdout))

    with ThreadPoolExecutor(len(VANTAGES)) as pool:
        return list(pool.map(one, VANTAGES))


def table(found):
    return [(p.kind, p.answer) for p in merge(found).population]


def test_the_shared_ipv4_trap_from_every_kind_of_client(clients, tmp_path):
    found = reports(clients, "hello-server.fly.dev", tmp_path)
    assert table(found) == [
        (ClientKind.IPV4_ONLY, Answer.NO), (ClientKind.IPV6_ONLY, Answer.YES), (ClientKind.NAT64, Answer.YES),
        (ClientKind.DUAL_STACK, Answer.YES), (ClientKind.BROKEN_IPV6, Answer.NO),
    ]  # fmt: skip
    assert [str(f.code) for f, _ in merge(found).by_vantage] == ["fly-shared-ipv4"]


def test_a_dedicated_deployment_reaches_every_kind_of_client(clients, tmp_path):
    found = reports(clients, "dedicated.fly.dev", tmp_path)
    assert table(found) == [(kind, Answer.YES) for kind in ClientKind]
    assert (merge(found).findings, merge(found).by_vantage) == ((), ())


def test_an_ipv4_only_service_reaches_ipv6_only_clients_through_nat64_alone(clients, tmp_path):
    found = reports(clients, "v4only.fly.dev", tmp_path)
    assert table(found) == [
        (ClientKind.IPV4_ONLY, Answer.YES), (ClientKind.IPV6_ONLY, Answer.NO), (ClientKind.NAT64, Answer.YES),
        (ClientKind.DUAL_STACK, Answer.YES), (ClientKind.BROKEN_IPV6, Answer.YES),
    ]  # fmt: skip
    nat64 = found[list(VANTAGES).index("nat64")]
    # the address DNS64 made up is named as such, never as the service's own IPv6
    assert [(o.target.address, str(o.target.source), str(o.verdict)) for o in nat64.outcomes] == [
        (DEDICATED_V4, "dns", "unreachable"), (NAT64_OF_DEDICATED, "dns64", "ok"),
    ]  # fmt: skip
    assert (nat64.resolution.dns64_prefix, nat64.outcomes[0].result.no_route) == ("64:ff9b::/96", True)
    assert [str(f.code) for f in nat64.findings] == ["no-aaaa", "client-without-ipv4"]
    assert (str(nat64.findings[0].code), nat64.findings[0].message) == (
        "no-aaaa", "v4only.fly.dev has A records but no AAAA record of its own: this network's DNS64 made up "
                   f"{NAT64_OF_DEDICATED}, the IPv4 through its NAT64, IPv6-only clients without NAT64 cannot reach it",
    )  # fmt: skip


def test_the_clients_set_up_again_on_the_same_lab(lab, clients):
    # xdist's worksteal can split a module: its fixture is torn down and set up again on the
    # worker's one lab. Torn down, the clients leave the edge as they found it (a tayga left
    # attached to its TUN device made the next one fail with EBUSY).
    clients.close()
    with VantageLab(lab) as again:
        found = json.loads(again.probe("nat64", "v4only.fly.dev", "--retries", "0").stdout)
    clients.__enter__()  # the module's clients back for any test after this one
    assert [(t["address"], t["source"], t["verdict"]) for t in found["targets"]] == [
        (DEDICATED_V4, "dns", "unreachable"), (NAT64_OF_DEDICATED, "dns64", "ok")]  # fmt: skip

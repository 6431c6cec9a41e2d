"""The shared-IPv4 trap behind nginx's stream module (ssl_preread) as well as behind
HAProxy: the diagnosis is the edge's behaviour, not one proxy's."""

from __future__ import annotations

import json

import pytest

from netlab.lab import APP_V6, DNS_V4, NGINX_V4, TLS_NAME
from netlab.nginx_edge import NginxEdge, nginx_problem

pytestmark = pytest.mark.edge


@pytest.fixture(scope="module")
def nginx(lab, edge_unavailable):
    problem = nginx_problem()
    if problem is not None:
        edge_unavailable(problem)
    with NginxEdge(lab) as edge:
        yield edge


def probe(lab, host, *args):
    done = lab.client_cli("probe", host, "--resolver", DNS_V4, "--json", *args)
    assert not done.stderr, done.stderr
    doc = json.loads(done.stdout)
    return done.returncode, [(t["address"], t["verdict"]) for t in doc["targets"]], [f["code"] for f in doc["findings"]]


def test_raw_tcp_through_an_nginx_sni_edge_is_the_shared_ipv4_trap(lab, nginx):
    assert probe(lab, "nginx-edge.fly.dev", "--retries", "0") == (
        1, [(NGINX_V4, "closed-without-data"), (APP_V6, "ok")], ["fly-shared-ipv4"])  # fmt: skip


def test_tls_with_the_apps_sni_goes_through_the_nginx_edge(lab, nginx):
    # the look-alike: the same edge routes a client that sends the app's name (the tls handler)
    found = probe(lab, "nginx-edge.fly.dev", "--retries", "0", "--tls", "--sni", TLS_NAME,
                                  "--ca", lab.ca_file, "--family", "4")  # fmt: skip
    assert found == (0, [(NGINX_V4, "ok")], ["fly-tls-sni-only", "all-ok"])

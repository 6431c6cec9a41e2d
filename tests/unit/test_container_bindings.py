"""Reading every binding of a port from docker inspect's data: no engine."""

from __future__ import annotations

from tcpreach.model import Family, Target
from tcpreach.testing.container import reachable_from_inspect

ATTRS = {
    "NetworkSettings": {
        "Ports": {"1848/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}, {"HostIp": "::", "HostPort": "49154"}]},
        "IPAddress": "172.17.0.2",
        "GlobalIPv6Address": "fd00:d0c:1::242:ac11:2",
    }
}


def test_both_published_bindings_and_both_container_addresses():
    reach = reachable_from_inspect(ATTRS, 1848)
    assert reach.published_ipv4 == Target(Family.IPV4, "127.0.0.1", 49153)
    assert reach.published_ipv6 == Target(Family.IPV6, "::1", 49154)
    assert reach.container_ipv4 == Target(Family.IPV4, "172.17.0.2", 1848)
    assert reach.container_ipv6 == Target(Family.IPV6, "fd00:d0c:1::242:ac11:2", 1848)
    assert len(reach.all()) == 4


def test_an_engine_without_ipv6_gives_what_it_has():
    attrs = {
        "NetworkSettings": {
            "Ports": {"1848/tcp": [{"HostIp": "0.0.0.0", "HostPort": "1"}]},
            "IPAddress": "",
            "Networks": {"bridge": {"IPAddress": "172.17.0.3", "GlobalIPv6Address": ""}},
        }
    }
    reach = reachable_from_inspect(attrs, 1848)
    assert reach.published_ipv6 is None
    assert reach.container_ipv6 is None
    assert reach.container_ipv4 == Target(Family.IPV4, "172.17.0.3", 1848)


def test_an_unpublished_port_has_no_binding():
    reach = reachable_from_inspect({"NetworkSettings": {"Ports": {"1848/tcp": None}}}, 1848)
    assert reach.all() == []

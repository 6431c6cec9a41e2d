"""A deployment rehearsed on loopback: the hello server verified the way a deployed one is,
with nothing deployed and nothing sent beyond this machine.

A stub DNS server answers ``hello-server.fly.dev``; the A record points at a stand-in for
what the scenario puts on IPv4 (Fly's shared edge, which accepts and closes without a byte;
a dedicated address; a machine that is down), the AAAA record at ``::1``, where the hello
server (a stand-in that greets, when the repository's ``server`` package is not at hand)
listens. ``rehearse(scenario)`` yields the host and the options to check it with.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tcpreach.findings import FindingCode
from tcpreach.options import CheckOptions

__all__ = ["DEFAULT_SCENARIO", "SCENARIOS", "Scenario", "rehearse"]

HOST = "hello-server.fly.dev"
_V4 = "127.0.0.2"


@dataclass(frozen=True)
class Scenario:
    what: str
    """One line: the deployment it rehearses."""
    ipv4: str
    """What answers on the A record: ``close`` (the shared edge), ``hello`` or ``refuse``."""
    ipv6: str
    """What answers on the AAAA record: ``hello`` (the server) or ``close``."""
    expected: tuple[FindingCode, ...]
    """The findings the diagnosis must give, errors first."""


SCENARIOS = {
    "shared-ipv4": Scenario("raw TCP behind Fly.io's shared IPv4 (the report that started it all)", "close", "hello",
                            (FindingCode.FLY_SHARED_IPV4,)),
    "dedicated": Scenario("a dedicated IPv4 allocated ('fly ips allocate-v4'): every address answers", "hello",
                          "hello", (FindingCode.ALL_OK,)),
    "app-down": Scenario("no machine started: the edge accepts on both families and closes", "close", "close",
                         (FindingCode.EDGE_NO_APP,)),
    "ipv6-only-listener": Scenario("the server's socket has IPV6_V6ONLY on: IPv4 is refused", "refuse", "hello",
                                   (FindingCode.IPV6_ONLY_LISTENER,)),
}  # fmt: skip
DEFAULT_SCENARIO = "shared-ipv4"


def _hello(host: str, port: int) -> Any:
    """The hello server from a checkout, else a stand-in that greets the same way."""
    try:
        from server import HelloServer  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        from tcpreach.testing.standins import Behaviour, StandIn

        return StandIn(Behaviour.HELLO, host=host, port=port)
    return HelloServer(host=host, port=port)


def _listener(kind: str, host: str, port: int) -> Any:
    from tcpreach.testing.standins import Behaviour, StandIn

    if kind == "hello":
        return _hello(host, port)
    if kind == "close":
        return StandIn(Behaviour.CLOSE, host=host, port=port)
    return contextlib.nullcontext()  # nothing listens: refused


@contextlib.contextmanager
def rehearse(name: str = DEFAULT_SCENARIO) -> Iterator[tuple[str, CheckOptions]]:
    """The scenario's deployment on loopback, while the block runs: the host and the options
    (port, the stub DNS as the only resolver, no retries) to check it with."""
    from tcpreach.testing.stub_dns import StubDNS

    scenario = SCENARIOS[name]
    with contextlib.ExitStack() as stack:
        port = stack.enter_context(_listener(scenario.ipv6, "::1", 0)).port  # the kernel picks the port
        stack.enter_context(_listener(scenario.ipv4, _V4, port))
        dns = stack.enter_context(StubDNS({HOST: {"A": [_V4], "AAAA": ["::1"]}}))
        yield HOST, CheckOptions(port=port, resolver=dns.address, retries=0, timeout=2.0)

"""Test doubles shipped with the library, as httpcore ships its ``MockBackend``: a user's
tests and this project's own use the same ones.

- ``StandIn(Behaviour.CLOSE, host="127.0.0.2")``: a loopback listener that misbehaves in
  one named way (Fly's shared-IPv4 edge, a wrong greeting, a reset, silence, ...);
- ``TlsStandIn``: a TLS server that routes by SNI, as a shared edge does;
- ``StubDNS({"hello-server.fly.dev": {"A": [...], "AAAA": [...]}})``: a DNS server on
  loopback answering the names it is given, to rehearse a deployment without one;
- ``tcpreach.testing.container``: the docker tier's image and container helpers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Behaviour": "tcpreach.testing.standins",
    "StandIn": "tcpreach.testing.standins",
    "TlsStandIn": "tcpreach.testing.standins",
    "StubDNS": "tcpreach.testing.stub_dns",
}
__all__ = ["Behaviour", "StandIn", "StubDNS", "TlsStandIn"]

if TYPE_CHECKING:
    from tcpreach.testing.standins import Behaviour, StandIn, TlsStandIn
    from tcpreach.testing.stub_dns import StubDNS


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tcpreach.testing' has no attribute {name!r}")

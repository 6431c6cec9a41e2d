"""Where the exporter listens, parsed without loading its HTTP server (aiohttp): a bad
``--listen``, or one given where the ``exporter`` extra is not installed, is one line."""

from __future__ import annotations

from tcpreach.errors import UsageError
from tcpreach.settings.inputs import parse_host

__all__ = ["DEFAULT_LISTEN", "parse_listen"]

DEFAULT_LISTEN = "127.0.0.1:9848"
"""Loopback: any other address is given explicitly. (Prometheus's list of exporter ports,
9100-9999, is full; 9848 echoes the hello server's 1848.)"""


def parse_listen(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` or ``[V6]:PORT`` (port 0: any free port). Raises ``UsageError``."""
    problem = f"listen on ADDR:PORT, e.g. {DEFAULT_LISTEN}, [::1]:9848 or 0.0.0.0:9848 for every address; got {text!r}"
    any_port = text.endswith(":0")  # parse_host takes ports 1..65535 only
    try:
        spec = parse_host(text[:-2] + ":1" if any_port else text)
    except UsageError:
        raise UsageError(problem) from None
    if not spec.literal or spec.port is None:
        raise UsageError(problem)
    return spec.host, 0 if any_port else spec.port

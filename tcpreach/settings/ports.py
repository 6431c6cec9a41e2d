"""A TCP port as a user writes it: ASCII digits only (no ``4_2``, no full-width digits, no
sign), at most five of them, in 1..65535 (or 0..65535 where 0 asks the kernel to choose).

Standard library only and nothing else of tcpreach: the hello server's image carries this
module, so the server, the probe and the fly.toml lint read a port the same way.
"""

from __future__ import annotations

__all__ = ["port_number"]


def port_number(text: str | int, *, allow_zero: bool = False) -> int | None:
    """The port ``text`` names, or ``None`` when it names none."""
    raw = str(text).strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 5):
        return None
    port = int(raw)
    return port if (0 if allow_zero else 1) <= port <= 65535 else None

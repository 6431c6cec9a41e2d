"""Names no resolver is asked about (RFC 6761, section 6): ``localhost`` and every name
under ``.localhost`` are this machine's loopback, and every name under ``.invalid`` does
not exist. ``.test`` and ``.example`` are ordinary names here (rehearsals use them). Pure."""

from __future__ import annotations

from tcpreach.model import DnsAnswer, DnsStatus, Family

__all__ = ["SPECIAL_RESOLVER", "special_answers"]

SPECIAL_RESOLVER = "none (RFC 6761)"
"""The resolver a report names for such a name: none was asked."""
_LOOPBACK = {Family.IPV4: "127.0.0.1", Family.IPV6: "::1"}


def special_answers(name: str, families: tuple[Family, ...]) -> tuple[DnsAnswer, ...] | None:
    """The answers RFC 6761 fixes for ``name`` (an ASCII host name), or ``None`` for a name
    DNS must be asked about."""
    labels = name.lower().rstrip(".").split(".")
    if labels[-1] == "localhost":
        return tuple(
            DnsAnswer(f, DnsStatus.OK, (_LOOPBACK[f],), detail="localhost is loopback (RFC 6761)") for f in families
        )
    if labels[-1] == "invalid":
        detail = f"{name} does not exist: names under .invalid never do (RFC 6761), no resolver was asked"
        return tuple(DnsAnswer(f, DnsStatus.NXDOMAIN, detail=detail) for f in families)
    return None

"""What Fly.io's platform means for a raw-TCP service: its finding codes, the cause of the
shared-IPv4 trap and its remedy, in one place for the live findings and the lint."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FLY_DEDICATED_IPV4_REMEDY", "FLY_SHARED_IPV4_CAUSE", "fly_name", "is_fly_name"]

FLY_DEDICATED_IPV4_REMEDY = (
    "run 'fly ips allocate-v4' (dedicated IPv4, $2/month), then optionally "
    "'fly ips release <shared address>'; or serve this port through the 'tls' handler "
    "so clients send SNI"
)
FLY_SHARED_IPV4_CAUSE = (
    "Fly.io's shared IPv4 cannot route raw TCP: its edge picks the app from the HTTP Host "
    "header or the TLS SNI, and a raw stream has neither"
)


def is_fly_name(host: str) -> bool:
    """``<app>.fly.dev``: a name Fly.io's edge answers for."""
    return host.rstrip(".").endswith(".fly.dev")


def fly_name(names: Iterable[str]) -> str | None:
    """The first Fly name among a host and the names its alias (CNAME) leads to: a custom
    domain pointed at ``<app>.fly.dev`` is on Fly.io too."""
    return next((name for name in names if is_fly_name(name)), None)

"""What a socket's errno says: the codes of a missing route (and, asked of the kernel with a
UDP connect() that sends nothing, of this client's own routing table), of a connect timeout,
and an errno's name and text for an explanation."""

from __future__ import annotations

import errno
import os

__all__ = ["CONNECT_TIMEOUT_ERRNOS", "LOCAL_NO_ROUTE", "NO_ROUTE_ERRNOS", "errno_text"]

NO_ROUTE_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.ENETDOWN}
)
# What the kernel says when this client's own routing table forbids the address: asked
# with a UDP connect(), which sends nothing, so each of these is a fact about this client.
LOCAL_NO_ROUTE = {
    errno.ENETUNREACH: "no route to that network",
    errno.EHOSTUNREACH: "an unreachable route",
    errno.EINVAL: "a blackhole route",
    errno.EACCES: "a prohibit route or a local firewall rule",
    errno.EPERM: "a prohibit route or a local firewall rule",
    errno.EADDRNOTAVAIL: "no source address of that family",
    errno.EAFNOSUPPORT: "no support for that address family",
    errno.ENETDOWN: "the network is down",
}
CONNECT_TIMEOUT_ERRNOS = frozenset({errno.ETIMEDOUT})


def errno_text(code: int | None) -> str:
    if code is None:
        return "unknown error"
    return f"{errno.errorcode.get(code, str(code))} ({os.strerror(code)})"

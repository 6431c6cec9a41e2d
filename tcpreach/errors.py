"""The errors this library raises on purpose: one family, so a caller can catch them all.

``UsageError`` is input a user can fix (a bad port, a file that cannot be read): the
command line and the plugin turn it into one line and exit status 2.
"""

from __future__ import annotations

__all__ = ["TcpreachError", "UsageError"]


class TcpreachError(Exception):
    """The base of every error tcpreach raises on purpose."""


class UsageError(TcpreachError, ValueError):
    """Input a user can fix: the message says what was expected."""

"""The errors this library raises for input a user can fix."""

from __future__ import annotations


class UsageError(ValueError):
    """Input a user can fix: the message says what was expected."""

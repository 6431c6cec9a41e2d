"""What a service should say, and what the client says first: pure, tested without sockets.

An ``Expectation`` is one of three matches over the bytes a probe receives:

- ``exact`` (the default): exactly these bytes, then the server closes;
- ``prefix``: the bytes start with these (a banner such as ``+OK`` or ``220 ``);
- ``regex``: a regular expression (Python ``re``, over bytes) found in the bytes.

``send`` is written right after the connection opens (a request, for services that
speak only when spoken to). ``keep_open`` says the server need not close: the probe stops
reading as soon as the expectation is met. Without it, a met expectation still needs the
server's close to be ``ok``, as for the hello server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from tcpreach.escapes import abbreviated, escaped, parse_escapes

__all__ = ["READ_CAP_MIN", "Expectation", "Match", "as_expectation", "expected_bytes", "regex_bytes", "request_bytes"]

READ_CAP_MIN = 4096


class Match(StrEnum):
    EXACT = "exact"
    PREFIX = "prefix"
    REGEX = "regex"


@dataclass(frozen=True)
class Expectation:
    """The expected bytes (or pattern), how they match, the request and whether the
    server may keep the connection open."""

    data: bytes = b"hello\n"
    match: Match = Match.EXACT
    send: bytes = b""
    keep_open: bool = False

    def __post_init__(self) -> None:
        if not self.data:
            raise ValueError("the expected bytes are empty")
        if self.match is Match.REGEX:
            try:
                re.compile(self.data)
            except re.error as exc:
                raise ValueError(f"bad regular expression {self.data!r}: {exc}") from None

    @cached_property
    def _pattern(self) -> re.Pattern[bytes]:
        return re.compile(self.data)

    def met(self, received: bytes) -> bool:
        """These bytes satisfy the expectation (whether the server closed is judged apart)."""
        if self.match is Match.EXACT:
            return received == self.data
        if self.match is Match.PREFIX:
            return received.startswith(self.data)
        return self._pattern.search(received) is not None

    def hopeless(self, received: bytes) -> bool:
        """No further byte can make these bytes meet the expectation.

        A regular expression may match later bytes, so only a cap ends its read early.
        """
        if self.match is Match.EXACT:
            return not self.data.startswith(received)
        if self.match is Match.PREFIX:
            return not (received.startswith(self.data) or self.data.startswith(received))
        return False

    def could_become(self, received: bytes) -> bool:
        """The bytes are a proper beginning of what is expected (exact or prefix)."""
        return self.match is not Match.REGEX and len(received) < len(self.data) and self.data.startswith(received)

    def done_reading(self, received: bytes) -> bool:
        """The probe may stop reading: met on a connection the server may keep open, or
        bytes that can no longer become what is expected."""
        return (self.keep_open and self.met(received)) or self.hopeless(received)

    @property
    def read_cap(self) -> int:
        """How many bytes a probe reads at most: enough to see a mismatch after them."""
        return max(READ_CAP_MIN, 4 * len(self.data))

    def describe(self) -> str:
        """``'hello\\n'``, ``starting with '+OK'``, ``matching /^\\+OK/``, plus what is sent."""
        if self.match is Match.EXACT:
            text = f"'{escaped(self.data)}'"
        elif self.match is Match.PREFIX:
            text = f"starting with '{escaped(self.data)}'"
        else:
            text = f"matching /{self.data.decode('utf-8', 'backslashreplace')}/"
        if self.send:
            text = f"{text} after sending '{abbreviated(self.send)}'"
        if self.keep_open:
            text += " (the server may keep the connection open)"
        return text


def request_bytes(text: str) -> bytes:
    """``--send``: bytes with the escapes of ``tcpreach.escapes`` (may be empty)."""
    try:
        return parse_escapes(text)
    except ValueError as exc:
        raise ValueError(f"bad escape in {text!r}: {exc}") from None


def expected_bytes(text: str) -> bytes:
    """``--expect`` and ``--expect-prefix``: like a request, and never empty."""
    data = request_bytes(text)
    if not data:
        raise ValueError("the expected bytes are empty")
    return data


def regex_bytes(text: str) -> bytes:
    """``--expect-regex``: the pattern as typed (``re``'s own escapes), compiled to check it."""
    data = text.encode("utf-8", "surrogateescape")
    Expectation(data, Match.REGEX)
    return data


def as_expectation(expect: Expectation | bytes) -> Expectation:
    """``b"hello\\n"`` is shorthand for the exact expectation of those bytes."""
    return expect if isinstance(expect, Expectation) else Expectation(expect)

"""What a service should say, and what the client says first: pure, tested without sockets.

An ``Expectation`` is one of three matches over the bytes a probe receives:

- ``exact`` (the default): exactly these bytes, then the server closes;
- ``prefix``: the bytes start with these (a banner such as ``+OK`` or ``220 ``);
- ``regex``: a regular expression (Python ``re``, over bytes) found in the bytes.

``send`` is written right after the connection opens (a request, for services that
speak only when spoken to). ``keep_open`` says the server need not close: the probe stops
reading as soon as the expectation is met. Without it, a met expectation still needs the
server's close to be ``ok``, as for the hello server.

A dialogue puts ``opening`` steps before that final request and expectation: ``send``,
``expect`` (the same three matches) and ``starttls`` (the TLS handshake in the middle of
the stream), in order. An opening ``expect`` is met as soon as its match is there; a
prefix or regex step also takes the rest of the line it matched, up to ``\n``, when it
has arrived. A regex step's groups are usable in later sends as ``${1}`` or ``${name}``.
The close/keep-open rule applies to the final expectation alone. Without an opening, an
``Expectation`` is the one-step case every flag has always meant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from tcpreach.settings.escapes import abbreviated, escaped, parse_escapes

__all__ = [
    "READ_CAP_MIN",
    "Expectation",
    "Match",
    "Step",
    "StepKind",
    "as_expectation",
    "expected_bytes",
    "groups_of",
    "regex_bytes",
    "render",
    "request_bytes",
]

READ_CAP_MIN = 4096


class Match(StrEnum):
    EXACT = "exact"
    PREFIX = "prefix"
    REGEX = "regex"


def _check_pattern(data: bytes, match: Match) -> None:
    """What is expected is not empty, and a regex compiles."""
    if not data:
        raise ValueError("the expected bytes are empty")
    if match is Match.REGEX:
        try:
            re.compile(data)
        except re.error as exc:
            raise ValueError(f"bad regular expression {data!r}: {exc}") from None


class StepKind(StrEnum):
    SEND = "send"
    EXPECT = "expect"
    STARTTLS = "starttls"


_REFERENCE = re.compile(rb"\$\{(\w+)\}")


@dataclass(frozen=True)
class Step:
    """One step of a dialogue: bytes to send, bytes to expect (``match``), or the TLS
    handshake (``starttls``, no data)."""

    kind: StepKind
    data: bytes = b""
    match: Match = Match.EXACT
    fails_on: bytes = b""
    r"""An expect step's regex of the answers that end it at once, unmet (a protocol's
    refusal, ``(?m)^[45]\d\d `` in SMTP), rather than at the deadline."""

    def __post_init__(self) -> None:
        if self.kind is StepKind.EXPECT:
            _check_pattern(self.data, self.match)
        if self.fails_on:
            _check_pattern(self.fails_on, Match.REGEX)
        elif self.kind is StepKind.STARTTLS and self.data:
            raise ValueError("a starttls step carries no bytes")
        elif self.kind is StepKind.SEND and not self.data:
            raise ValueError("a send step with nothing to send")

    @cached_property
    def _pattern(self) -> re.Pattern[bytes]:
        return re.compile(self.data)

    def taken(self, pending: bytes) -> tuple[int, re.Match[bytes] | None] | None:
        """An expect step met by ``pending``: how many bytes it takes, and the regex match
        (for its groups); ``None`` while it is not met."""
        found: re.Match[bytes] | None = None
        if self.match is Match.REGEX:
            found = self._pattern.search(pending)
            if found is None:
                return None
            end = found.end()
        elif pending.startswith(self.data):
            end = len(self.data)
        else:
            return None
        if self.match is not Match.EXACT and not self.data.endswith(b"\n"):
            newline = pending.find(b"\n", max(end - 1, 0))
            end = len(pending) if newline < 0 else newline + 1
        return end, found

    def hopeless(self, pending: bytes) -> bool:
        """No further byte can meet this expect step (or an answer it fails on came)."""
        if self.fails_on and re.search(self.fails_on, pending):
            return True
        return self.match is not Match.REGEX and not (pending.startswith(self.data) or self.data.startswith(pending))

    def describe(self) -> str:
        if self.kind is StepKind.STARTTLS:
            return "STARTTLS (the TLS handshake)"
        if self.kind is StepKind.SEND:
            return f"send '{abbreviated(self.data)}'"
        return f"expect {Expectation(self.data, self.match).describe()}"

    def references(self) -> tuple[str, ...]:
        """The ``${...}`` references of a send step, in order."""
        return tuple(name.decode() for name in _REFERENCE.findall(self.data)) if self.kind is StepKind.SEND else ()


def render(data: bytes, groups: Mapping[str, bytes]) -> bytes:
    """``data`` with each ``${1}``/``${name}`` replaced by that group of the last regex step
    (a reference to no known group stays as written: validation refuses it beforehand)."""
    if not groups or b"${" not in data:
        return data
    return _REFERENCE.sub(lambda m: groups.get(m.group(1).decode(), m.group(0)), data)


def groups_of(found: re.Match[bytes]) -> dict[str, bytes]:
    """A regex match's groups by number (from 1) and by name; a group that took no part is empty."""
    groups = {str(number): value or b"" for number, value in enumerate(found.groups(), 1)}
    groups.update((name, value or b"") for name, value in found.groupdict().items())
    return groups


@dataclass(frozen=True)
class Expectation:
    """The expected bytes (or pattern), how they match, the request and whether the
    server may keep the connection open."""

    data: bytes = b"hello\n"
    match: Match = Match.EXACT
    send: bytes = b""
    keep_open: bool = False
    opening: tuple[Step, ...] = ()
    """A dialogue's steps before ``send`` and the final expectation (none: one step)."""

    def __post_init__(self) -> None:
        _check_pattern(self.data, self.match)
        if not self.send and self.opening and self.opening[-1].kind is StepKind.SEND:
            # one spelling for one dialogue: a last send of the opening is the request
            object.__setattr__(self, "send", self.opening[-1].data)
            object.__setattr__(self, "opening", self.opening[:-1])
        if self.opening:
            self._check_references()

    def _check_references(self) -> None:
        """Every ``${...}`` of a dialogue's send names a group of the regex step before it."""
        known: frozenset[str] | None = None
        for number, step in enumerate(self.steps, 1):
            if step.kind is StepKind.EXPECT and step.match is Match.REGEX:
                pattern = re.compile(step.data)
                known = frozenset({*map(str, range(1, pattern.groups + 1)), *pattern.groupindex})
            if known is not None:
                for name in step.references():
                    if name not in known:
                        raise ValueError(
                            f"step {number} ({step.describe()}) uses ${{{name}}}, "
                            "which the regular expression before it does not capture"
                        )

    @property
    def steps(self) -> tuple[Step, ...]:
        """The whole dialogue in order: the opening, the request (if any), the expectation."""
        final = Step(StepKind.EXPECT, self.data, self.match)
        return (*self.opening, Step(StepKind.SEND, self.send), final) if self.send else (*self.opening, final)

    @property
    def sends(self) -> bool:
        """The client writes something: the request, or a send step of the dialogue."""
        return bool(self.send) or any(step.kind is StepKind.SEND for step in self.opening)

    @property
    def starttls(self) -> bool:
        """TLS starts in the middle of the stream, at a step, rather than after the connect."""
        return any(step.kind is StepKind.STARTTLS for step in self.opening)

    @classmethod
    def of_steps(cls, steps: tuple[Step, ...], keep_open: bool = False) -> Expectation:
        """The expectation a dialogue's steps make. Raises ``ValueError`` unless the last
        step is an expect."""
        if not steps or steps[-1].kind is not StepKind.EXPECT:
            raise ValueError("a dialogue ends with what is expected: make the last step an expect")
        *rest, final = steps
        send = b""
        if rest and rest[-1].kind is StepKind.SEND:
            send = rest.pop().data
        return cls(final.data, final.match, send, keep_open, tuple(rest))

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
        """How many bytes a probe reads at most (per step of a dialogue): enough to see a
        mismatch after them."""
        return max(READ_CAP_MIN, 4 * len(self.data), *(4 * len(step.data) for step in self.opening))

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
        if self.opening:
            tls = next((n for n, step in enumerate(self.opening, 1) if step.kind is StepKind.STARTTLS), None)
            text += f" at the end of a dialogue of {len(self.steps)} steps"
            if tls is not None:
                text += f" (STARTTLS at step {tls})"
        return text


def request_bytes(text: str) -> bytes:
    """``--send``: bytes with the escapes of ``tcpreach.settings.escapes`` (may be empty)."""
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

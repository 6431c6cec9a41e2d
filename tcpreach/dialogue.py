r"""Dialogues as users write them, and the STARTTLS openings of the mail protocols: pure.

A step as text is ``KIND:TEXT``: ``send:EHLO probe\r\n``, ``expect:hello\n``,
``expect-prefix:+OK``, ``expect-regex:^220 `` or ``starttls``, with the escapes of
``--send`` (a regex as typed). The command line orders its ``--send``/``--expect*`` flags
into the same steps (``ordered_steps``); a configuration file, the pytest plugin and the
exporter's modules give them as the ``steps`` setting.

``starttls = "smtp"`` (``imap``, ``pop3``) opens the dialogue with that protocol's
upgrade: the greeting, the command, its go-ahead, the handshake. What follows is the
user's own steps when there are any, else the protocol's polite end (a command answered
over TLS, then the goodbye and the server's close), so the option alone is a whole check.
"""

from __future__ import annotations

from collections.abc import Sequence

from tcpreach.expectation import Expectation, Match, Step, StepKind, expected_bytes, regex_bytes, request_bytes

__all__ = ["STARTTLS_PROTOCOLS", "dialogue", "ordered_steps", "parse_starttls", "parse_step", "starttls_steps"]

_KINDS = {
    "send": (StepKind.SEND, Match.EXACT, request_bytes),
    "expect": (StepKind.EXPECT, Match.EXACT, expected_bytes),
    "expect-prefix": (StepKind.EXPECT, Match.PREFIX, expected_bytes),
    "expect-regex": (StepKind.EXPECT, Match.REGEX, regex_bytes),
}


def parse_step(text: str) -> Step:
    r"""``send:QUIT\r\n`` as a ``Step``; raises ``ValueError`` saying what a step looks like."""
    kind, colon, body = text.partition(":")
    kind = kind.strip().lower().replace("_", "-")
    if kind == "starttls" and not body:
        return Step(StepKind.STARTTLS)
    if kind not in _KINDS or not colon:
        raise ValueError(f"a step is KIND:TEXT with KIND one of {', '.join(_KINDS)}, or starttls; got {text!r}")
    step_kind, match, parse = _KINDS[kind]
    data = parse(body)
    if step_kind is StepKind.SEND and not data:
        raise ValueError(f"nothing to send in {text!r}")
    return Step(step_kind, data, match)


def _re(pattern: bytes, fails_on: bytes) -> Step:
    return Step(StepKind.EXPECT, pattern, Match.REGEX, fails_on)


def _send(line: bytes) -> Step:
    return Step(StepKind.SEND, line)


_TLS = Step(StepKind.STARTTLS)
_EHLO = b"EHLO tcpreach.invalid\r\n"
_SMTP_NO = rb"(?m)^[45]\d\d "  # a refusal's last line
_POP3_NO = rb"^-ERR"
# (the upgrade, the polite end): multi-line replies are matched on their last line
# ((?m)^250 : the line without a dash), IMAP's on the tagged line; a refusal ends a step
# at once instead of at the deadline.
_PROTOCOLS: dict[str, tuple[tuple[Step, ...], tuple[Step, ...]]] = {
    "smtp": (
        (_re(rb"(?m)^220 ", _SMTP_NO), _send(_EHLO), _re(rb"(?m)^250 ", _SMTP_NO), _send(b"STARTTLS\r\n"),
         _re(rb"(?m)^220 ", _SMTP_NO), _TLS),
        (_send(_EHLO), _re(rb"(?m)^250 ", _SMTP_NO), _send(b"QUIT\r\n"), _re(rb"(?m)^221 ", _SMTP_NO)),
    ),
    "imap": (
        (_re(rb"^\* OK", rb"^\* (BYE|NO|BAD)"), _send(b"a1 STARTTLS\r\n"), _re(rb"(?m)^a1 OK", rb"(?m)^a1 (NO|BAD)"),
         _TLS),
        (_send(b"a2 CAPABILITY\r\n"), _re(rb"(?m)^a2 OK", rb"(?m)^a2 (NO|BAD)"), _send(b"a3 LOGOUT\r\n"),
         _re(rb"(?m)^a3 OK", rb"(?m)^a3 (NO|BAD)")),
    ),
    "pop3": (
        (_re(rb"^\+OK", _POP3_NO), _send(b"STLS\r\n"), _re(rb"^\+OK", _POP3_NO), _TLS),
        (_send(b"CAPA\r\n"), _re(rb"(?m)^\.\r?$", _POP3_NO), _send(b"QUIT\r\n"), _re(rb"^\+OK", _POP3_NO)),
    ),
}  # fmt: skip
STARTTLS_PROTOCOLS = tuple(_PROTOCOLS)


def parse_starttls(text: str) -> str:
    """``--starttls``: a protocol name, ``smtp``, ``imap`` or ``pop3``."""
    name = text.strip().lower()
    if name not in _PROTOCOLS:
        raise ValueError(f"STARTTLS is known for {', '.join(STARTTLS_PROTOCOLS)}, got {text!r}")
    return name


def starttls_steps(protocol: str, after: Sequence[Step] = ()) -> tuple[Step, ...]:
    """The protocol's upgrade, then ``after`` (none: the protocol's own polite end)."""
    upgrade, end = _PROTOCOLS[protocol]
    return (*upgrade, *(after or end))


def dialogue(steps: Sequence[Step], starttls: str | None = None, keep_open: bool = False) -> Expectation:
    """The expectation of a dialogue given as steps, opened by a protocol's STARTTLS when
    ``starttls`` names one. Raises ``ValueError`` for steps that do not end with an expect."""
    full = starttls_steps(starttls, steps) if starttls else tuple(steps)
    return Expectation.of_steps(full, keep_open)


def ordered_steps(flags: Sequence[tuple[str, bytes | Step]]) -> tuple[Step, ...] | None:
    """The command line's ``--send``/``--expect*``/``--step`` flags, in the order given, as
    a dialogue; ``None`` for the one-step case (at most one request and one expectation,
    in either order), which keeps the meaning the flags have always had."""
    sends = sum(name == "send" for name, _ in flags)
    expects = sum(name.startswith("expect") for name, _ in flags)
    if sends <= 1 and expects <= 1 and not any(isinstance(value, Step) for _, value in flags):
        return None
    steps: list[Step] = []
    for name, value in flags:
        if isinstance(value, Step):
            steps.append(value)
        else:
            kind, match, _ = _KINDS[name.replace("_", "-")]
            steps.append(Step(kind, value, match))
    return tuple(steps)

"""The expectation model and the verdicts it leads to, from constructed data: no socket."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcpreach.expectation import Expectation, Match, as_expectation, regex_bytes
from tcpreach.judging.verdict import judge
from tcpreach.model import Ending, Family, ProbeResult, Target, Verdict
from tcpreach.settings.escapes import escaped, parse_escapes

TARGET = Target(Family.IPV4, "192.0.2.1", 110)
BANNER = Expectation(b"+OK", Match.PREFIX)
BANNER_OPEN = Expectation(b"+OK", Match.PREFIX, keep_open=True)
REGEX_OPEN = Expectation(rb"^\+OK \w+", Match.REGEX, keep_open=True)
REGEX = Expectation(rb"^\+OK \w+", Match.REGEX)
PONG = Expectation(b"PONG\r\n", send=b"PING\r\n")


def connected(received: bytes, ending: Ending) -> ProbeResult:
    return ProbeResult(TARGET, connected=True, received=received, ending=ending, connect_s=0.01, total_s=0.02)


@pytest.mark.parametrize(
    ("expectation", "received", "met", "hopeless", "done"),
    [
        (Expectation(), b"", False, False, False),
        (Expectation(), b"hel", False, False, False),
        (Expectation(), b"hello\n", True, False, False),
        (Expectation(), b"hello\nmore", False, True, True),
        (Expectation(), b"HELO", False, True, True),
        (Expectation(keep_open=True), b"hello\n", True, False, True),
        (BANNER, b"+", False, False, False),
        (BANNER, b"+OK ready\r\n", True, False, False),
        (BANNER, b"-ERR", False, True, True),
        (BANNER_OPEN, b"+OK ready\r\n", True, False, True),
        (BANNER_OPEN, b"+O", False, False, False),
        (REGEX, b"+OK ready", True, False, False),
        (REGEX, b"-ERR", False, False, False),
        (REGEX_OPEN, b"+OK ready", True, False, True),
        (REGEX_OPEN, b"xx+OK ready", False, False, False),
    ],
)
def test_met_hopeless_and_done_reading(expectation, received, met, hopeless, done):
    assert (expectation.met(received), expectation.hopeless(received), expectation.done_reading(received)) == (
        met,
        hopeless,
        done,
    )


@pytest.mark.parametrize(
    ("expectation", "result", "verdict", "explanation"),
    [
        (BANNER_OPEN, connected(b"+OK ready\r\n", Ending.STOPPED), Verdict.OK,
         "received '+OK ready\\r\\n' (the connection may stay open)"),
        (BANNER_OPEN, connected(b"+OK ready\r\n", Ending.EOF), Verdict.OK,
         "received '+OK ready\\r\\n', then end-of-stream"),
        (BANNER, connected(b"+OK ready\r\n", Ending.DEADLINE), Verdict.NO_CLOSE,
         "received '+OK ready\\r\\n', but the connection was still open after 20 ms"),
        (BANNER, connected(b"+OK ready\r\n", Ending.EOF), Verdict.OK, "received '+OK ready\\r\\n', then end-of-stream"),
        (BANNER, connected(b"-ERR no\r\n", Ending.STOPPED), Verdict.WRONG_GREETING,
         "received '-ERR no\\r\\n', expected starting with '+OK'"),
        (BANNER, connected(b"+O", Ending.EOF), Verdict.TRUNCATED,
         "received '+O', expected starting with '+OK': closed after 2 of 3 bytes"),
        (BANNER_OPEN, connected(b"+O", Ending.DEADLINE), Verdict.TRUNCATED,
         "received '+O', expected starting with '+OK' (the server may keep the connection open): "
         "2 of 3 bytes, then nothing until the deadline"),
        (REGEX_OPEN, connected(b"+OK ready", Ending.STOPPED), Verdict.OK,
         "received '+OK ready' (the connection may stay open)"),
        (REGEX, connected(b"-ERR", Ending.EOF), Verdict.WRONG_GREETING,
         "received '-ERR', expected matching /^\\+OK \\w+/"),
        (REGEX, connected(b"-ERR", Ending.RESET), Verdict.RESET,
         "received '-ERR', expected matching /^\\+OK \\w+/: reset (RST) before a match"),
        (REGEX, connected(b"", Ending.EOF), Verdict.CLOSED_WITHOUT_DATA,
         "connected, then closed (FIN) before any byte"),
        (PONG, connected(b"PONG\r\n", Ending.EOF), Verdict.OK, "received 'PONG\\r\\n', then end-of-stream"),
        (PONG, connected(b"-ERR unknown command\r\n", Ending.STOPPED), Verdict.WRONG_GREETING,
         "received '-ERR unknown command\\r\\n', expected 'PONG\\r\\n' after sending 'PING\\r\\n'"),
        (PONG, connected(b"", Ending.DEADLINE), Verdict.SILENT, "connected, then no byte and no close within 20 ms"),
    ],
)  # fmt: skip
def test_each_expectation_gives_its_verdict(expectation, result, verdict, explanation):
    outcome = judge(result, expectation)
    assert (outcome.verdict, outcome.explanation) == (verdict, explanation)


def test_bytes_are_shorthand_for_the_exact_expectation():
    assert as_expectation(b"hi\n") == Expectation(b"hi\n", Match.EXACT, b"", keep_open=False)
    assert as_expectation(BANNER) is BANNER


@pytest.mark.parametrize(
    ("data", "match", "message"),
    [
        (b"", Match.EXACT, "the expected bytes are empty"),
        (b"", Match.PREFIX, "the expected bytes are empty"),
        (b"(", Match.REGEX, "bad regular expression b'(': missing ), unterminated subpattern at position 0"),
    ],
)
def test_an_impossible_expectation_is_refused(data, match, message):
    with pytest.raises(ValueError) as caught:  # noqa: PT011 - the whole message is asserted below
        Expectation(data, match)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("expectation", "text"),
    [
        (Expectation(), "'hello\\n'"),
        (BANNER_OPEN, "starting with '+OK' (the server may keep the connection open)"),
        (REGEX, "matching /^\\+OK \\w+/"),
        (PONG, "'PONG\\r\\n' after sending 'PING\\r\\n'"),
        # A long request is shown by its first 64 bytes and its size; the expected bytes whole.
        (Expectation(b"y" * 65, send=b"\n" * 64), "'" + "y" * 65 + "' after sending '" + "\\n" * 64 + "'"),
        (Expectation(send=b"x" * 4_000_000), f"'hello\\n' after sending '{'x' * 64}... (4000000 bytes)'"),
    ],
    ids=["exact", "prefix-open", "regex", "request", "request-of-64", "request-of-4-mb"],
)
def test_describe(expectation, text):
    assert expectation.describe() == text


def test_the_read_cap_leaves_room_to_see_a_mismatch():
    assert Expectation().read_cap == 4096
    assert Expectation(b"x" * 2000).read_cap == 8000


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("hello\\n", b"hello\n"),
        ("a\\r\\n\\t\\\\\\0", b"a\r\n\t\\\0"),
        ("\\x41\\xff", b"A\xff"),
        ("\\xAB\\xab\\xFf", b"\xab\xab\xff"),  # hex digits in either case
        ("bücher", "bücher".encode()),
        ("", b""),
        ("\udcff\\n", b"\xff\n"),  # an argv byte that is not UTF-8 arrives as a surrogate: it is that byte
    ],
)
def test_escapes(text, data):
    assert parse_escapes(text) == data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\\q", "unknown escape '\\q' at position 0: use \\n \\r \\t \\\\ \\0 or \\xHH"),
        ("ab\\777", "unknown escape '\\7' at position 2: use \\n \\r \\t \\\\ \\0 or \\xHH"),
        ("\\x4", "unknown escape '\\x4' at position 0: use \\n \\r \\t \\\\ \\0 or \\xHH"),
        ("\\xzz", "unknown escape '\\xzz' at position 0: use \\n \\r \\t \\\\ \\0 or \\xHH"),
        ("\\xzzq", "unknown escape '\\xzz' at position 0: use \\n \\r \\t \\\\ \\0 or \\xHH"),
        ("end\\", "a lone backslash at the end (write \\\\ for a backslash)"),
    ],
)
def test_a_bad_escape_is_named(text, message):
    with pytest.raises(ValueError) as caught:  # noqa: PT011 - the whole message is asserted below
        parse_escapes(text)
    assert str(caught.value) == message


@given(st.text(max_size=40))
def test_escape_parsing_gives_bytes_or_the_documented_error(text):
    try:
        data = parse_escapes(text)
    except ValueError as exc:
        assert str(exc).startswith(("unknown escape", "a lone backslash"))  # noqa: PT017 - any text: value or error
    else:
        assert parse_escapes(escaped(data)) == data


@pytest.mark.parametrize(
    ("pattern", "received", "met"),
    [(rb"OK \w+", b"+OK ready", True), (rb"^OK \w+", b"+OK ready", False), (rb"ready$", b"+OK ready", True),
     (rb"\d{3}", b"220 mail ESMTP", True), (rb"ESMTP", b"220 mail ESMTP", True)],
)  # fmt: skip
def test_a_regex_is_searched_for_anywhere_unless_it_anchors_itself(pattern, received, met):
    assert Expectation(pattern, Match.REGEX).met(received) is met


def test_a_regex_keeps_the_bytes_typed_even_when_they_are_not_utf_8():
    assert regex_bytes("^\udcff\\d") == b"^\xff\\d"  # the pattern as typed: re's escapes stay escapes


def test_every_byte_is_shown_as_typed_by_its_class():
    # what a user reads: printable ASCII as itself, four named escapes, everything else \xHH
    # (control bytes, DEL, and every byte of 0x80 and over), never a raw control character
    shown = {b: escaped(bytes([b])) for b in range(256)}
    named = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x5C: "\\\\"}
    printable = {b: chr(b) for b in range(0x20, 0x7F) if b not in named}
    hexed = {b: f"\\x{b:02x}" for b in range(256) if b not in named and b not in printable}
    assert shown == named | printable | hexed
    assert [shown[b] for b in (0x00, 0x1B, 0x1F, 0x7F, 0x80, 0xFF)] == [
        "\\x00",
        "\\x1b",
        "\\x1f",
        "\\x7f",
        "\\x80",
        "\\xff",
    ]
    assert all(parse_escapes(f"\\x{b:02X}") == parse_escapes(f"\\x{b:02x}") == bytes([b]) for b in range(256))

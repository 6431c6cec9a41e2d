"""Dialogues on plain data: steps as written, what an expect step takes, captures, the
STARTTLS openings, the settings that make a dialogue, and each step's verdict. No socket."""

from __future__ import annotations

import pytest

from tcpreach.dialogue import dialogue, ordered_steps, parse_starttls, parse_step, starttls_steps
from tcpreach.errors import UsageError
from tcpreach.expectation import Expectation, Match, Step, StepKind, groups_of, render
from tcpreach.judging.verdict import judge
from tcpreach.model import Ending, Family, ProbeResult, Target, TlsFailure, TlsObservation, Verdict
from tcpreach.settings import Given
from tcpreach.settings.config import options_from, parsed

SEND, EXPECT, TLS = StepKind.SEND, StepKind.EXPECT, StepKind.STARTTLS


@pytest.mark.parametrize(("text", "step"), [
    ("send:EHLO x\\r\\n", Step(SEND, b"EHLO x\r\n")),
    ("expect:hello\\n", Step(EXPECT, b"hello\n")),
    ("expect-prefix:+OK", Step(EXPECT, b"+OK", Match.PREFIX)),
    ("EXPECT_PREFIX:+OK", Step(EXPECT, b"+OK", Match.PREFIX)),
    ("expect-regex:^220 (\\S+)", Step(EXPECT, rb"^220 (\S+)", Match.REGEX)),
    ("expect:a:b", Step(EXPECT, b"a:b")),
    ("starttls", Step(TLS)),
])  # fmt: skip
def test_a_step_as_written(text, step):
    assert parse_step(text) == step


@pytest.mark.parametrize(("text", "message"), [
    ("hello", "a step is KIND:TEXT with KIND one of send, expect, expect-prefix, expect-regex, or starttls; "
              "got 'hello'"),
    ("recv:x", "a step is KIND:TEXT"),
    ("send:", "nothing to send in 'send:'"),
    ("expect:", "the expected bytes are empty"),
    ("expect-regex:(", "bad regular expression"),
    ("send:\\q", "bad escape"),
    ("starttls:now", "a step is KIND:TEXT"),
])  # fmt: skip
def test_a_step_written_wrong_says_what_a_step_is(text, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        parse_step(text)


@pytest.mark.parametrize(("pending", "taken"), [
    (b"220 mail ready\r\n250", (16, True)),  # the rest of the line is taken with the match
    (b"220 mail rea", (12, True)),  # no line end yet: what has come
    (b"x220 ", None),  # not at the start: a prefix must start the bytes
])  # fmt: skip
def test_a_prefix_step_takes_its_line(pending, taken):
    got = Step(EXPECT, b"220 ", Match.PREFIX).taken(pending)
    assert (None if got is None else (got[0], got[1] is None)) == taken


def test_an_exact_step_takes_its_bytes_and_nothing_more():
    step = Step(EXPECT, b"OK")
    assert (step.taken(b"OK and more\n"), step.taken(b"O"), step.hopeless(b"O"), step.hopeless(b"NO")) == (
        (2, None), None, False, True)  # fmt: skip


def test_a_regex_step_is_searched_and_takes_through_the_line_of_its_match():
    step = Step(EXPECT, rb"(?m)^250 (\w+)", Match.REGEX)
    pending = b"250-a\r\n250-b\r\n250 last\r\nnext"
    end, found = step.taken(pending)
    assert (pending[:end], found.group(1)) == (b"250-a\r\n250-b\r\n250 last\r\n", b"last")
    assert step.taken(b"250-a\r\n250-b\r\n") is None
    # a regex can match later bytes: only its refusal pattern ends it early
    assert step.hopeless(b"554 no\r\n") is False
    refused = Step(EXPECT, rb"(?m)^250 ", Match.REGEX, rb"(?m)^[45]\d\d ")
    assert (refused.hopeless(b"554 no\r\n"), refused.hopeless(b"250-a\r\n")) == (True, False)


def test_captures_by_number_and_by_name_fill_later_sends():
    found = Step(EXPECT, rb"^NONCE (\d+) (?P<salt>\w+)( x)?", Match.REGEX).taken(b"NONCE 4711 pepper\r\n")[1]
    groups = groups_of(found)
    assert groups == {"1": b"4711", "2": b"pepper", "3": b"", "salt": b"pepper"}
    assert render(b"ECHO ${1} ${salt}${3}\r\n", groups) == b"ECHO 4711 pepper\r\n"
    assert render(b"no ${reference} here", {}) == b"no ${reference} here"


def test_a_send_that_names_a_group_the_regex_before_it_lacks_is_refused():
    steps = (Step(EXPECT, rb"^NONCE (\d+)", Match.REGEX), Step(SEND, b"ECHO ${2}\r\n"), Step(EXPECT, b"OK"))
    with pytest.raises(ValueError, match=r"^step 2 \(send 'ECHO \$\{2\}\\r\\n'\) uses \$\{2\}, which the regular "
                                         r"expression before it does not capture$"):  # fmt: skip
        Expectation.of_steps(steps)
    # the look-alike: the group it has, and a reference before any regex (literal bytes)
    assert Expectation.of_steps((Step(SEND, b"${x}"), *steps[:1], Step(SEND, b"${1}"), steps[2])).send == b"${1}"


def test_the_steps_of_a_dialogue_become_its_opening_request_and_expectation():
    steps = (Step(EXPECT, b"+OK", Match.PREFIX), Step(SEND, b"QUIT\r\n"), Step(EXPECT, b"+OK bye\r\n"))
    made = Expectation.of_steps(steps, keep_open=True)
    assert made == Expectation(b"+OK bye\r\n", Match.EXACT, b"QUIT\r\n", True, steps[:1])
    assert (made.steps, made.starttls) == (steps, False)
    # one step is the Expectation every flag always meant
    assert Expectation.of_steps((Step(SEND, b"PING\r\n"), Step(EXPECT, b"PONG\r\n"))) == Expectation(
        b"PONG\r\n", send=b"PING\r\n"
    )
    with pytest.raises(ValueError, match=r"^a dialogue ends with what is expected"):
        Expectation.of_steps((Step(EXPECT, b"x"), Step(SEND, b"y")))


def test_the_read_cap_covers_the_longest_step():
    long = Step(EXPECT, b"x" * 2000)
    assert Expectation.of_steps((long, Step(EXPECT, b"y"))).read_cap == 8000


@pytest.mark.parametrize(("flags", "steps"), [
    ([], None),
    ([("send", b"PING\r\n"), ("expect", b"PONG\r\n")], None),
    ([("expect", b"PONG\r\n"), ("send", b"PING\r\n")], None),  # either order: the one-step case
    ([("expect_prefix", b"+OK"), ("send", b"QUIT\r\n"), ("expect", b"+OK bye")],
     (Step(EXPECT, b"+OK", Match.PREFIX), Step(SEND, b"QUIT\r\n"), Step(EXPECT, b"+OK bye"))),
    ([("send", b"a"), ("send", b"b"), ("expect_regex", b"^c")],
     (Step(SEND, b"a"), Step(SEND, b"b"), Step(EXPECT, b"^c", Match.REGEX))),
    ([("steps", Step(TLS)), ("expect", b"x")], (Step(TLS), Step(EXPECT, b"x"))),
])  # fmt: skip
def test_the_command_lines_flags_in_order(flags, steps):
    assert ordered_steps(flags) == steps


def test_starttls_opens_with_the_protocols_upgrade_then_the_users_steps_or_its_own_end():
    upgrade = starttls_steps("pop3")[:4]
    assert [s.kind for s in upgrade] == [EXPECT, SEND, EXPECT, TLS]
    assert [s.data for s in starttls_steps("pop3")[4:]] == [b"CAPA\r\n", rb"(?m)^\.\r?$", b"QUIT\r\n", rb"^\+OK"]
    mine = (Step(SEND, b"NOOP\r\n"), Step(EXPECT, b"+OK", Match.PREFIX))
    assert starttls_steps("pop3", mine) == (*upgrade, *mine)
    assert dialogue(mine, "pop3", keep_open=True).steps == (*upgrade, *mine)
    assert [dialogue((), p).starttls for p in ("smtp", "imap", "pop3")] == [True, True, True]
    with pytest.raises(ValueError, match=r"^STARTTLS is known for smtp, imap, pop3, got 'xmpp'$"):
        parse_starttls("xmpp")


def options(**values):
    return options_from(parsed({name: Given(value, "test") for name, value in values.items()}))


def test_settings_make_the_same_dialogue_from_a_list_or_shell_words():
    listed = options(steps=["expect-prefix:+OK", "send:QUIT\\r\\n", "expect-prefix:+OK"])
    worded = options(steps="'expect-prefix:+OK' 'send:QUIT\\r\\n' expect-prefix:+OK")
    assert listed == worded
    assert listed.expectation.steps == (Step(EXPECT, b"+OK", Match.PREFIX), Step(SEND, b"QUIT\r\n"),
                                        Step(EXPECT, b"+OK", Match.PREFIX))  # fmt: skip


def test_starttls_brings_tls_settings_and_takes_a_one_step_ending():
    made = options(starttls="smtp", send="NOOP\\r\\n", expect_prefix="250", keep_open=True, sni="mail.example")
    assert made.expectation == dialogue((Step(SEND, b"NOOP\r\n"), Step(EXPECT, b"250", Match.PREFIX)), "smtp",
                                        keep_open=True)  # fmt: skip
    assert (made.tls.server_name, made.tls.insecure) == ("mail.example", False)
    assert options(port=25).tls is None


@pytest.mark.parametrize(("values", "message"), [
    ({"steps": ["expect:x"], "send": "y"}, "steps and send exclude each other: write every step as a step"),
    ({"starttls": "smtp", "tls": True},
     "tls speaks TLS from the connect, STARTTLS upgrades in the middle of the stream: give one of tls and starttls"),
    ({"steps": ["expect:x", "send:y"]}, "steps: a dialogue ends with what is expected: make the last step an expect"),
    ({"steps": "'send:a"}, "steps: cannot split \"'send:a\" into words: No closing quotation"),
])  # fmt: skip
def test_dialogue_settings_that_cannot_be_together(values, message):
    with pytest.raises(UsageError) as caught:
        options(**values)
    assert str(caught.value).startswith(message) or str(caught.value) == message, str(caught.value)


TARGET = Target(Family.IPV4, "192.0.2.1", 25)
SMTP = dialogue((), "smtp")
CHALLENGE = Expectation.of_steps(
    (Step(EXPECT, rb"^NONCE (\d+)", Match.REGEX), Step(SEND, b"ECHO ${1}\r\n"), Step(EXPECT, b"OK\r\n"))
)


def at(step, received=b"", ending=Ending.STOPPED, first_byte=0.002, **fields):
    return ProbeResult(TARGET, connected=True, received=received, ending=ending, connect_s=0.001,
                       first_byte_s=first_byte if received or first_byte else None, total_s=0.5, step=step,
                       **fields)  # fmt: skip


@pytest.mark.parametrize(("expect", "result", "verdict", "explanation"), [
    (CHALLENGE, at(3, b"OK\r\n", Ending.EOF), Verdict.OK,
     "received 'OK\\r\\n', then end-of-stream (the last of 3 steps)"),
    (CHALLENGE, at(3, b"ERR wrong nonce\r\n", Ending.EOF), Verdict.WRONG_GREETING,
     "step 3 of 3: received 'ERR wrong nonce\\r\\n', expected 'OK\\r\\n'"),
    (CHALLENGE, at(3, b"OK", Ending.EOF), Verdict.TRUNCATED,
     "step 3 of 3: received 'OK', expected 'OK\\r\\n': closed after 2 of 4 bytes"),
    (CHALLENGE, at(3, b"OK\r\n", Ending.DEADLINE), Verdict.NO_CLOSE,
     "step 3 of 3: received 'OK\\r\\n', but the connection was still open after 500 ms"),
    (CHALLENGE, at(1, b"", Ending.EOF, first_byte=None), Verdict.CLOSED_WITHOUT_DATA,
     "step 1 of 3 (expect): connected, then closed (FIN) before any byte"),
    (CHALLENGE, at(1, b"", Ending.DEADLINE, first_byte=None), Verdict.SILENT,
     "step 1 of 3 (expect): connected, then no byte and no close within 500 ms"),
    (CHALLENGE, at(1, b"HELLO\r\n", Ending.EOF), Verdict.WRONG_GREETING,
     "step 1 of 3 (expect): received 'HELLO\\r\\n', expected matching /^NONCE (\\d+)/"),
    (CHALLENGE, at(3, b"", Ending.EOF), Verdict.TRUNCATED,
     "step 3 of 3 (expect): closed before any byte of expect 'OK\\r\\n'"),
    (CHALLENGE, at(3, b"", Ending.RESET), Verdict.RESET,
     "step 3 of 3 (expect): reset (RST) before any byte of expect 'OK\\r\\n'"),
    (CHALLENGE, at(3, b"", Ending.DEADLINE), Verdict.TRUNCATED,
     "step 3 of 3 (expect): no byte of expect 'OK\\r\\n' within 500 ms"),
    (SMTP, at(5, b"454 4.7.0 TLS not available\r\n"), Verdict.WRONG_GREETING,
     "step 5 of 10 (expect): received '454 4.7.0 TLS not available\\r\\n', expected matching /(?m)^220 /"),
    (SMTP, at(5, b"220 2.0.0 Rea", Ending.RESET), Verdict.RESET,
     "step 5 of 10 (expect): received '220 2.0.0 Rea', expected matching /(?m)^220 /: reset (RST) before the rest"),
    (SMTP, at(6, tls=TlsObservation("mail.example", 0.1, failure=TlsFailure.NAME_MISMATCH, detail="no")),
     Verdict.TLS_NAME_MISMATCH, "step 6 of 10 (starttls): the certificate does not carry the name mail.example: no"),
    (SMTP, at(6, ending=Ending.DEADLINE, tls=TlsObservation("mail.example", detail="no answer")), Verdict.SILENT,
     "step 6 of 10 (starttls): no answer to the TLS ClientHello within 500 ms"),
])  # fmt: skip
def test_each_step_is_judged_and_a_failing_one_named(expect, result, verdict, explanation):
    outcome = judge(result, expect)
    assert (outcome.verdict, outcome.explanation) == (verdict, explanation)


def test_a_dialogue_sends_when_any_step_does():
    assert [Expectation().sends, Expectation(send=b"x").sends,
            Expectation.of_steps((Step(SEND, b"x"), Step(EXPECT, b"y"), Step(EXPECT, b"z"))).sends] == [
        False, True, True]  # fmt: skip


def test_one_dialogue_has_one_spelling():
    # a last send of the opening is the request: the two compare equal (merge compares them)
    spelled = Expectation(b"OK", opening=(Step(EXPECT, b"+", Match.PREFIX), Step(SEND, b"GO\r\n")))
    assert spelled == Expectation(b"OK", send=b"GO\r\n", opening=(Step(EXPECT, b"+", Match.PREFIX),))
    assert Expectation(b"OK", opening=(Step(SEND, b"GO\r\n"),)) == Expectation(b"OK", send=b"GO\r\n")


def test_each_step_in_words():
    steps = (Step(SEND, b"QUIT\r\n"), Step(EXPECT, b"+OK", Match.PREFIX), Step(EXPECT, rb"^\d+", Match.REGEX),
             Step(TLS))  # fmt: skip
    assert [s.describe() for s in steps] == [
        "send 'QUIT\\r\\n'",
        "expect starting with '+OK'",
        "expect matching /^\\d+/",
        "STARTTLS (the TLS handshake)",
    ]


HELLO_FIRST = Expectation.of_steps((Step(EXPECT, b"HELLO\r\n"), Step(SEND, b"x\r\n"), Step(EXPECT, b"y")))


@pytest.mark.parametrize(("ending", "verdict", "how"), [
    (Ending.EOF, Verdict.TRUNCATED, "closed"),
    (Ending.DEADLINE, Verdict.TRUNCATED, "nothing more until the deadline"),
    (Ending.RESET, Verdict.RESET, "reset (RST) before the rest"),
])  # fmt: skip
def test_an_opening_step_cut_short_says_how(ending, verdict, how):
    outcome = judge(at(1, b"HEL", ending), HELLO_FIRST)
    assert (outcome.verdict, outcome.explanation) == (
        verdict, f"step 1 of 3 (expect): received 'HEL', expected 'HELLO\\r\\n': {how}")  # fmt: skip

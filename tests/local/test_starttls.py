"""Dialogues and STARTTLS on loopback, through every surface a user has: the command line's
ordered flags and ``--step``, a configuration file, the API and the exporter's modules,
against a stand-in that speaks just enough SMTP, IMAP and POP3 (the real daemons are in
the edge tier). Certificates from trustme."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import jsonschema
import pytest
import trustme
from prometheus_client.parser import text_string_to_metric_families

from tcpreach import CheckOptions, check_host
from tcpreach.cli import main
from tcpreach.dialogue import dialogue
from tcpreach.exporter.config import load_exporter_config
from tcpreach.exporter.service import ExporterService
from tcpreach.model import Verdict
from tcpreach.options import TlsSettings
from tcpreach.testing.mail import MailStandIn
from tcpreach.testing.stub_dns import StubDNS

pytestmark = pytest.mark.local

NAME = "mail.test"


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def context(ca):
    made = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(NAME).configure_cert(made)
    return made


def probe(capsys, server, *args):
    code = main(["probe", f"127.0.0.1:{server.port}", "--retries", "0", "--json", *args])
    out, err = capsys.readouterr()
    assert err == ""
    doc = json.loads(out)
    (target,) = doc["targets"]
    return code, target


@pytest.mark.parametrize(("protocol", "lines"), [
    ("smtp", [b"EHLO tcpreach.invalid\r\n", b"STARTTLS\r\n", b"EHLO tcpreach.invalid\r\n", b"QUIT\r\n"]),
    ("imap", [b"a1 STARTTLS\r\n", b"a2 CAPABILITY\r\n", b"a3 LOGOUT\r\n"]),
    ("pop3", [b"STLS\r\n", b"CAPA\r\n", b"QUIT\r\n"]),
])  # fmt: skip
def test_starttls_alone_is_a_whole_polite_session(capsys, context, ca_file, protocol, lines):
    with MailStandIn(protocol, context) as server:
        code, target = probe(capsys, server, "--starttls", protocol, "--sni", NAME, "--ca", ca_file)
    assert (code, target["verdict"], server.lines) == (0, "ok", lines)
    assert (target["tls"]["subject_names"], target["tls"]["failure"]) == ([NAME], None)
    events = [e["event"] for e in target["observed"]["exchange"]]
    assert events.count("tls") == 1 and events[0] == "received"


@pytest.mark.parametrize("case", [
    ("smtp", 5, "454 4.7.0 TLS not available\\r\\n"),
    ("imap", 3, "a1 NO TLS not available\\r\\n"),
    ("pop3", 3, "-ERR TLS not available\\r\\n"),
])  # fmt: skip
def test_a_refused_upgrade_fails_at_its_step_at_once(capsys, context, ca_file, case):
    protocol, step, answer = case
    with MailStandIn(protocol, context, refuse_starttls=True) as server:
        code, target = probe(capsys, server, "--starttls", protocol, "--sni", NAME, "--ca", ca_file)
    assert (code, target["verdict"], target["observed"]["step"], target["received"]) == (
        1, "wrong-greeting", step, answer)  # fmt: skip
    # the refusal ended the step, not the read deadline
    assert target["observed"]["ending"] == "stopped"


def test_an_untrusted_certificate_fails_at_the_starttls_step_and_insecure_lets_it_through(capsys, context):
    with MailStandIn("smtp", context) as server:
        code, target = probe(capsys, server, "--starttls", "smtp", "--sni", NAME)
        assert (code, target["verdict"], target["observed"]["step"]) == (1, "tls-untrusted", 6)
        code, target = probe(capsys, server, "--starttls", "smtp", "--sni", NAME, "--insecure")
        assert (code, target["verdict"], target["tls"]["verified"]) == (0, "ok", False)


def test_a_capture_goes_into_the_next_send(capsys):
    with MailStandIn("challenge") as server:
        code, target = probe(capsys, server, "--expect-regex", r"^NONCE (\d+)", "--send", r"ECHO ${1}\r\n",
                             "--expect", r"OK welcome\r\n")  # fmt: skip
        assert (code, target["verdict"], server.lines) == (0, "ok", [b"ECHO 4711\r\n"])
        # the look-alike: the same steps with a fixed answer instead of the capture
        code, target = probe(capsys, server, "--expect-regex", r"^NONCE (\d+)", "--send", r"ECHO 1\r\n",
                             "--expect", r"OK welcome\r\n")  # fmt: skip
        assert (code, target["verdict"], target["explanation"]) == (
            1,
            "wrong-greeting",
            "step 3 of 3: received 'ERR wrong nonce\\r\\n', expected 'OK welcome\\r\\n'",
        )


def test_steps_written_out_with_a_starttls_step_of_their_own(capsys, context, ca_file):
    steps = [r"expect-regex:(?m)^220 ", r"send:STARTTLS\r\n", "expect-prefix:220 ", "starttls", r"send:QUIT\r\n",
             "expect-prefix:221 "]  # fmt: skip
    with MailStandIn("smtp", context) as server:
        code, target = probe(capsys, server, *(f"--step={s}" for s in steps), "--sni", NAME, "--ca", ca_file)
    assert (code, target["verdict"], server.lines) == (0, "ok", [b"STARTTLS\r\n", b"QUIT\r\n"])


def test_a_configuration_files_steps_and_starttls(capsys, context, ca_file, tmp_path):
    config = tmp_path / "mail.toml"
    config.write_text(f"starttls = 'smtp'\nsni = '{NAME}'\nca = '{ca_file}'\n"
                      "steps = ['send:NOOP\\r\\n', 'expect-prefix:502 ']\nkeep_open = true\n")  # fmt: skip
    with MailStandIn("smtp", context) as server:
        code, target = probe(capsys, server, "--config", str(config))
    assert (code, target["verdict"], server.lines[-1]) == (0, "ok", b"NOOP\r\n")


def test_the_api_takes_a_dialogue(context, ca_file):
    with MailStandIn("imap", context) as server:
        options = CheckOptions(port=server.port, expectation=dialogue((), "imap"), retries=0,
                               tls=TlsSettings(server_name=NAME, ca_file=ca_file))  # fmt: skip
        report = check_host("127.0.0.1", options)
    assert [(o.verdict, o.result.step) for o in report.outcomes] == [(Verdict.OK, 8)]


def test_an_exporter_module_with_starttls(context, ca_file, tmp_path):
    with MailStandIn("pop3", context) as server:
        config = tmp_path / "exporter.toml"
        config.write_text(f"[allow]\nnetworks = ['127.0.0.0/8']\n[modules.pop3]\nport = {server.port}\n"
                          f"starttls = 'pop3'\nsni = '{NAME}'\nca = '{ca_file}'\nretries = 0\n")  # fmt: skip
        service = ExporterService(load_exporter_config(config))
        response = asyncio.run(service.handle("/probe", "target=127.0.0.1&module=pop3", {}))
    found = {s.name: s.value for f in text_string_to_metric_families(response.body.decode()) for s in f.samples}
    assert (response.status, found["probe_success"]) == (200, 1)


def test_a_plugin_run_takes_starttls_and_steps(pytester, inner_pytest, context, ca_file, monkeypatch):
    with MailStandIn("smtp", context) as server:
        monkeypatch.setenv("TCPREACH_STEPS", r"'send:NOOP\r\n' 'expect-prefix:502 '")
        pytester.makepyfile(  # a module name no module of ours has (the run is in this process)
            test_inner_mail_session="""
def test_session(tcpreach_settings):
    from tcpreach import check_host
    options = tcpreach_settings.options_for(remote=False)
    report = check_host("127.0.0.1", options)
    assert [str(o.verdict) for o in report.outcomes] == ["ok"], report.outcomes
"""
        )
        result = inner_pytest("--tcpreach-starttls", "smtp", "--tcpreach-keep-open", "--tcpreach-sni", NAME,
                              f"--tcpreach-ca={ca_file}", f"--tcpreach-port={server.port}")  # fmt: skip
        result.assert_outcomes(passed=1)
        assert server.lines[-1] == b"NOOP\r\n"


def test_bad_dialogue_flags_are_one_line_usage_errors(capsys):
    for args, message in (
        (["--send", "a", "--send", "b"], "--step: a dialogue ends with what is expected"),
        (["--step", "recv:x"], "argument --step: a step is KIND:TEXT"),
        (["--starttls", "xmpp"], "argument --starttls: STARTTLS is known for smtp, imap, pop3, got 'xmpp'"),
        (["--starttls", "smtp", "--tls"], "--tls speaks TLS from the connect"),
    ):
        code = main(["probe", "127.0.0.1:9", *args])
        out, err = capsys.readouterr()
        assert (code, out, err.count("\n")) == (2, "", 1), err
        assert message in err


def test_the_transcript_shows_every_step_in_order(capsys):
    with MailStandIn("challenge") as server:
        code = main(["probe", f"127.0.0.1:{server.port}", "--retries", "0", "-v", "--expect-regex", r"^NONCE (\d+)",
                     "--send", r"ECHO ${1}\r\n", "--expect", r"OK welcome\r\n"])  # fmt: skip
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith(f"  127.0.0.1:{server.port} ok: "))
    shown = [part.split(" at ")[0] for part in line.split("; ")]
    assert (code, shown[2:]) == (0, ["received 'NONCE 4711\\r\\n'", "sent 'ECHO 4711\\r\\n'",
                                     "received 'OK welcome\\r\\n'", "then the server closed (FIN)"])  # fmt: skip


def test_the_json_of_a_verbose_run_carries_the_transcript(capsys):
    with MailStandIn("challenge") as server:
        main(
            [
                "probe",
                f"127.0.0.1:{server.port}",
                "--retries",
                "0",
                "-v",
                "--json",
                "--expect-prefix",
                "NONCE",
                "--keep-open",
            ]
        )
    doc = json.loads(capsys.readouterr().out)
    assert [line.split(" ok: ")[0] for line in doc["transcript"]] == [f"  127.0.0.1:{server.port}"]
    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "report.schema.json").read_text())
    jsonschema.validate(doc, schema)


def test_a_fly_name_over_starttls_has_no_plain_tcp_comparison(capsys, context, ca_file):
    # --tls on a Fly name also probes its IPv4 in plain TCP (is TLS with SNI the only way
    # in?); STARTTLS is plain TCP already: one session per address, and no such finding
    with MailStandIn("smtp", context) as server, StubDNS({"mail.fly.dev": {"A": ["127.0.0.1"]}}) as dns:
        code = main(["probe", f"mail.fly.dev:{server.port}", "--resolver", dns.spec, "--starttls", "smtp", "--sni",
                     NAME, "--ca", ca_file, "--retries", "0", "--json"])  # fmt: skip
    out, err = capsys.readouterr()
    doc = json.loads(out)
    found = (code, err, [t["verdict"] for t in doc["targets"]], [f["code"] for f in doc["findings"]])
    assert found == (0, "", ["ok"], ["no-aaaa", "all-ok"])
    assert server.lines == [b"EHLO tcpreach.invalid\r\n", b"STARTTLS\r\n", b"EHLO tcpreach.invalid\r\n", b"QUIT\r\n"]


class _Injecting(MailStandIn):
    """An SMTP server that writes plaintext right after its STARTTLS go-ahead (the class of
    bug of CVE-2011-0411), then refuses EHLO over TLS."""

    def _reply(self, line: bytes, secure: bool) -> tuple[bytes, bool, bool]:
        reply, upgrade, close = super()._reply(line, secure)
        if upgrade:
            return reply + b"250 injected before the handshake\r\n", upgrade, close
        if secure and line.upper().startswith(b"EHLO"):
            return b"550 5.7.0 not over TLS, not here\r\n", False, False
        return reply, upgrade, close


def test_plaintext_after_the_starttls_go_ahead_is_never_taken_for_what_came_over_tls(capsys, context, ca_file):
    with _Injecting("smtp", context) as server:
        code, target = probe(capsys, server, "--starttls", "smtp", "--ca", ca_file, "--sni", NAME,
                             "--step", "send:EHLO x\\r\\n", "--step", "expect-prefix:250")  # fmt: skip
    # the 250 came before the handshake: the answer over TLS is the 550, and that step fails
    assert (code, target["verdict"]) == (1, "wrong-greeting")
    assert "550 5.7.0" in target["explanation"]


@pytest.mark.parametrize("behaviour", ["hello", "hold"], ids=["then-close", "kept-open"])
def test_a_server_that_answers_two_steps_in_one_write_passes_both_without_waiting(capsys, behaviour):
    from tcpreach.testing.standins import Behaviour, StandIn

    with StandIn(Behaviour(behaviour), greeting=b"A one\r\nB two\r\n") as server:
        code, target = probe(capsys, server, "--timeout", "1", "--keep-open",
                             "--step", "expect-prefix:A", "--step", "expect-prefix:B")  # fmt: skip
    # the second step's bytes came with the first's: kept for it, and no read waits for more
    assert (code, target["verdict"], target["observed"]["ending"]) == (0, "ok", "stopped")


def test_the_second_step_missing_is_its_failure(capsys):  # the look-alike: only the first answer comes
    from tcpreach.testing.standins import Behaviour, StandIn

    with StandIn(Behaviour.HOLD, greeting=b"A one\r\n") as server:
        code, target = probe(capsys, server, "--timeout", "0.3", "--keep-open",
                             "--step", "expect-prefix:A", "--step", "expect-prefix:B")  # fmt: skip
    assert (code, target["verdict"], target["observed"]["step"]) == (1, "truncated", 2)

"""TLS and SNI on loopback, every verdict from a real handshake: trustme's CA and leaves,
a stand-in that routes by SNI (any other name: the alert unrecognized_name) on both
families, one that serves any SNI, one with an expired certificate, and the plain hello
server probed with ``--tls``."""

from __future__ import annotations

import datetime
import json
import ssl
import time
from pathlib import Path

import pytest
import trustme

from server import HelloServer
from tcpreach.cli import main
from tcpreach.testing.standins import Behaviour, StandIn, TlsStandIn
from tcpreach.testing.stub_dns import StubDNS

pytestmark = pytest.mark.local

NAME = "hello-server.fly.dev"


def server_context(ca: trustme.CA, *names: str, **validity) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names, **validity).configure_cert(context)
    return context


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def edge(ca):
    """An SNI-routing TLS edge on 127.0.0.1 and ::1 (one port), and DNS for its names; as
    Fly's, it closes raw TCP that sends no ClientHello (here after 0.25 s)."""
    with (
        TlsStandIn({NAME: server_context(ca, NAME)}, host="127.0.0.1", preread_timeout=0.25) as v4,
        TlsStandIn({NAME: server_context(ca, NAME)}, host="::1", port=v4.port, preread_timeout=0.25),
        StubDNS({NAME: {"A": ["127.0.0.1"], "AAAA": ["::1"]}, "other.fly.dev": {"A": ["127.0.0.1"]}}) as dns,
    ):
        yield v4.port, dns.spec


def probe(capsys, *args):
    # 1.5 s: 0.3 s was too short for a handshake on a loaded machine (a flake under
    # quality.flakes); the plain-TCP probes beside TLS ones end at the edge's preread close.
    code = main(["probe", *args, "--json", "--retries", "0", *([] if "--timeout" in args else ["--timeout", "1.5"])])
    out, err = capsys.readouterr()
    assert err == ""
    return code, json.loads(out)


def verdicts(doc):
    return [(t["address"], t["verdict"]) for t in doc["targets"]]


def test_every_address_of_the_name_is_asked_with_the_name_as_sni_and_answers(capsys, edge, ca_file):
    port, resolver = edge
    code, doc = probe(capsys, NAME, "--port", str(port), "--resolver", resolver, "--tls", "--ca", ca_file)
    # Plain TCP on the same IPv4 waits for a ClientHello: on a Fly name, TLS is the only way in.
    assert (code, verdicts(doc), [(f["code"], f["addresses"]) for f in doc["findings"]]) == (
        0,
        [("127.0.0.1", "ok"), ("::1", "ok")],
        [("fly-tls-sni-only", ["127.0.0.1"]), ("all-ok", [])],
    )
    for target in doc["targets"]:
        tls = target["tls"]
        assert (tls["server_name"], tls["version"], tls["subject_names"], tls["failure"]) == (
            NAME,
            "TLSv1.3",
            [NAME],
            None,
        )
        assert tls["issuer"].startswith("organizationName=trustme")
        assert tls["expires_in_days"] > 300  # trustme issues long-lived leaves
        # notAfter as a timestamp: the same instant, to within the days' rounding (0.1 day)
        assert abs(tls["expires_at"] - time.time() - tls["expires_in_days"] * 86400) < 0.06 * 86400
        timings = target["timings_ms"]
        assert timings["connect"] <= timings["tls_handshake"] <= timings["first_byte"] <= timings["total"]


def test_a_wrong_sni_gets_the_edges_alert_on_both_families(capsys, edge, ca_file):
    port, resolver = edge
    code, doc = probe(
        capsys, NAME, "--port", str(port), "--resolver", resolver, "--tls", "--ca", ca_file, "--sni", "other.fly.dev"
    )
    assert (code, verdicts(doc)) == (1, [("127.0.0.1", "tls-handshake-failed"), ("::1", "tls-handshake-failed")])
    assert {t["explanation"] for t in doc["targets"]} == {
        "the server ended the handshake with the alert unrecognized_name (SNI other.fly.dev)"
    }


def test_a_certificate_from_an_unknown_ca_is_untrusted(capsys, edge):
    port, resolver = edge
    code, doc = probe(capsys, NAME, "--port", str(port), "--resolver", resolver, "--tls", "-4")
    assert (code, verdicts(doc)) == (1, [("127.0.0.1", "tls-untrusted")])
    assert doc["targets"][0]["explanation"].startswith("the certificate is not trusted: unable to get local issuer")


def test_a_failed_handshake_is_recorded_whole_and_nothing_is_sent_or_read(ca_file):
    # The record behind a tls-* verdict: connected, stopped at the handshake, with its timings.
    from tcpreach.model import Ending, Family, Target
    from tcpreach.net.probe import probe as probe_once
    from tcpreach.options import CheckOptions, TlsSettings

    with TlsStandIn({NAME: server_context(trustme.CA(), NAME)}, any_name=NAME) as other_ca:
        where = Target(Family.IPV4, "127.0.0.1", other_ca.port)
        r = probe_once(where, CheckOptions(timeout=1.0, tls=TlsSettings(NAME, ca_file)))
    assert (r.target, r.connected, r.ending, r.received, r.send_errno, r.first_byte_s) == (
        where,
        True,
        Ending.STOPPED,
        b"",
        None,
        None,
    )
    assert (r.tls is not None and r.tls.failure, r.tls is not None and r.tls.server_name) == ("untrusted", NAME)
    assert r.connect_s is not None and 0 < r.connect_s < r.total_s < 1.0


def test_a_handshake_without_an_answer_is_recorded_whole(ca_file):
    from tcpreach.model import Ending, Family, Target
    from tcpreach.net.probe import probe as probe_once
    from tcpreach.options import CheckOptions, TlsSettings

    with StandIn(Behaviour.SILENT, host="127.0.0.1") as silent:
        where = Target(Family.IPV4, "127.0.0.1", silent.port)
        r = probe_once(where, CheckOptions(timeout=0.3, tls=TlsSettings(NAME, ca_file)))
    assert (r.target, r.connected, r.ending, r.received) == (where, True, Ending.DEADLINE, b"")
    assert (r.tls is not None and r.tls.detail, r.tls is not None and r.tls.failure) == (
        "no answer to the ClientHello",
        None,
    )
    assert r.connect_s is not None and 0 < r.connect_s < 0.3 <= r.total_s


def test_a_certificate_for_other_names_is_a_name_mismatch(capsys, ca, ca_file):
    with TlsStandIn({NAME: server_context(ca, NAME)}, any_name=NAME) as anything:
        code, doc = probe(capsys, f"127.0.0.1:{anything.port}", "--tls", "--ca", ca_file, "--sni", "mail.example.com")
    assert (code, verdicts(doc)) == (1, [("127.0.0.1", "tls-name-mismatch")])
    assert doc["targets"][0]["explanation"] == (
        "the certificate does not carry the name mail.example.com: Hostname mismatch, certificate is not valid for "
        "'mail.example.com'."
    )


def test_an_expired_certificate(capsys, ca, ca_file):
    expired = server_context(
        ca, NAME, not_before=datetime.datetime(2020, 1, 1), not_after=datetime.datetime(2021, 1, 1)
    )
    with TlsStandIn({NAME: expired}, any_name=NAME) as old:
        code, doc = probe(capsys, f"127.0.0.1:{old.port}", "--tls", "--ca", ca_file, "--sni", NAME)
    assert (code, verdicts(doc)) == (1, [("127.0.0.1", "tls-expired")])
    assert doc["targets"][0]["explanation"] == f"the certificate has expired: certificate has expired (SNI {NAME})"


def test_a_certificate_close_to_expiry_is_ok_with_a_warning(capsys, ca, ca_file):
    soon = server_context(ca, NAME, not_after=datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=5))
    with TlsStandIn({NAME: soon}, any_name=NAME) as expiring:
        code, doc = probe(capsys, f"127.0.0.1:{expiring.port}", "--tls", "--ca", ca_file, "--sni", NAME)
    assert (code, verdicts(doc)) == (0, [("127.0.0.1", "ok")])
    assert [(f["code"], f["severity"]) for f in doc["findings"]] == [
        ("tls-expires-soon", "warning"),
        ("all-ok", "info"),
    ]


def test_a_literal_address_without_sni_verifies_the_chain_and_says_no_sni(capsys, ca, ca_file):
    with TlsStandIn({NAME: server_context(ca, NAME)}, any_name=NAME) as anything:
        code, doc = probe(capsys, f"127.0.0.1:{anything.port}", "--tls", "--ca", ca_file)
    assert (code, verdicts(doc), [f["code"] for f in doc["findings"]]) == (
        0,
        [("127.0.0.1", "ok")],
        ["tls-no-sni", "all-ok"],
    )
    assert doc["targets"][0]["tls"]["server_name"] is None


def test_the_plain_hello_server_probed_over_tls_does_not_speak_tls(capsys, ca_file):
    with HelloServer(host="127.0.0.1", port=0) as plain:
        code, doc = probe(capsys, f"127.0.0.1:{plain.port}", "--tls", "--ca", ca_file, "--sni", NAME)
    assert (code, verdicts(doc)) == (1, [("127.0.0.1", "tls-not-spoken")])
    assert doc["targets"][0]["explanation"].startswith(
        "the server answered the ClientHello with bytes that are not TLS"
    )


def test_a_server_that_never_answers_the_client_hello_is_silent(capsys, ca_file):
    with StandIn(Behaviour.SILENT) as silent:
        code, doc = probe(
            capsys, f"127.0.0.1:{silent.port}", "--tls", "--ca", ca_file, "--sni", NAME, "--timeout", "0.3"
        )
    assert (code, verdicts(doc)) == (1, [("127.0.0.1", "silent")])
    assert doc["targets"][0]["explanation"].startswith("connected, then no answer to the TLS ClientHello within 3")
    assert doc["targets"][0]["tls"] == {
        "server_name": NAME, "version": None, "alpn": None, "subject_names": [], "issuer": None,
        "expires_in_days": None, "expires_at": None, "failure": None, "detail": "no answer to the ClientHello",
        "handshake_s": None, "verified": True,
    }  # fmt: skip


def test_a_plain_probe_of_a_tls_port_keeps_its_meaning(capsys, edge):
    port, _ = edge
    # judged as plain TCP (no TLS verdict): the edge closes it, having no ClientHello to route
    code, doc = probe(capsys, f"127.0.0.1:{port}")
    assert (code, verdicts(doc)) == (1, [("127.0.0.1", "closed-without-data")])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sni", "x.example"], "--sni and --ca go with --tls (or --starttls)"),
        (["--tls", "--ca", "/nonexistent/ca.pem"], "no CA file at '/nonexistent/ca.pem'"),
        (["--tls", "--sni", "bad_name!"], "'bad_name!' is not a host name"),
    ],
)
def test_tls_usage_errors(capsys, args, message):
    code = main(["probe", "127.0.0.1:9", *args])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert message in err


def test_the_remote_suite_over_tls(inner_pytest, edge, ca_file):
    port, resolver = edge
    suite = str(Path(__file__).resolve().parents[1] / "remote")
    result = inner_pytest(
        "-m", "remote", "--host", NAME, "--resolver", resolver, "--port", str(port), "--tls", "--ca", ca_file,
        "--retries", "0", "--probe-timeout", "1.5", suite,  # a handshake under load can pass 0.3 s
    )  # fmt: skip
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([f"*127.0.0.1: TLSv1.3, SNI {NAME}; certificate for {NAME}, issued by*"])


def codes(doc):
    return [f["code"] for f in doc["findings"]]


def test_insecure_verifies_nothing_and_says_so(capsys, ca):
    # a certificate from a CA this client does not trust, for another name
    with TlsStandIn({"other.example": server_context(ca, "other.example")}, host="127.0.0.1",
                    any_name="other.example") as server:  # fmt: skip
        target = f"127.0.0.1:{server.port}"
        strict = probe(capsys, target, "--tls", "--sni", NAME)
        loose = probe(capsys, target, "--tls", "--sni", NAME, "--insecure")
    assert (strict[0], verdicts(strict[1])) == (1, [("127.0.0.1", "tls-untrusted")])
    assert (loose[0], verdicts(loose[1]), codes(loose[1])) == (
        0, [("127.0.0.1", "ok")], ["tls-not-verified", "all-ok"])  # fmt: skip
    assert loose[1]["targets"][0]["tls"]["verified"] is False


def test_a_server_that_asks_for_a_client_certificate_gets_one_with_cert_and_key(capsys, ca, ca_file, tmp_path):
    context = server_context(ca, NAME)
    context.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(context)
    client = ca.issue_cert("client.example")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    client.cert_chain_pems[0].write_to_path(str(cert))
    client.private_key_pem.write_to_path(str(key))
    with TlsStandIn({NAME: context}, host="127.0.0.1") as server:
        args = [f"127.0.0.1:{server.port}", "--tls", "--sni", NAME, "--ca", ca_file]
        without = probe(capsys, *args, "--timeout", "2")
        with_cert = probe(capsys, *args, "--timeout", "2", f"--cert={cert}", f"--key={key}")
    # TLS 1.3: the handshake completes, then the server's alert ends the session
    assert (verdicts(without[1]), without[1]["targets"][0]["tls"]["detail"]) == (
        [("127.0.0.1", "tls-handshake-failed")],
        "the server ended the session with the alert certificate_required after the handshake")  # fmt: skip
    assert (with_cert[0], verdicts(with_cert[1])) == (0, [("127.0.0.1", "ok")])


def test_a_minimum_version_the_server_does_not_speak_fails_the_handshake(capsys, ca, ca_file):
    context = server_context(ca, NAME)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with TlsStandIn({NAME: context}, host="127.0.0.1") as server:
        args = [f"127.0.0.1:{server.port}", "--tls", "--sni", NAME, "--ca", ca_file]
        old = probe(capsys, *args)
        new = probe(capsys, *args, "--min-tls", "1.3")
    assert (old[0], old[1]["targets"][0]["tls"]["version"]) == (0, "TLSv1.2")
    assert verdicts(new[1]) == [("127.0.0.1", "tls-handshake-failed")]


@pytest.mark.parametrize(("flags", "found"), [([], []), (["--cert-warn", "60"], ["warning"]),
                                              (["--cert-crit", "60"], ["error"])])  # fmt: skip
def test_certificate_expiry_thresholds_are_the_users(capsys, ca, ca_file, flags, found):
    # a certificate that expires in 30 days: quiet by default (14), a warning or an error within 60
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)
    with TlsStandIn({NAME: server_context(ca, NAME, not_after=soon)}, host="127.0.0.1") as server:
        code, doc = probe(capsys, f"127.0.0.1:{server.port}", "--tls", "--sni", NAME, "--ca", ca_file, *flags)
    severities = [f["severity"] for f in doc["findings"] if f["code"] == "tls-expires-soon"]
    assert (severities, code) == (found, 1 if found == ["error"] else 0)


@pytest.mark.parametrize(
    ("args", "error"),
    [(["--insecure"], "--insecure goes with --tls"), (["--min-tls", "1.3", "--insecure"],
      "--insecure, --min-tls go with --tls"), (["--tls", "--key", __file__], "--key goes with --cert"),
     (["--tls", "--min-tls", "1.1"], "argument --min-tls: takes 1.2 or 1.3, got '1.1'")],
)  # fmt: skip
def test_tls_options_without_what_they_need_are_usage_errors(capsys, args, error):
    assert main(["probe", "127.0.0.1", *args]) == 2
    assert capsys.readouterr().err == f"python -m tcpreach probe: error: {error} (see --help)\n"


def test_every_kind_of_certificate_name_is_shown_in_the_order_issued(capsys, ca, ca_file):
    # DNS names, a wildcard and IP addresses of both families (trustme writes IPs as iPAddress)
    names = (NAME, "*.example.org", "127.0.0.1", "::1")
    with TlsStandIn({NAME: server_context(ca, *names)}, any_name=NAME) as server:
        code, doc = probe(capsys, f"127.0.0.1:{server.port}", "--tls", "--ca", ca_file, "--sni", NAME)
    assert (code, verdicts(doc)) == (0, [("127.0.0.1", "ok")])
    # IPv6 as people write it, not OpenSSL's long form (0:0:0:0:0:0:0:1)
    assert doc["targets"][0]["tls"]["subject_names"] == [NAME, "*.example.org", "127.0.0.1", "::1"]

"""STARTTLS against Debian's postfix (SMTP) and dovecot (IMAP, POP3) in the lab, a
certificate close to expiry against the thresholds, and ``--source`` on a client with
two addresses of each family: what a mail server's operator meets, on the real daemons."""

from __future__ import annotations

import json
import time

import pytest

from netlab.lab import DNS_V4, MAIL_NAME, MAIL_V4, MAIL_V6
from netlab.mail import MailServers, mail_problem

pytestmark = pytest.mark.edge

DAYS = 10  # the certificate's days left: within the default warning (14), outside the default error (0)
SECOND_V4, SECOND_V6 = "192.0.2.3", "2001:db8:1::3"


@pytest.fixture(scope="module")
def mail(lab, edge_unavailable):
    problem = mail_problem()
    if problem is not None:
        edge_unavailable(problem)
    with MailServers(lab, days=DAYS) as servers:
        yield servers


def probe(lab, mail, port, *args, ca=None):
    done = lab.client_cli("probe", f"{MAIL_NAME}:{port}", "--resolver", DNS_V4, "--json", "--retries", "0",
                          "--ca", ca or mail.ca_file, *args)  # fmt: skip
    assert not done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def verdicts(doc):
    return [(t["address"], t["verdict"]) for t in doc["targets"]]


@pytest.mark.parametrize(("protocol", "port", "banner"), [
    ("smtp", 25, "220 mail.fly.dev ESMTP\\r\\n"),
    ("imap", 143, "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
                  "LOGINDISABLED] Dovecot (Debian) ready.\\r\\n"),
    ("pop3", 110, "+OK Dovecot (Debian) ready.\\r\\n"),
])  # fmt: skip
def test_starttls_on_the_real_daemon_is_ok_on_every_address_with_the_tls_facts(lab, mail, protocol, port, banner):
    code, doc = probe(lab, mail, port, "--starttls", protocol)
    assert (code, verdicts(doc)) == (0, [(MAIL_V4, "ok"), (MAIL_V6, "ok")])
    for target in doc["targets"]:
        tls = target["tls"]
        assert (tls["server_name"], tls["subject_names"], tls["failure"]) == (MAIL_NAME, [MAIL_NAME], None)
        assert DAYS - 1 < tls["expires_in_days"] <= DAYS
        exchange = target["observed"]["exchange"]
        assert (exchange[0]["event"], exchange[0]["data"]) == ("received", banner)
        assert [e["event"] for e in exchange].count("tls") == 1
    # the certificate is 10 days from its end: a warning by default, not an error
    found = [(f["code"], f["severity"]) for f in doc["findings"]]
    assert found == [("tls-expires-soon", "warning"), ("all-ok", "info")]


def test_the_expiry_thresholds_turn_the_same_certificate_into_an_error(lab, mail):
    code, doc = probe(lab, mail, 25, "--starttls", "smtp", "--cert-warn", "30", "--cert-crit", "20")
    assert (code, verdicts(doc)) == (1, [(MAIL_V4, "ok"), (MAIL_V6, "ok")])
    assert [(f["code"], f["severity"]) for f in doc["findings"]] == [("tls-expires-soon", "error")]
    # and the look-alike: thresholds below its days left say nothing of it
    code, doc = probe(lab, mail, 25, "--starttls", "smtp", "--cert-warn", "5", "--cert-crit", "1")
    assert (code, [f["code"] for f in doc["findings"]]) == (0, ["all-ok"])


def test_a_ca_that_did_not_sign_the_certificate_fails_at_the_starttls_step(lab, mail, tmp_path):
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    code, doc = probe(lab, mail, 25, "--starttls", "smtp", "--family", "4", ca=str(other))
    assert (code, verdicts(doc)) == (1, [(MAIL_V4, "tls-untrusted")])
    assert doc["targets"][0]["explanation"].startswith("step 6 of 10 (starttls): the certificate is not trusted: ")
    assert doc["targets"][0]["observed"]["step"] == 6


@pytest.fixture
def two_addresses(lab):
    """The client namespace with a second address of each family on its link."""
    added = [(SECOND_V4, "24"), (SECOND_V6, "64")]
    for address, length in added:
        done = lab.exec(lab.client, ["ip", "addr", "add", f"{address}/{length}", "dev", "c0", "nodad"])
        assert done.returncode == 0, done.stderr
    yield
    for address, length in added:
        lab.exec(lab.client, ["ip", "addr", "del", f"{address}/{length}", "dev", "c0"])


@pytest.mark.parametrize("sources", [(SECOND_V4, SECOND_V6), ("192.0.2.2", "2001:db8:1::2")])
def test_source_picks_the_address_the_server_sees(lab, mail, two_addresses, sources):
    # either pair, whichever the kernel would have picked by itself
    log = mail.folder / "postfix.log"
    before = len(log.read_text())
    code, doc = probe(lab, mail, 25, "--starttls", "smtp", "--source", sources[0], "--source", sources[1])
    assert (code, verdicts(doc)) == (0, [(MAIL_V4, "ok"), (MAIL_V6, "ok")])
    assert [t["observed"]["local_address"] for t in doc["targets"]] == list(sources)
    wanted = [f"connect from unknown[{source}]" for source in sources]
    deadline = time.monotonic() + 5  # postfix's log daemon writes on its own time
    while not all(line in log.read_text()[before:] for line in wanted) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [line in log.read_text()[before:] for line in wanted] == [True, True]


def test_a_source_that_is_not_this_clients_is_no_route_from_here(lab, mail):
    code, doc = probe(lab, mail, 25, "--starttls", "smtp", "--source", "192.0.2.99", "--family", "4")
    assert (code, verdicts(doc)) == (1, [(MAIL_V4, "unreachable")])
    assert doc["targets"][0]["observed"]["no_route"] is True

"""Hosts as users type them, and what they probably meant. On plain data."""

from __future__ import annotations

import pytest

from tcpreach.errors import UsageError
from tcpreach.settings.inputs import host_note, hostname_problem, parse_host


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("::1:1848", "'::1:1848' is the IPv6 address ::1:1848; for port 1848 on ::1, write [::1]:1848"),
        ("fe80::1:80", "'fe80::1:80' is the IPv6 address fe80::1:80; for port 80 on fe80::1, write [fe80::1]:80"),
        # look-alikes that mean what they say
        ("2a09:8280:1::c5:a273:0", None),  # a last group of 0 is no port
        ("2001:db8::1", None),  # what is left is no address
        ("2001:db8::99999", None),  # not an IPv6 address at all (parse_host refuses it)
        ("[::1]:1848", None),
        ("::1", None),
        ("127.0.0.1:1848", None),
        ("hello-server.fly.dev:1848", None),
    ],
)
def test_an_ipv6_address_ending_in_a_port_gets_a_note(text, note):
    assert host_note(text) == note


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("tcp://hello-server.fly.dev:1848", "'tcp://hello-server.fly.dev:1848' has a scheme: drop 'tcp://' and give "
                                            "host[:port], e.g. hello-server.fly.dev:1848"),
        ("http://example.com/", "'http://example.com/' has a scheme: drop 'http://' and give host[:port], e.g. "
                                "example.com"),
        ("tcp://[::1]:1848", "'tcp://[::1]:1848' has a scheme: drop 'tcp://' and give host[:port], e.g. [::1]:1848"),
    ],
)  # fmt: skip
def test_a_url_is_refused_with_what_to_drop(text, error):
    with pytest.raises(UsageError) as raised:
        parse_host(text)
    assert str(raised.value) == error


@pytest.mark.parametrize(("text", "message"), [
    ("192.0.2.1:80", "takes an IP address, got '192.0.2.1:80'"),
    ("example.com", "takes an IP address, got 'example.com'"),
    ("[::1]:1848", "takes an IP address, got '[::1]:1848'"),
])  # fmt: skip
def test_a_source_address_is_an_address_alone(text, message):
    from tcpreach.settings.inputs import parse_address

    with pytest.raises(UsageError) as raised:
        parse_address(text)
    assert str(raised.value) == message
    assert parse_address("2001:db8::1") == "2001:db8::1"
    assert parse_address("2001:DB8:0::1") == "2001:db8::1"  # one spelling, as the targets


def test_tls_versions_and_pem_files_as_given(tmp_path):
    from tcpreach.settings.inputs import parse_pem_file, parse_tls_version

    assert [parse_tls_version(v) for v in ("1.2", " 1.3 ")] == ["1.2", "1.3"]
    with pytest.raises(UsageError) as raised:
        parse_pem_file(str(tmp_path / "none.pem"))
    assert str(raised.value) == f"no file at {str(tmp_path / 'none.pem')!r}: give a PEM file"


@pytest.mark.parametrize("name", ["name\n.example", "name.example\n", "na\nme.example", "name\x00.example"])
def test_a_name_with_a_newline_or_nul_anywhere_is_refused(name):
    assert hostname_problem(name) is not None


def test_the_same_name_without_it_is_a_name():  # the look-alike
    assert hostname_problem("name.example") is None

"""Parsing hosts, ports and resolvers, and turning a resolution into targets."""

from __future__ import annotations

import ipaddress

import dns.ipv6
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tcpreach.errors import UsageError
from tcpreach.judging.targets import targets_of
from tcpreach.machine.interfaces import local_addresses
from tcpreach.model import DnsAnswer, DnsStatus, Family, Resolution, Source, Target
from tcpreach.settings.inputs import (
    HostSpec,
    canonical_address,
    hostname_problem,
    ipv4_shorthand,
    is_literal,
    parse_count,
    parse_host,
    parse_port,
    parse_resolver,
    parse_seconds,
    parse_server_name,
    to_ascii,
)


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("hello-server.fly.dev", HostSpec("hello-server.fly.dev", None, literal=False)),
        ("hello-server.fly.dev:1848", HostSpec("hello-server.fly.dev", 1848, literal=False)),
        ("66.241.125.63", HostSpec("66.241.125.63", None, literal=True)),
        ("66.241.125.63:80", HostSpec("66.241.125.63", 80, literal=True)),
        ("2a09:8280:1::c5:a273:0", HostSpec("2a09:8280:1::c5:a273:0", None, literal=True)),
        ("[2a09:8280:1::c5:a273:0]", HostSpec("2a09:8280:1::c5:a273:0", None, literal=True)),
        ("[::1]:1848", HostSpec("::1", 1848, literal=True)),
        ("::ffff:127.0.0.1", HostSpec("::ffff:127.0.0.1", None, literal=True)),
        ("fe80::1%eth0", HostSpec("fe80::1%eth0", None, literal=True)),
    ],
)
def test_parse_host(text, spec):
    assert parse_host(text) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("[::1", "brackets must hold an IPv6 address"),
        ("[1.2.3.4]:80", "brackets must hold an IPv6 address"),
        ("[::1]1848", "expected [IPv6]:PORT"),
        ("host:http", "port must be an integer in 1..65535"),
        ("host:0", "port must be an integer in 1..65535"),
        ("a:b:c", "not an IPv6 address"),
        (":1848", "':1848': the host before the port is empty"),  # found by the property below
        (" :1848", "':1848': the host before the port is empty"),
    ],
)
def test_parse_host_rejects_with_a_reason(text, message):
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace(".", r"\.")):
        parse_host(text)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("hello-server.fly.dev", None),
        ("hello-server.fly.dev.", None),
        ("-bad.example", "label '-bad'"),
        ("under_score.example", "label 'under_score'"),
        ("a..b", "label ''"),
        ("x" * 64 + ".example", "is not 1-63"),
        (("a" * 60 + ".") * 5, "at most 253"),
    ],
)
def test_hostname_problem(name, problem):
    found = hostname_problem(name)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_parse_resolver():
    assert parse_resolver("127.0.0.1") == ("127.0.0.1", 53)
    assert parse_resolver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_resolver("[::1]:5353") == ("::1", 5353)
    assert parse_resolver("::1") == ("::1", 53)
    with pytest.raises(UsageError, match="takes an IP address"):
        parse_resolver("dns.google")


def test_every_address_of_every_record_is_its_own_target_and_system_extras_are_kept():
    resolution = Resolution(
        "app.fly.dev",
        dns=(
            DnsAnswer(Family.IPV4, DnsStatus.OK, ("192.0.2.1", "192.0.2.2")),
            DnsAnswer(Family.IPV6, DnsStatus.OK, ("2001:db8::1",)),
        ),
        system=("2001:db8::1", "192.0.2.1", "198.51.100.7"),
    )
    targets = targets_of(resolution, 1848, (Family.IPV4, Family.IPV6))
    assert [(t.label, t.source) for t in targets] == [
        ("ipv4-192.0.2.1", Source.DNS),
        ("ipv4-192.0.2.2", Source.DNS),
        ("ipv6-2001:db8::1", Source.DNS),
        ("ipv4-198.51.100.7", Source.GETADDRINFO),
    ]
    only_v6 = targets_of(resolution, 1848, (Family.IPV6,))
    assert [t.endpoint for t in only_v6] == ["[2001:db8::1]:1848"]


def test_a_literal_is_one_target_of_its_own_family():
    mapped = targets_of(Resolution("::ffff:127.0.0.1", literal=True), 9, (Family.IPV4, Family.IPV6))
    assert [(t.family, t.source) for t in mapped] == [(Family.IPV6, Source.LITERAL)]
    assert targets_of(Resolution("127.0.0.1", literal=True), 9, (Family.IPV6,)) == ()


@pytest.mark.parametrize(
    ("typed", "address"),
    [("2001:DB8:0:0::1", "2001:db8::1"), ("0:0:0:0:0:0:0:1", "::1"), ("::FFFF:7F00:1", "::ffff:127.0.0.1"),
     ("::0102:0304", "::102:304"), ("::1.2.3.4", "::102:304"), ("FE80::1%eth0", "fe80::1%eth0"),
     ("127.0.0.1", "127.0.0.1")],
)  # fmt: skip
def test_a_literal_target_is_its_address_in_its_one_spelling(typed, address):
    # as a DNS answer is: one address is one row however it was typed (merged vantages too)
    assert targets_of(Resolution(typed, literal=True), 9, (Family.IPV4, Family.IPV6)) == (
        Target(Family.of(address), address, 9, Source.LITERAL),
    )


def test_local_addresses_are_loopback_then_localhosts_then_interfaces_when_asked(monkeypatch):
    import socket

    from tcpreach.machine import interfaces

    asked = []

    def getaddrinfo(host, port, *, type):
        asked.append((host, port, type))
        return [(socket.AF_INET6, type, 6, "", ("::1", 0, 0, 0)), (socket.AF_INET, type, 6, "", ("127.0.1.1", 0))]

    monkeypatch.setattr(interfaces.socket, "has_ipv6", True)
    monkeypatch.setattr(interfaces.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(interfaces, "interface_addresses", lambda: ["192.0.2.5", "127.0.0.1"])
    assert local_addresses() == ("127.0.0.1", "::1", "::ffff:127.0.0.1", "127.0.1.1")
    assert local_addresses(True) == ("127.0.0.1", "::1", "::ffff:127.0.0.1", "127.0.1.1", "192.0.2.5")
    assert asked == [("localhost", None, socket.SOCK_STREAM)] * 2

    def unknown(host, port, *, type):
        raise socket.gaierror(socket.EAI_NONAME, "no localhost in this hosts file")

    monkeypatch.setattr(interfaces.socket, "getaddrinfo", unknown)
    monkeypatch.setattr(interfaces.socket, "has_ipv6", False)
    assert local_addresses() == ("127.0.0.1",)


def test_local_addresses_cover_loopback_in_every_notation():
    addresses = local_addresses(include_interfaces=False)
    assert addresses[0] == "127.0.0.1"
    assert len(addresses) == len(set(addresses))
    import socket

    if socket.has_ipv6:
        assert {"::1", "::ffff:127.0.0.1"} <= set(addresses)


@given(st.text(max_size=30))
def test_the_host_parser_gives_a_host_or_the_usage_error(text):
    try:
        spec = parse_host(text)
    except UsageError:
        return
    assert spec.host and (spec.port is None or 0 < spec.port <= 65535)


@given(st.one_of(st.text(max_size=12), st.integers().map(str)))
def test_the_port_parser_gives_a_port_or_the_usage_error(text):
    try:
        port = parse_port(text)
    except UsageError as exc:
        assert str(exc).startswith("port must be an integer in 1..65535")  # noqa: PT017 - any text: value or error
    else:
        assert 0 < port <= 65535 and text.strip().isascii()


@given(st.one_of(st.text(max_size=12), st.floats().map(str)))
def test_the_seconds_parser_gives_a_bounded_number_or_the_usage_error(text):
    try:
        value = parse_seconds(text, "the value")
    except UsageError as exc:
        assert "must be a number of seconds above 0 and at most 3600" in str(exc)  # noqa: PT017
    else:
        assert 0 < value <= 3600


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a" * 63 + ".example", None),
        ("a" * 64 + ".example", f"label {'a' * 64!r} is not 1-63 letters, digits or inner hyphens"),
        (".".join(["a" * 63] * 3 + ["a" * 61]), None),  # 253 characters
        (".".join(["a" * 63] * 3 + ["a" * 62]), "the name is 254 characters long; at most 253"),
        (".".join(["a" * 63] * 3 + ["a" * 61]) + ".", None),  # a trailing dot does not count
        ("", "the name is empty"),
        (".", "the name is empty"),
        ("-a.example", "label '-a' is not 1-63 letters, digits or inner hyphens"),
        ("a-.example", "label 'a-' is not 1-63 letters, digits or inner hyphens"),
        ("a..example", "label '' is not 1-63 letters, digits or inner hyphens"),
        ("a-b.example", None),
    ],
    ids=["label-63", "label-64", "name-253", "name-254", "trailing-dot", "empty", "dot", "leading-hyphen",
         "trailing-hyphen", "empty-label", "inner-hyphen"],
)  # fmt: skip
def test_host_name_boundaries(name, problem):
    assert hostname_problem(name) == problem


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("65535", 65535), (" 80 ", 80), ("0", None), ("65536", None), ("-1", None), ("4_2", None),
     ("\uff11", None), ("", None), (80, 80)],
)  # fmt: skip
def test_port_boundaries(text, value):
    if value is None:
        with pytest.raises(UsageError) as refused:
            parse_port(text)
        assert str(refused.value) == f"port must be an integer in 1..65535, got {text!r}"
    else:
        assert parse_port(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.001", 0.001), ("3600", 3600.0), (".5", 0.5), ("5.", 5.0), (" 2 ", 2.0), ("0", None), ("3600.5", None),
     ("-1", None), ("inf", None), ("1e3", None), ("", None)],
)  # fmt: skip
def test_seconds_boundaries(text, value):
    if value is None:
        with pytest.raises(UsageError) as refused:
            parse_seconds(text, "--timeout")
        assert str(refused.value) == f"--timeout must be a number of seconds above 0 and at most 3600, got {text!r}"
    else:
        assert parse_seconds(text, "--timeout") == value


@pytest.mark.parametrize(
    ("text", "meant"),
    [("127.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("2130706433", "127.0.0.1"), ("10.1.2", "10.1.0.2"),
     ("127.0.0.1", None), ("example", None), ("1.example", None), ("", None), ("::1", None), ("abc", None)],
)  # fmt: skip
def test_ipv4_shorthands(text, meant):
    assert ipv4_shorthand(text) == meant


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("127.1", "'127.1' is an IPv4 shorthand, not a name: write 127.0.0.1 if that is the address you mean"),
        ("127.1:80", "'127.1' is an IPv4 shorthand, not a name: write 127.0.0.1 if that is the address you mean"),
        ("127.0.0.1%lo", "'127.0.0.1%lo': a scope (%interface) belongs to IPv6 link-local addresses, not IPv4"),
        ("127.0.0.1%lo:80", "'127.0.0.1%lo:80': a scope (%interface) belongs to IPv6 link-local addresses, not IPv4"),
    ],
)
def test_addresses_that_are_refused_say_why(text, message):
    with pytest.raises(UsageError) as refused:
        parse_host(text)
    assert str(refused.value) == message


def test_a_link_local_ipv6_keeps_its_scope():
    assert parse_host("fe80::1%eth0") == HostSpec("fe80::1%eth0", None, literal=True)
    assert is_literal("fe80::1%eth0")


def test_idna():
    assert (to_ascii("bücher.example"), to_ascii("example.com")) == ("xn--bcher-kva.example", "example.com")
    with pytest.raises(UsageError):
        to_ascii("a" * 64 + "ü.example")


@pytest.mark.parametrize(
    ("call", "text", "message"),
    [
        (parse_count, "²", "takes a whole number, 0 or more, got '²'"),  # a digit, but not an ASCII one
        (parse_host, "", "the host is empty: give a name or an address"),
        (
            to_ascii,
            "ü..x",
            "'ü..x' is not a valid internationalised name: encoding with 'idna' codec failed "
            "(UnicodeError: label empty or too long)",
        ),
    ],
    ids=["count-superscript", "empty-host", "idna"],
)
def test_usage_errors_say_exactly_what_is_wrong(call, text, message):
    with pytest.raises(UsageError) as refused:
        call(text)
    assert str(refused.value) == message


def test_a_server_name_drops_its_final_dot_only():
    assert [parse_server_name(n) for n in ("x.example.", "bücher.example")] == ["x.example", "xn--bcher-kva.example"]


def test_a_fully_qualified_name_of_one_label_is_a_name():
    assert [hostname_problem(n) for n in ("a.", "ab.", "a")] == [None, None, None]


def test_addresses_only_the_system_knows_come_last_once_each_with_the_port():
    resolution = Resolution(
        "example.com",
        dns=(DnsAnswer(Family.IPV4, DnsStatus.OK, ("192.0.2.1",)),),
        system=("192.0.2.1", "198.51.100.7", "198.51.100.7", "2001:db8::7"),
    )
    assert targets_of(resolution, 1848, (Family.IPV4, Family.IPV6)) == (
        Target(Family.IPV4, "192.0.2.1", 1848, Source.DNS),
        Target(Family.IPV4, "198.51.100.7", 1848, Source.GETADDRINFO),
        Target(Family.IPV6, "2001:db8::7", 1848, Source.GETADDRINFO),
    )
    literal = Resolution("2001:db8::9", literal=True)
    assert targets_of(literal, 9, (Family.IPV6,)) == (Target(Family.IPV6, "2001:db8::9", 9, Source.LITERAL),)


@given(st.binary(min_size=16, max_size=16), st.sampled_from(["", "%eth0"]))
@example(bytes(16), "")
@example(bytes(15) + b"\x01", "")
@example(bytes(12) + b"\x00\x01\x00\x00", "")
@example(bytes(12) + b"\x01\x02\x03\x04", "")
@example(bytes(10) + b"\xff\xff" + bytes(4), "%eth0")
@example(bytes(10) + b"\xff\xff\x7f\x00\x00\x01", "")
@example(bytes(10) + b"\xff\xfe\x7f\x00\x00\x01", "")
@example(b"\x20\x01" + bytes(4) + b"\x00\x01" + bytes(4) + b"\x00\x01\x00\x01", "")  # equal runs: the first is ::
@example(b"\x20\x01" + bytes(4) + b"\x00\x01" + bytes(6) + b"\x00\x01", "")  # the longer run is ::
def test_a_literal_is_spelled_as_rfc_5952_says_and_as_an_answer_is(packed, scope):
    typed = ipaddress.IPv6Address(packed).exploded.upper()
    # dnspython dots the tail of an IPv4-compatible address (::1.2.3.4) too, RFC 5952 only a mapped one's
    compatible = packed[:12] == bytes(12) and packed[12:14] != bytes(2)
    expected = str(ipaddress.IPv6Address(packed)) if compatible else dns.ipv6.inet_ntoa(packed)
    assert canonical_address(typed + scope) == expected + scope
    assert canonical_address(dns.ipv6.inet_ntoa(packed) + scope) == expected + scope


def test_an_address_that_looks_like_host_and_port_is_one_address_in_hex():
    assert canonical_address("::1:1848") == "::1:1848"  # never ::0.1.24.72

"""Listeners read from /proc text and judged for a proxy, without a socket: the text that
each binding of tests/local/test_listeners_netns.py captured, read back whole (golden), and each
finding beside its look-alike."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from tcpreach.findings import FindingCode
from tcpreach.machine.listeners import Accepts, Listener, accepting, gather, judge_listeners, main, parse_proc

CAPTURED = Path(__file__).resolve().parent / "golden" / "proc"
GOLDEN = "listeners.json"  # in golden/, see conftest.py
CASES = sorted(path.stem for path in CAPTURED.glob("*.txt"))


def read(name: str) -> dict[str, object]:
    listeners = accepting(parse_proc((CAPTURED / f"{name}.txt").read_text()), live=False)
    findings = judge_listeners(listeners, 1848)
    return {
        "listeners": [{k: v for k, v in asdict(item).items() if k != "inode"} for item in listeners],
        "findings": [[str(f.code), str(f.severity), f.message] for f in findings],
    }


@pytest.mark.parametrize("name", CASES)
def test_each_captured_binding_reads_as_recorded(golden, name):
    golden.check(name, read(name))


def test_the_golden_file_holds_the_cases_and_nothing_else(golden):
    assert len(CASES) == 6
    golden.assert_holds(CASES)


def test_addresses_are_read_word_by_word_in_host_order():
    text = (
        "   0: 0100007F:0738 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 11 1\n"
        "   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 12 1\n"
        "   2: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 13 1\n"
        "   3: 0100007F:0738 0100007F:A000 01 00000000:00000000 00:00000000 00000000  0 0 14 1\n"
    )
    assert [(item.family, item.address, item.port, item.inode) for item in parse_proc(text)] == [
        ("ipv4", "127.0.0.1", 1848, 11), ("ipv6", "::1", 80, 12), ("ipv6", "2001:db8::1", 443, 13),
    ]  # fmt: skip


def test_a_line_that_is_not_procs_is_named():
    with pytest.raises(ValueError, match=r"^line 2 is not a line of /proc/net/tcp or tcp6: 'hello world'$"):
        parse_proc("  sl  local_address\nhello world\n")


def listening(*binds: tuple[str, str, int, str]) -> list[Listener]:
    return [Listener(family, address, port, n, accepts) for n, (family, address, port, accepts) in enumerate(binds)]


# Each finding, and beside it the binding that looks alike but is not it.
LISTENER_EVIDENCE = [
    ([("ipv4", "127.0.0.1", 1848, Accepts.LOOPBACK)], [FindingCode.LISTENER_LOOPBACK_ONLY]),
    ([("ipv4", "127.0.0.1", 1848, Accepts.LOOPBACK), ("ipv6", "::", 1848, Accepts.IPV6)],
     [FindingCode.LISTENER_IPV6_ONLY]),
    ([("ipv4", "0.0.0.0", 1848, Accepts.IPV4)], [FindingCode.LISTENER_IPV4_ONLY]),
    ([("ipv4", "0.0.0.0", 1848, Accepts.IPV4), ("ipv6", "::", 1848, Accepts.IPV6)], [FindingCode.LISTENER_OK]),
    ([("ipv6", "::", 1848, Accepts.IPV6)], [FindingCode.LISTENER_IPV6_ONLY]),
    ([("ipv6", "::", 1848, Accepts.DUAL)], [FindingCode.LISTENER_OK]),
    ([("ipv6", "::", 1848, Accepts.UNKNOWN)], [FindingCode.LISTENER_FAMILIES_UNKNOWN]),
    ([("ipv6", "::", 1848, Accepts.UNKNOWN), ("ipv4", "0.0.0.0", 1848, Accepts.IPV4)],
     [FindingCode.LISTENER_IPV4_ONLY]),
    ([("ipv6", "::", 8080, Accepts.DUAL)], [FindingCode.NO_LISTENER]),
    ([], [FindingCode.NO_LISTENER]),
]  # fmt: skip


@pytest.mark.parametrize(("binds", "codes"), LISTENER_EVIDENCE)
def test_each_finding_beside_its_look_alike(binds, codes):
    assert [f.code for f in judge_listeners(listening(*binds), 1848)] == codes


def test_nothing_on_the_port_names_what_listens_elsewhere_but_not_loopback():
    binds = listening(("ipv6", "::", 8080, Accepts.DUAL), ("ipv4", "127.0.0.1", 9000, Accepts.LOOPBACK))
    (finding,) = judge_listeners(binds, 1848, " (internal_port in fly.toml)")
    assert (
        finding.message
        == "nothing listens on port 1848: 8080 listening, the app's port is 1848 (internal_port in fly.toml)"
    )


@pytest.mark.parametrize(
    ("binds", "accepts"),
    [
        ([("ipv4", "10.0.0.1", 1848)], [Accepts.IPV4]),
        ([("ipv6", "::1", 1848)], [Accepts.LOOPBACK]),
        ([("ipv6", "fd00::1", 1848)], [Accepts.IPV6]),
        ([("ipv6", "::", 1848)], [Accepts.UNKNOWN]),
        # Beside an IPv4 listener on its port, an IPv6 wildcard can only be v6only (else EADDRINUSE).
        ([("ipv6", "::", 1848), ("ipv4", "0.0.0.0", 1848)], [Accepts.IPV6, Accepts.IPV4]),
    ],
)
def test_what_each_listener_accepts_from_text_alone(binds, accepts):
    found = [Listener(family, address, port, n) for n, (family, address, port) in enumerate(binds)]
    assert [item.accepts for item in accepting(found, live=False)] == accepts


def test_with_a_port_the_listeners_on_it_are_shown_and_every_one_when_none_is():
    line = "   {n}: 00000000:{port} 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 {n} 1\n"
    text = line.format(n=1, port="1F90") + line.format(n=2, port="0738")
    shown, findings, _ = gather(text, 1848)
    assert ([item.port for item in shown], [f.code for f in findings]) == ([1848], [FindingCode.LISTENER_IPV4_ONLY])
    shown, findings, _ = gather(text, 9000)
    assert ([item.port for item in shown], [f.code for f in findings]) == ([8080, 1848], [FindingCode.NO_LISTENER])
    shown, findings, _ = gather(text, None)
    assert ([item.port for item in shown], findings) == ([8080, 1848], [])


def test_the_images_command_ends_bad_input_in_one_line(tmp_path, capsys):
    (tmp_path / "netstat.txt").write_text("Active Internet connections\n")
    assert main(["--proc", str(tmp_path / "missing.txt")]) == 2
    assert capsys.readouterr().err == (
        f"python3 -m tcpreach.machine.listeners: error: cannot read {tmp_path / 'missing.txt'}: "
        "No such file or directory\n"
    )
    assert main(["--proc", str(tmp_path / "netstat.txt"), "--port", "1848"]) == 2
    assert capsys.readouterr().err == (
        "python3 -m tcpreach.machine.listeners: error: line 1 is not a line of /proc/net/tcp or tcp6: "
        "'Active Internet connections'\n"
    )

"""The listeners' live half in this process: this machine's /proc, the owner of each socket
found through /proc/PID/fd, the IPv6 wildcard's IPV6_V6ONLY found with a connect to
127.0.0.1, and the command's exit status, on sockets this test opens on loopback ports of
its own (the namespace tests run the same as a subprocess, where mutation testing cannot
follow). Also /proc trees made by hand for the reading rules."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tcpreach.machine.listeners import Accepts, Listener, gather, main, owners, read_proc

pytestmark = pytest.mark.local

COMM = Path("/proc/self/comm").read_text().strip()


def listening(host: str, v6only: bool | None = None) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if v6only is not None:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    sock.bind((host, 0))
    sock.listen(1)
    return sock


def own_wildcards_only(monkeypatch, *ports: int) -> None:
    """This machine's /proc as it is, but for the IPv6 wildcards of other ports than
    ``ports``: the live half connects to each wildcard it shows to learn what it accepts,
    and other tests' servers on this machine count their connections."""
    from tcpreach.machine import listeners

    real = listeners.read_proc
    wildcard = f" {'0' * 32}:"
    kept = tuple(f"{wildcard}{port:04X} " for port in ports)

    def own(proc: Path = Path("/proc")) -> str:
        lines = real(proc).splitlines(keepends=True)
        return "".join(line for line in lines if wildcard not in line or any(k in line for k in kept))

    monkeypatch.setattr(listeners, "read_proc", own)


@pytest.fixture
def bound(request, monkeypatch) -> Iterator[int]:
    """A listener of this test's own, with the machine's other IPv6 wildcards left out."""
    host, v6only = request.param
    with listening(host, v6only) as sock:
        port = sock.getsockname()[1]
        own_wildcards_only(monkeypatch, port)
        yield port


def accepted(sock: socket.socket) -> int:
    """How many connections wait in a listener's queue (taken and closed)."""
    sock.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_only_the_wildcards_shown_are_connected_to(monkeypatch):
    with listening("::", False) as app, listening("::", False) as other, socket.socket(socket.AF_INET6) as unused:
        unused.bind(("::", 0))  # a port of ours with nothing listening on it
        app_port, other_port, no_port = (s.getsockname()[1] for s in (app, other, unused))
        own_wildcards_only(monkeypatch, app_port, other_port)
        found, _, _ = gather(None, app_port)
        assert [(item.port, item.accepts) for item in found] == [(app_port, Accepts.DUAL)]
        assert (accepted(app), accepted(other)) == (1, 0)  # the other port is neither shown nor touched
        found, findings, _ = gather(None, no_port)  # nothing there: every listener is shown, and tested
        ours = [(item.port, item.accepts) for item in found if item.port in (app_port, other_port)]
        assert sorted(ours) == sorted([(app_port, Accepts.DUAL), (other_port, Accepts.DUAL)])
        assert (accepted(app), accepted(other)) == (1, 1)
        assert [str(f.code) for f in findings] == ["no-listener"]


@pytest.mark.parametrize(("bound", "family", "address", "accepts", "finding"), [
    (("::", False), "ipv6", "::", Accepts.DUAL, ("listener-ok", "info", "port {p} accepts IPv4 and IPv6 ([::]:{p})")),
    (("::", True), "ipv6", "::", Accepts.IPV6,
     ("listener-ipv6-only", "error", "port {p} listens on IPv6 only ([::]:{p}, IPV6_V6ONLY on): the proxy's IPv4 "
                                     "path is refused")),
    (("127.0.0.1", None), "ipv4", "127.0.0.1", Accepts.LOOPBACK,
     ("listener-loopback-only", "error", "port {p} listens on loopback only (127.0.0.1:{p}): no proxy or other "
                                         "machine can reach it")),
], indirect=["bound"])  # fmt: skip
def test_this_machines_listener_with_its_owner_and_what_it_accepts(bound, family, address, accepts, finding):
    found, findings, source = gather(None, bound)
    assert [(item.family, item.address, item.port, item.accepts, item.pid, item.process) for item in found] == [
        (family, address, bound, accepts, os.getpid(), COMM)
    ]
    code, severity, message = finding
    assert [(str(f.code), str(f.severity), f.message) for f in findings] == [(code, severity, message.format(p=bound))]
    assert source == "/proc/net/tcp and tcp6 of this machine"


@pytest.mark.parametrize("bound", [("::", False)], indirect=True)
def test_the_command_on_this_machine(bound, capsys):
    assert main(["--port", str(bound), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["source"], [(item["accepts"], item["pid"]) for item in doc["listeners"]]) == (
        "/proc/net/tcp and tcp6 of this machine",
        [(Accepts.DUAL, os.getpid())],
    )
    with listening("127.0.0.1") as other:
        port = other.getsockname()[1]
        assert main(["--port", str(port)]) == 1  # an error finding
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "TCP listeners (/proc/net/tcp and tcp6 of this machine)"
    assert out[2].split() == ["ipv4", "127.0.0.1", str(port), "loopback-only", f"{COMM}", f"({os.getpid()})"]
    assert out[3].startswith("ERROR    listener-loopback-only: ")


def test_the_command_ends_unreadable_or_wrong_input_in_one_line(tmp_path, capsys):
    assert main(["--proc", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err == (
        f"python3 -m tcpreach.machine.listeners: error: cannot read {tmp_path / 'missing'}: No such file or directory\n"
    )
    (tmp_path / "bad").write_text("not proc\n")
    assert main(["--proc", str(tmp_path / "bad")]) == 2
    assert capsys.readouterr().err.startswith("python3 -m tcpreach.machine.listeners: error: line 1 is not a line of ")


def fake_proc(root: Path, tcp: str, tcp6: str, thread_self: bool) -> Path:
    where = root / "thread-self" / "net" if thread_self else root / "net"
    where.mkdir(parents=True)
    (where / "tcp").write_text(tcp)
    (where / "tcp6").write_text(tcp6)
    return root


def test_proc_is_read_tcp_then_tcp6_from_the_threads_view_first(tmp_path):
    assert read_proc(fake_proc(tmp_path / "a", "four\n", "six\n", thread_self=False)) == "four\nsix\n"
    threaded = fake_proc(tmp_path / "b", "t4\n", "t6\n", thread_self=True)
    (threaded / "net").mkdir()
    (threaded / "net" / "tcp").write_text("process4\n")
    (threaded / "net" / "tcp6").write_text("process6\n")
    assert read_proc(threaded) == "t4\nt6\n"  # the calling thread's namespace, not the process's
    assert read_proc(tmp_path / "none") == ""


def test_owners_are_found_through_each_process_fds(tmp_path):
    for pid, comm, links in (("42", "hello\n", {"3": "socket:[1001]", "4": "/dev/null"}),
                             ("7", "other\n", {"5": "socket:[1002]"}),
                             ("self", "x\n", {"6": "socket:[1003]"})):  # fmt: skip
        (tmp_path / pid / "fd").mkdir(parents=True)
        (tmp_path / pid / "comm").write_text(comm)
        for fd, target in links.items():
            os.symlink(target, tmp_path / pid / "fd" / fd)
    (tmp_path / "99").mkdir()  # a process that ended while the listing was read: no fd, no comm
    assert owners([1001, 1002, 1003, 1004], tmp_path) == {1001: (42, "hello"), 1002: (7, "other")}
    assert owners([], tmp_path / "not-even-there") == {}


def test_a_listener_is_named_by_its_endpoint():
    assert [Listener("ipv6", "::", 1848, 1).endpoint, Listener("ipv4", "0.0.0.0", 1848, 1).endpoint] == [
        "[::]:1848", "0.0.0.0:1848"]  # fmt: skip

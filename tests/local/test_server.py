"""The hello server itself: greeting, dual-stack socket, load, misbehaving clients,
descriptor exhaustion, signals and bad input."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import random
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from server import HelloServer
from server.cli import explain_bind_error, signal_handler
from server.cli import main as server_main
from tcpreach.expectation import Expectation
from tcpreach.judging.verdict import judge
from tcpreach.model import Ending, Family, Target, Verdict
from tcpreach.net.probe import probe
from tcpreach.options import CheckOptions

pytestmark = pytest.mark.local

ROOT = Path(__file__).resolve().parents[2]
LOOPBACKS = ["127.0.0.1", "::1", "::ffff:127.0.0.1"]


def greet(address: str, port: int, timeout: float = 3.0):
    return judge(probe(Target(Family.of(address), address, port), CheckOptions(timeout=timeout)), b"hello\n")


@pytest.mark.parametrize("address", LOOPBACKS)
def test_each_connection_gets_exactly_hello_then_end_of_stream(hello_server, address):
    outcome = greet(address, hello_server.port)
    assert outcome.verdict is Verdict.OK, outcome.explanation
    assert outcome.result.received == b"hello\n"
    assert outcome.result.ending is Ending.EOF


def test_listener_is_dual_stack_like_netstat_shows_it(hello_server):
    address = hello_server.address
    assert address.family == socket.AF_INET6
    assert address.dualstack
    assert str(address) == f"[::]:{address.port} (dual-stack)"
    listener = hello_server._listener
    assert listener.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0
    # netstat's ":::1848" line: the wildcard IPv6 address in LISTEN state (0A).
    tcp6 = Path("/proc/net/tcp6")
    if tcp6.exists():
        local = f"{'0' * 32}:{address.port:04X}"
        assert any(f" {local} " in line and line.split()[3] == "0A" for line in tcp6.read_text().splitlines())


def test_listen_gets_the_system_maximum_backlog_not_three(monkeypatch):
    asked: list[int] = []
    real_listen = socket.socket.listen

    def spy(sock: socket.socket, backlog: int = socket.SOMAXCONN) -> None:
        asked.append(backlog)
        real_listen(sock, backlog)

    monkeypatch.setattr(socket.socket, "listen", spy)
    with HelloServer(host="127.0.0.1", port=0) as srv:
        queue = subprocess.run(["ss", "-Hltn", f"sport = :{srv.port}"], capture_output=True, text=True, check=False)
    somaxconn = Path("/proc/sys/net/core/somaxconn")
    ceiling = int(somaxconn.read_text()) if somaxconn.exists() else socket.SOMAXCONN
    assert len(asked) == 1 and asked[0] >= ceiling, (asked, ceiling)
    if queue.returncode == 0 and queue.stdout.strip():  # ss shows a listener's queue limit as Send-Q
        assert int(queue.stdout.split()[2]) == ceiling, queue.stdout


def test_500_connections_from_64_concurrent_clients_all_get_hello():
    targets = [LOOPBACKS[i % 2] for i in range(500)]
    with HelloServer(host="::", port=0) as srv, ThreadPoolExecutor(max_workers=64) as pool:
        outcomes = list(pool.map(lambda a: greet(a, srv.port, timeout=10), targets))
    failures = [o.explanation for o in outcomes if o.verdict is not Verdict.OK]
    # Counted once the server has stopped: it counts a connection after closing it.
    assert (failures, srv.connections) == ([], 500)


def test_keeps_serving_after_clients_that_reset_or_never_read():
    with HelloServer(host="::", port=0) as srv:
        idle = []
        for _ in range(20):
            rude = socket.create_connection(("127.0.0.1", srv.port))
            rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            rude.close()  # RST, possibly before the server's write
            idle.append(socket.create_connection(("::1", srv.port)))  # never reads
        try:
            assert greet("127.0.0.1", srv.port).verdict is Verdict.OK
            assert greet("::1", srv.port).verdict is Verdict.OK
        finally:
            for sock in idle:
                sock.close()


def test_stop_closes_the_listener_promptly_under_load():
    srv = HelloServer(host="::", port=0).start()
    port = srv.port
    halt = threading.Event()

    def hammer() -> None:
        while not halt.is_set():
            greet("127.0.0.1", port, timeout=1)

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(0.2)
    asked = time.monotonic()
    srv.stop(timeout=5)
    took = time.monotonic() - asked
    halt.set()
    for worker in workers:
        worker.join()
    assert srv._thread is not None and not srv._thread.is_alive()
    assert took < 1.0, f"stop() took {took:.2f} s under load"  # the accept loop wakes at once, no polling
    # Nothing listens any more (gVisor sometimes drops the SYN instead of refusing it).
    assert greet("127.0.0.1", port, timeout=1).verdict in {Verdict.REFUSED, Verdict.TIMEOUT}


def _lowest_free_fd(pid: int) -> int:
    """The descriptor number the process's next accept() would get."""
    used = {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")}
    return next(n for n in range(len(used) + 1) if n not in used)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(
    not hasattr(resource, "prlimit") or not Path("/proc/self/fd").exists(),
    reason="needs Linux prlimit and /proc to lower a subprocess's RLIMIT_NOFILE",
)
def test_descriptor_exhaustion_pauses_accepts_and_recovers(spawn_server):
    server = spawn_server("--host", "127.0.0.1")
    pid = server.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (_lowest_free_fd(pid), hard))
    # An accept() already blocked holds the descriptor it reserved: it may serve one more.
    greet("127.0.0.1", server.port, timeout=0.3)
    # Then the kernel completes the handshake and accept() fails with EMFILE. Linux leaves
    # the connection queued (silent); some kernels (gVisor) drop it with an RST.
    starved = greet("127.0.0.1", server.port, timeout=0.3)
    assert starved.verdict in {Verdict.SILENT, Verdict.CLOSED_WITHOUT_DATA}, starved.explanation
    cpu_before = _cpu_seconds(pid)
    time.sleep(0.3)  # a server retrying accept() in a loop would burn most of it
    assert _cpu_seconds(pid) - cpu_before < 0.15, "the server spins while out of descriptors"
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    recovered = greet("127.0.0.1", server.port, timeout=5)
    assert recovered.verdict is Verdict.OK, (recovered.explanation, server.stop())
    code, _, err = server.stop()
    assert code == 0
    assert err.count("pausing accepts") == 1, err
    assert "accepting again" in err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_the_server_with_status_0_within_a_second_under_load(spawn_server, signum):
    server = spawn_server()
    assert server.banner.startswith("listening on [::]:")
    halt = threading.Event()

    def hammer() -> None:
        while not halt.is_set():
            greet("127.0.0.1", server.port, timeout=1)

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.3)
        sent = time.monotonic()
        server.proc.send_signal(signum)
        code = server.proc.wait(timeout=5)
        elapsed = time.monotonic() - sent
    finally:
        halt.set()
        for worker in workers:
            worker.join()
    assert code == 0
    assert elapsed < 1.0, f"took {elapsed:.2f} s to stop"
    out, _ = server.proc.communicate()
    assert "stopped after" in out


def run_cli(*args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()):
    full_env = {k: v for k, v in os.environ.items() if k != "PORT"}
    full_env.update(env or {})
    return subprocess.run(
        [*prefix, sys.executable, "-m", "server", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--port", "abc"], {}, "port must be an integer in 0..65535"),
        (["--port", "70000"], {}, "port must be an integer in 0..65535"),
        (["--port", "-1"], {}, "port must be an integer in 0..65535"),
        ([], {"PORT": "http"}, "environment variable PORT: port must be an integer"),
        (["--host", "not-an-address"], {}, "--host takes a literal address"),
        (["--greeting", "bad\\"], {}, "bad escape in greeting"),
        (["--greeting", "\\q"], {}, "unknown escape '\\q' at position 0"),
        (["--greeting", ""], {}, "the greeting is empty"),
        (["--greeting", "x" * 4097], {}, "greeting is 4097 bytes; at most 4096"),
        (["--port", "4_2"], {}, "port must be an integer in 0..65535"),
        (["--port", "\uff11\uff12"], {}, "port must be an integer in 0..65535"),
        (["--log-level", "loud"], {}, "invalid choice"),
    ],
    ids=[
        "port-not-int",
        "port-too-big",
        "port-negative",
        "env-port",
        "host-name",
        "greeting-escape",
        "greeting-unknown-escape",
        "greeting-empty",
        "greeting-too-long",
        "port-underscore",
        "port-full-width",
        "log-level",
    ],
)
def test_bad_usage_is_one_line_and_status_2(args, env, message, monkeypatch):
    # In this process: each case ends before the server binds (the real command runs as a
    # subprocess in the tests below).
    monkeypatch.delenv("PORT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            code = server_main(list(args))
        except SystemExit as exited:
            code = exited.code
    done = subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
    assert (done.returncode, done.stdout) == (2, "")
    assert message in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_address_in_use_is_one_line_and_status_1(hello_server):
    done = run_cli("--port", str(hello_server.port))
    assert done.returncode == 1
    assert f"[::]:{hello_server.port} is already in use" in done.stderr
    assert done.stderr.count("\n") == 1


def test_address_not_on_this_machine_is_status_1():
    done = run_cli("--host", "192.0.2.123", "--port", "0")  # binding sends nothing
    assert done.returncode == 1
    assert "is not an address of this machine" in done.stderr


def test_privileged_port_is_one_line_and_status_1():
    if int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text()) <= 80:
        pytest.skip("this kernel lets anyone bind port 80 (ip_unprivileged_port_start <= 80)")
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        if not Path("/usr/bin/setpriv").exists():
            pytest.skip("running as root and setpriv (util-linux) is missing to drop CAP_NET_BIND_SERVICE")
        prefix = ("setpriv", "--bounding-set", "-net_bind_service")
    done = run_cli("--port", "80", prefix=prefix)
    assert done.returncode == 1
    assert "not allowed to bind [::]:80" in done.stderr
    assert "CAP_NET_BIND_SERVICE" in done.stderr


def _port_outside_the_ephemeral_range() -> int:
    """A port free on [::] now and below the kernel's ephemeral range: a port it handed out
    (port 0, or a client's source port, as every other test here uses) could be taken again
    between this check and the server's bind; one below the range is never handed out."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(max(1024, low - 8000), low), 50):
        with socket.socket(socket.AF_INET6) as sock:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            try:
                sock.bind(("::", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below the ephemeral range")


def test_port_environment_variable_is_honoured_and_flag_wins(spawn_server):
    # (a flake under load, 1 of 20 runs: a port from port 0, freed, was taken again before
    # the server's bind; one outside the ephemeral range is not)
    free = _port_outside_the_ephemeral_range()
    from_env = spawn_server(env={"PORT": str(free)})  # --port 0 and $PORT ...
    assert from_env.port != free  # ... the flag wins
    code, _, err = from_env.stop()
    assert code == 0, err
    # Started by the same helper (unbuffered, its stderr in the error if it does not start)
    only_env = spawn_server(env={"PORT": str(free)}, port=None)
    assert only_env.banner == f"listening on [::]:{free} (dual-stack)\n"
    code, _, err = only_env.stop(timeout=30)
    assert code == 0, err


def test_custom_greeting_with_escapes(spawn_server):
    server = spawn_server("--greeting", "hi there\\r\\n", "--host", "::1")
    assert server.banner == f"listening on [::1]:{server.port} (IPv6 only)\n"
    outcome = judge(probe(Target(Family.IPV6, "::1", server.port)), b"hi there\r\n")
    assert outcome.verdict is Verdict.OK, outcome.explanation


def test_ipv4_only_host_is_named_so(spawn_server):
    server = spawn_server("--host", "0.0.0.0")
    assert server.banner == f"listening on 0.0.0.0:{server.port} (IPv4 only)\n"
    assert greet("::1", server.port).verdict is Verdict.REFUSED


def test_falls_back_to_ipv4_without_ipv6(monkeypatch):
    monkeypatch.setattr(socket, "has_ipv6", False)
    with HelloServer(port=0) as srv:
        assert srv.address.family == socket.AF_INET
        assert str(srv.address).startswith("0.0.0.0:")
        assert "IPv4 only; this Python has no IPv6 support" in str(srv.address)
        assert greet("127.0.0.1", srv.port).verdict is Verdict.OK


def test_falls_back_to_ipv4_when_ipv6_cannot_be_bound(monkeypatch):
    real = socket.create_server

    def no_ipv6(address, *, family=socket.AF_INET, **kwargs):
        if family == socket.AF_INET6:
            raise OSError(errno.EAFNOSUPPORT, os.strerror(errno.EAFNOSUPPORT))
        return real(address, family=family, **kwargs)

    monkeypatch.setattr(socket, "create_server", no_ipv6)
    with HelloServer(port=0) as srv:
        assert "IPv4 only; IPv6 unavailable on this host" in str(srv.address)


def test_bind_error_messages_say_what_to_do():
    in_use = explain_bind_error(OSError(errno.EADDRINUSE, "in use"), "::", 1848)
    assert "[::]:1848 is already in use" in in_use and "--port" in in_use
    denied = explain_bind_error(OSError(errno.EACCES, "denied"), "0.0.0.0", 80)
    assert "0.0.0.0:80" in denied and "CAP_NET_BIND_SERVICE" in denied


def test_constructor_rejects_what_cannot_work():
    with pytest.raises(ValueError, match=r"port must be in 0\.\.65535"):
        HelloServer(port=70000)
    with pytest.raises(ValueError, match=r"^greeting must be at most 4096 bytes, got 4097$"):
        HelloServer(greeting=b"x" * 4097)


def test_the_largest_greeting_is_written_whole(spawn_server):
    server = spawn_server("--greeting", "x" * 4096, "--host", "127.0.0.1")
    greeting = Expectation(b"x" * 4096)  # its read cap leaves room to see a close after the greeting
    outcome = judge(probe(Target(Family.IPV4, "127.0.0.1", server.port), CheckOptions(expectation=greeting)), greeting)
    assert (outcome.verdict, len(outcome.result.received)) == (Verdict.OK, 4096)


def test_the_portable_selector_loop_serves_and_stops_too(monkeypatch):
    monkeypatch.setattr("server.hello_server.BLOCKING_ACCEPT", False)
    srv = HelloServer(host="::", port=0).start()
    assert srv._selector is not None  # the portable path, not the Linux blocking accept
    for address in LOOPBACKS:
        assert greet(address, srv.port).verdict is Verdict.OK
    srv.stop()
    assert srv._thread is not None and not srv._thread.is_alive()


def test_a_second_signal_exits_at_once(monkeypatch):
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)
    srv = HelloServer(host="127.0.0.1", port=0).start()
    handler = signal_handler(srv)
    handler(signal.SIGTERM, None)
    assert srv.stopping
    assert exits == []
    handler(signal.SIGINT, None)
    assert exits == [128 + signal.SIGINT]
    srv.stop()


@pytest.mark.parametrize("code", [errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EINTR], ids=errno.errorcode.get)
def test_a_transient_accept_error_skips_one_connection_silently_and_the_loop_goes_on(monkeypatch, caplog, code):
    # A client that reset before accept() (ECONNABORTED), a protocol error, a firewall's
    # EPERM, a signal: each concerns one connection, never the listener.
    failures = [OSError(code, os.strerror(code))]
    real_accept = socket.socket._accept  # type: ignore[attr-defined]
    srv = HelloServer(host="127.0.0.1", port=0)
    srv.bind()

    def flaky_accept(sock: socket.socket) -> tuple[int, object]:
        if sock is srv._listener and failures:  # this server's listener only, not other tests' servers
            raise failures.pop()
        return real_accept(sock)

    monkeypatch.setattr(socket.socket, "_accept", flaky_accept)
    with caplog.at_level("DEBUG", logger="server"), srv:
        loop = srv._thread
        outcome = greet("127.0.0.1", srv.port, timeout=5)
    assert (outcome.verdict, failures, srv.connections) == (Verdict.OK, [], 1), outcome.explanation
    # This server's records alone: another server of this worker may log from its own thread.
    assert loop is not None
    assert [r.getMessage() for r in caplog.records if r.thread == loop.ident] == []


def test_starting_a_started_server_keeps_its_one_loop():
    # `with srv.start():` once ran two loops on one listener; the count then depended on
    # which of them served, and stop() waited for the second only.
    with HelloServer(host="127.0.0.1", port=0) as srv:
        first = srv._thread
        assert srv.start() is srv
        assert srv._thread is first
        assert greet("127.0.0.1", srv.port, timeout=5).verdict is Verdict.OK
    assert srv.connections == 1


def test_an_accept_error_that_is_neither_transient_nor_a_shortage_ends_the_loop(monkeypatch):
    # The look-alike: EBADF means the listener itself is broken. Skipping it would spin.
    srv = HelloServer(host="127.0.0.1", port=0)
    srv.bind()
    real_accept = socket.socket._accept  # type: ignore[attr-defined]

    def broken_accept(sock: socket.socket) -> tuple[int, object]:
        if sock is srv._listener:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        return real_accept(sock)

    monkeypatch.setattr(socket.socket, "_accept", broken_accept)
    with pytest.raises(OSError, match="Bad file descriptor"):
        srv.serve_forever()
    assert srv.connections == 0

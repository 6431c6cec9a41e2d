"""Command line of the hello server: ``python -m server [--host] [--port] [--greeting]``.

Every mistake a user can make ends in one line on stderr and a non-zero status:
2 for bad usage, 1 for a runtime failure (address in use, permission denied).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import NoReturn

from server.hello_server import DEFAULT_GREETING, DEFAULT_PORT, MAX_GREETING, HelloServer
from tcpreach.settings.escapes import parse_escapes  # the one escape parser; the image carries this module
from tcpreach.settings.ports import port_number  # the one port parser, in the image too

EXIT_RUNTIME = 1
EXIT_USAGE = 2
PROG = "python -m server"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def parse_port(text: str) -> int:
    port = port_number(text, allow_zero=True)
    if port is None:
        raise argparse.ArgumentTypeError(
            f"port must be an integer in 0..65535 (0 lets the kernel choose), got {text!r}"
        )
    return port


def parse_greeting(text: str) -> bytes:
    """``hello\\n`` as typed on a shell line becomes the 6 bytes ``b'hello\\n'``: the same
    escapes as the probe's ``--expect`` (one parser), and never empty, since a probe cannot
    expect nothing."""
    try:
        greeting = parse_escapes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad escape in greeting {text!r}: {exc}") from None
    if not greeting:
        raise argparse.ArgumentTypeError("the greeting is empty: a client could not tell it from a closed connection")
    if len(greeting) > MAX_GREETING:
        raise argparse.ArgumentTypeError(f"greeting is {len(greeting)} bytes; at most {MAX_GREETING}")
    return greeting


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Listen on every address, write a greeting to each connection, close it.",
    )
    parser.add_argument(
        "--host",
        default="::",
        help="address to bind: '::' (default) is dual-stack IPv6+IPv4, '0.0.0.0' IPv4 only, "
        "'::1' or '127.0.0.1' that address only",
    )
    parser.add_argument(
        "--port",
        type=parse_port,
        default=None,
        help=f"TCP port (default: $PORT if set, else {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--greeting",
        type=parse_greeting,
        default=DEFAULT_GREETING,
        help=r"bytes written to each client, with \n-style escapes (default: 'hello\n')",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level on stderr (default: INFO)",
    )
    return parser


def _port_from_environment(parser: argparse.ArgumentParser) -> int:
    value = os.environ.get("PORT")
    if value is None or value == "":
        return DEFAULT_PORT
    try:
        return parse_port(value)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"environment variable PORT: {exc}")


def explain_bind_error(exc: OSError, host: str, port: int) -> str:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where} is already in use: stop the process holding it "
            f"(ss -ltnp 'sport = :{port}') or choose another --port"
        )
    if exc.errno == errno.EACCES:
        return (
            f"not allowed to bind {where}: ports below 1024 need root or CAP_NET_BIND_SERVICE; "
            "choose --port 1024 or above"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot bind {where}: {host} is not an address of this machine; use --host :: for every address"
    return f"cannot bind {where}: {exc.strerror or exc}"


def signal_handler(server: HelloServer) -> Callable[[int, FrameType | None], None]:
    """SIGINT (Fly's kill_signal) or SIGTERM (docker stop): stop accepting and exit 0; a
    second signal while stopping exits at once with 128 + the signal number."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if server.stopping:
            os._exit(128 + signum)
        server.shutdown()

    return on_signal


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    port: int = args.port if args.port is not None else _port_from_environment(parser)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    server = HelloServer(host=args.host, port=port, greeting=args.greeting)
    try:
        address = server.bind()
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"{PROG}: error: {explain_bind_error(exc, args.host, port)}", file=sys.stderr)
        return EXIT_RUNTIME

    on_signal = signal_handler(server)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f"listening on {address}", flush=True)
    server.serve_forever()
    print(f"stopped after {server.connections} connections", flush=True)
    return 0

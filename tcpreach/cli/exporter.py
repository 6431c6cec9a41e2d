"""``python -m tcpreach exporter``: the Prometheus exporter (needs the ``exporter`` extra)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import IO, Any

from tcpreach.cli.args import EXIT_OK, typed
from tcpreach.errors import UsageError
from tcpreach.net.loop import run_until_signalled

__all__ = ["add_parser", "run_exporter"]

_EPILOG = """\
Prometheus scrapes /probe?target=HOST[:PORT]&module=NAME (see examples/prometheus.yml);
/metrics has the exporter's own series, / its modules and last probes.
Only what the configuration allows is probed. SIGTERM or SIGINT end it.
"""


def _listen(text: str) -> tuple[str, int]:
    from tcpreach.exporter.listen import parse_listen  # the server (aiohttp) is loaded only to serve

    return parse_listen(text)


def add_parser(commands: Any, name: str, help_text: str) -> None:
    exporter = commands.add_parser(
        name, help=help_text, epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    exporter.add_argument(
        "--config", type=Path, required=True, help="the exporter's TOML configuration: modules, allow"
    )
    exporter.add_argument(
        "--listen",
        type=typed(_listen),
        default=None,
        metavar="ADDR:PORT",
        help="where to serve (default 127.0.0.1:9848, loopback; 0.0.0.0:9848 or [::]:9848 for every address)",
    )
    exporter.set_defaults(func=run_exporter)


def run_exporter(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    try:
        from tcpreach.exporter.config import load_exporter_config
        from tcpreach.exporter.listen import DEFAULT_LISTEN, parse_listen
        from tcpreach.exporter.server import ExporterServer
        from tcpreach.exporter.service import ExporterService
    except ModuleNotFoundError as exc:
        raise UsageError(f"the exporter needs {exc.name}: pip install 'pytest-tcpreach[exporter]'") from None
    config = load_exporter_config(args.config)
    host, port = args.listen or parse_listen(DEFAULT_LISTEN)
    try:
        server = ExporterServer(ExporterService(config), host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    logging.basicConfig(stream=err, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    modules = ", ".join(config.modules)

    def ready() -> None:
        out.write(f"tcpreach exporter on {server.url} (config {config.source}; modules {modules})\n")
        out.flush()

    run_until_signalled(server.serve(ready))  # SIGTERM and SIGINT end it; nothing else does
    out.write("tcpreach exporter stopped\n")
    return EXIT_OK

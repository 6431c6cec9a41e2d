"""``python -m tcpreach listeners``: on the machine where the app runs, what listens, on
which addresses, what that means for the proxy, and a probe of the app's port on every
address of the machine with the same verdicts as ``probe``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any

from tcpreach.check import check_targets
from tcpreach.cli.args import EXIT_FAILED, EXIT_OK, terminal_width, typed
from tcpreach.errors import UsageError
from tcpreach.findings import Severity
from tcpreach.fly.files import internal_port_of
from tcpreach.machine import listeners
from tcpreach.machine.interfaces import interface_addresses
from tcpreach.model import Family, HostReport, Target, Verdict
from tcpreach.options import CheckOptions
from tcpreach.report.document import dump_report
from tcpreach.report.text import format_report
from tcpreach.settings.config import read_toml
from tcpreach.settings.inputs import parse_port, read_small_file

__all__ = ["add_parser", "run_listeners", "self_probe"]


def add_parser(commands: Any, name: str, help_text: str) -> None:
    parser = commands.add_parser(name, help=help_text)
    parser.add_argument("--port", type=typed(parse_port), default=None, help="the app's port (default: fly.toml's "
                        "internal_port)")  # fmt: skip
    parser.add_argument("--fly-toml", type=Path, default=None, metavar="PATH",
                        help="where internal_port is read when --port is not given (default ./fly.toml)")  # fmt: skip
    parser.add_argument("--proc", default=None, metavar="FILE|-", help="the text of /proc/net/tcp and /proc/net/tcp6 "
                        "(- for standard input) instead of this machine's: for an image without Python")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(func=run_listeners)


def _port(args: argparse.Namespace) -> tuple[int | None, str]:
    """``--port``, else the fly.toml's ``internal_port``: a file given with ``--fly-toml`` is
    read or refused in one line (missing, a folder, not TOML, no port there); ./fly.toml is
    read when it is there."""
    if args.port is not None:
        return args.port, ""
    path = args.fly_toml or Path("fly.toml")
    if args.fly_toml is None and not path.is_file():
        return None, ""
    table, _ = read_toml(path, "a fly.toml")
    port = internal_port_of(table)
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
        raise UsageError(f"{path}: internal_port = {port!r} is no port: give one of 1..65535, or --port")
    return port, f" (internal_port in {path})" if port is not None else ""


def self_probe(port: int) -> HostReport:
    """The port on loopback and every interface address of this machine, probed and judged
    as ``probe`` does: whether the proxy's path (the private addresses) is refused is seen."""
    addresses = ["127.0.0.1", "::1", *interface_addresses()]
    targets = [Target(Family.of(a), a, port) for a in addresses]
    return check_targets("this machine's addresses", targets, CheckOptions(retries=0, timeout=2))


def run_listeners(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    text = None
    if args.proc == "-":
        text = sys.stdin.read()
    elif args.proc is not None:
        text = read_small_file(Path(args.proc), "the text of /proc/net/tcp").decode("ascii", "replace")
    port, said_by = _port(args)
    try:
        found, findings, source = listeners.gather(text, port, said_by)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    report = self_probe(port) if text is None and port is not None else None
    if args.json:
        doc = listeners.listeners_json(found, findings, source)
        doc["self_probe"] = None if report is None else dump_report(report)
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        out.write(listeners.render(found, findings, source) + "\n")
        if report is not None:
            out.write("\n" + format_report(report, terminal_width(out)) + "\n")
    failing = report is not None and any(o.verdict is not Verdict.OK for o in report.outcomes)
    errors = any(f.severity is Severity.ERROR for f in findings)
    return EXIT_FAILED if failing or errors else EXIT_OK

"""``python -m tcpreach``: probe a host's every address, or lint a fly.toml.

    python -m tcpreach probe hello-server.fly.dev
    python -m tcpreach probe [::1]:1848 --json
    python -m tcpreach probe hello-server.fly.dev --resolver 127.0.0.1:5353
    python -m tcpreach probe mail.example:110 --expect-prefix '+OK' --keep-open
    python -m tcpreach probe cache.example:6379 --send 'PING\r\n' --expect '+PONG\r\n' --keep-open
    python -m tcpreach probe hello-server.fly.dev --config tcpreach.toml
    python -m tcpreach lint fly.toml

Exit status: probe, 0 when every probed target is ``ok``, 1 otherwise; lint, 1 on any
error finding; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from typing import IO

from tcpreach import __version__
from tcpreach.cli import lint, probe
from tcpreach.cli.args import EXIT_USAGE, Parser, bind_streams
from tcpreach.errors import UsageError

__all__ = ["build_parser", "main", "run_captured"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m tcpreach", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    probe.add_parser(commands)
    lint.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """Run one subcommand; its output goes to ``stdout``, usage errors to ``stderr`` (the
    process's own streams by default). Returns the exit status; raises nothing a user
    can cause."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    bind_streams(parser, out, err)
    try:
        args = parser.parse_args(argv)
        code: int = args.func(args, out, err)
    except SystemExit as exited:  # argparse's usage errors, --help and --version
        return exited.code if isinstance(exited.code, int) else 1 if exited.code else 0
    except UsageError as exc:
        err.write(f"{parser.prog} {args.command}: error: {exc} (see --help)\n")
        return EXIT_USAGE
    return code


def run_captured(argv: Sequence[str]) -> tuple[int, str, str]:
    """``main(argv)`` with its exit status, standard output and standard error captured:
    the command line from Python, without a new interpreter."""
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err)
    return code, out.getvalue(), err.getvalue()

"""``python -m tcpreach``: probe a host's every address, or lint a fly.toml.

    python -m tcpreach probe hello-server.fly.dev
    python -m tcpreach probe [::1]:1848 --json
    python -m tcpreach probe hello-server.fly.dev --resolver 127.0.0.1:5353
    python -m tcpreach probe mail.example:110 --expect-prefix '+OK' --keep-open
    python -m tcpreach probe cache.example:6379 --send 'PING\r\n' --expect '+PONG\r\n' --keep-open
    python -m tcpreach lint fly.toml

Exit status: probe, 0 when every probed target is ``ok``, 1 otherwise; lint, 1 on any
error finding; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Sequence

from tcpreach import __version__
from tcpreach.cli import lint, probe
from tcpreach.cli.args import Parser


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m tcpreach", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    probe.add_parser(commands)
    lint.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args, parser)
    return code


def run_captured(argv: Sequence[str]) -> tuple[int, str, str]:
    """``main(argv)`` with its exit status, standard output and standard error captured:
    the command line from Python, without a new interpreter."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exited:  # argparse's usage errors
            code = exited.code if isinstance(exited.code, int) else 1 if exited.code else 0
    return code, out.getvalue(), err.getvalue()

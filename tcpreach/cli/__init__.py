r"""``python -m tcpreach``: can every client reach a TCP service? Probe every address of a
name, merge what several vantage points saw, lint a fly.toml, serve Prometheus.

    python -m tcpreach rehearse                       # Fly.io's shared-IPv4 trap, on loopback
    python -m tcpreach probe hello-server.fly.dev
    python -m tcpreach probe [::1]:1848 --json
    python -m tcpreach probe hello-server.fly.dev --resolver 127.0.0.1:5353
    python -m tcpreach probe mail.example:110 --expect-prefix '+OK' --keep-open
    python -m tcpreach probe cache.example:6379 --send 'PING\r\n' --expect '+PONG\r\n' --keep-open
    python -m tcpreach probe mail.example:25 --starttls smtp --cert-warn 30 --cert-crit 7
    python -m tcpreach probe svc.example:7000 --expect-regex '^NONCE (\d+)' --send 'ECHO ${1}\r\n' --expect 'OK\r\n'
    python -m tcpreach probe hello-server.fly.dev --format nagios -w 0.5 -c 2
    python -m tcpreach probe hello-server.fly.dev --config tcpreach.toml
    python -m tcpreach probe app-a.fly.dev app-b.fly.dev --hosts-file more-hosts.txt
    python -m tcpreach lint fly.toml
    python -m tcpreach listeners --port 1848
    python -m tcpreach merge fra.json ci.json nat64.json --markdown >> "$GITHUB_STEP_SUMMARY"
    python -m tcpreach exporter --config tcpreach-exporter.toml --listen 127.0.0.1:9848
    fly ssh console -C "cat /proc/net/tcp /proc/net/tcp6" | python -m tcpreach listeners --proc - --port 1848

Exit status: rehearse, 0 when the diagnosis is the scenario's; probe, 0 when every target
this client could test (it has a route to) of every host is ``ok`` and no finding is an
error, 1 otherwise (with --format nagios:
0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN); lint and listeners,
1 on any error finding (listeners also when the port does not answer on every address of
the machine); merge, 1 when a kind of client
that was tested cannot reach the service; exporter, 0 when stopped by SIGTERM or SIGINT;
2 on bad usage; probe and merge, 130 or 143 when SIGINT or SIGTERM ended them (with what was
judged so far).
"""

from __future__ import annotations

import argparse
import importlib
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from tcpreach import __version__
from tcpreach.cli.args import EXIT_INTERRUPTED, EXIT_USAGE, Parser, bind_streams
from tcpreach.errors import UsageError

__all__ = ["build_parser", "main", "run_captured"]


_COMMANDS = {
    "rehearse": ("tcpreach.cli.rehearse", "the job done on a deployment rehearsed on loopback (no deployment needed)"),
    "probe": ("tcpreach.cli.probe", "resolve hosts, probe every address of every one at once, judge and diagnose"),
    "lint": ("tcpreach.cli.lint", "check a fly.toml (and its Dockerfile) offline, before any deploy"),
    "listeners": ("tcpreach.cli.listeners", "on the app's machine: what listens where, and can the proxy reach it"),
    "merge": ("tcpreach.cli.merge", "merge reports from several vantage points: which clients can reach it"),
    "exporter": ("tcpreach.cli.exporter", "serve Prometheus: probe every address of a target at each scrape"),
}
"""Each subcommand's module and help: only the one that runs is imported."""


def program_name() -> str:
    """``tcpreach`` when run as the installed script, ``python -m tcpreach`` otherwise."""
    return "tcpreach" if Path(sys.argv[0]).name == "tcpreach" else "python -m tcpreach"


def _plain(text: str) -> str:
    """Docstring text as a terminal shows it: no reST markup."""
    return text.replace("``", "")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser, with the subcommand named in ``argv`` in full (every one for ``--help``)."""
    first, _, rest = (__doc__ or "").partition("\n\n")
    prog = program_name()
    parser = Parser(
        prog=prog,
        description=_plain(first),
        epilog="examples:\n" + _plain(rest).replace("python -m tcpreach", prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    chosen = next((word for word in argv if not word.startswith("-")), None)
    for name, (module, help_text) in _COMMANDS.items():
        if chosen in (name, None) or chosen not in _COMMANDS:
            importlib.import_module(module).add_parser(commands, name, help_text)
        else:
            commands.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """Run one subcommand; its output goes to ``stdout``, usage errors to ``stderr`` (the
    process's own streams by default). Returns the exit status; raises nothing a user
    can cause."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words)
    bind_streams(parser, out, err)
    try:
        args = parser.parse_args(words)
        code: int = args.func(args, out, err)
    except SystemExit as exited:  # argparse's usage errors, --help and --version
        return exited.code if isinstance(exited.code, int) else 1 if exited.code else 0
    except UsageError as exc:
        err.write(f"{parser.prog} {args.command}: error: {exc} (see --help)\n")
        return EXIT_USAGE
    except KeyboardInterrupt:  # SIGINT before or after a command's own run, which handles it
        err.write(f"{parser.prog}: interrupted\n")
        return EXIT_INTERRUPTED
    return code


def run_captured(argv: Sequence[str]) -> tuple[int, str, str]:
    """``main(argv)`` with its exit status, standard output and standard error captured:
    the command line from Python, without a new interpreter."""
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err)
    return code, out.getvalue(), err.getvalue()

"""``python -m tcpreach lint``: check a fly.toml (and its Dockerfile) offline."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import IO, Any

from tcpreach.cli.args import EXIT_FAILED, EXIT_OK, typed
from tcpreach.findings import Severity, format_finding
from tcpreach.fly.files import grouped, lint_path
from tcpreach.options import DEFAULT_PORT
from tcpreach.settings.inputs import parse_port

__all__ = ["add_parser", "run_lint"]


def add_parser(commands: Any, name: str, help_text: str) -> None:
    lint = commands.add_parser(name, help=help_text)
    lint.add_argument("path", nargs="?", type=Path, default=Path("fly.toml"), help="default ./fly.toml")
    lint.add_argument(
        "--port",
        type=typed(parse_port),
        default=None,
        help=f"the port the server listens on (default: the Dockerfile's --port or ENV PORT, else {DEFAULT_PORT})",
    )
    lint.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    lint.set_defaults(func=run_lint)


def run_lint(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    findings, dockerfile = lint_path(args.path, args.port)
    if args.json:
        doc = {
            "path": str(args.path),
            "dockerfile": None if dockerfile is None else str(dockerfile),
            "findings": [
                {"code": f.code, "severity": str(f.severity), "key": f.key, "message": f.message, "remedy": f.remedy}
                for f in findings
            ],
        }
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        out.write(f"{args.path}" + (f" (and {dockerfile})" if dockerfile else "") + "\n")
        for finding, count in grouped(findings):
            out.write(format_finding(finding, count) + "\n")
        if not findings:
            out.write("no findings" + "\n")
    return EXIT_FAILED if any(f.severity is Severity.ERROR for f in findings) else EXIT_OK

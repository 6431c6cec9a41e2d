"""``python -m tcpreach merge``: reports from several vantage points, one answer per kind of client."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import IO, Any

from tcpreach.cli.args import EXIT_FAILED, EXIT_OK
from tcpreach.errors import UsageError
from tcpreach.judging.merge import merge_fleet
from tcpreach.model import HostReport
from tcpreach.report.document import SCHEMA_VERSION, load_reports
from tcpreach.report.merged import dump_merged, fleet_summary, format_merged, markdown_merged, merged_passes
from tcpreach.settings.documents import STDIN, read_document

__all__ = ["add_parser", "read_report_files", "run_merge"]

_EPILOG = """\
Each report is a file written by `probe --json --vantage NAME` (or pytest's
--tcpreach-json with --tcpreach-vantage NAME), one per vantage point, all of the same host,
port and expectation. Exit status: 0 when no kind of client that some vantage could test
fails and no finding is an error; 1 otherwise; 2 on bad usage.
"""


def add_parser(commands: Any, name: str, help_text: str) -> None:
    parser = commands.add_parser(
        name, help=help_text, epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "reports", nargs="+", type=Path, metavar="REPORT.json", help="reports, one per vantage (- for standard input)"
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="one JSON document: matrix, clients, findings, reports")
    shown.add_argument("--markdown", action="store_true", help="Markdown for a CI job summary ($GITHUB_STEP_SUMMARY)")
    parser.set_defaults(func=run_merge)


def read_report_files(paths: list[Path]) -> tuple[list[HostReport], list[str]]:
    """Every report of every file, and the file each came from. Raises ``UsageError``."""
    reports: list[HostReport] = []
    names: list[str] = []
    for path in paths:
        doc = read_document(path, "a tcpreach JSON report")
        try:
            found = load_reports(doc)
        except UsageError as exc:
            raise UsageError(f"{'standard input' if str(path) == STDIN else path}: {exc}") from None
        reports += found
        names += [str(path)] * len(found)
    return reports, names


def run_merge(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    reports, names = read_report_files(args.reports)
    merges = merge_fleet(reports, names)
    if len(merges) == 1:  # one host: its merge alone, as it always was
        (merged,) = merges
        if args.json:
            out.write(json.dumps(dump_merged(merged), indent=2) + "\n")
        elif args.markdown:
            out.write(markdown_merged(merged))
        else:
            out.write(format_merged(merged) + "\n")
    elif args.json:
        out.write(json.dumps({"schema": SCHEMA_VERSION, "merges": [dump_merged(m) for m in merges]}, indent=2) + "\n")
    elif args.markdown:  # the fleet's summary first, then each host, failing ones first
        ordered = sorted(merges, key=merged_passes)
        out.write(fleet_summary(merges, markdown=True) + "\n" + "\n".join(markdown_merged(m) for m in ordered))
    else:
        ordered = sorted(merges, key=merged_passes)
        out.write(fleet_summary(merges) + "\n" + "\n\n".join(format_merged(m) for m in ordered) + "\n")
    return EXIT_OK if all(merged_passes(m) for m in merges) else EXIT_FAILED

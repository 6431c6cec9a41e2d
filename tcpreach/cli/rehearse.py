"""``python -m tcpreach rehearse``: the job done on a deployment rehearsed on loopback."""

from __future__ import annotations

import argparse
from typing import IO, Any

from tcpreach.cli.args import EXIT_FAILED, EXIT_OK, terminal_width
from tcpreach.testing.rehearsal import DEFAULT_SCENARIO, SCENARIOS

__all__ = ["add_parser", "run_rehearse"]


def add_parser(commands: Any, name: str, help_text: str) -> None:
    parser = commands.add_parser(
        name, help=help_text, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="scenarios:\n" + "\n".join(f"  {key:20} {s.what}" for key, s in SCENARIOS.items())
        + "\n\nExit status: 0 when the diagnosis is the scenario's, 1 otherwise.",
    )  # fmt: skip
    parser.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO, choices=list(SCENARIOS),
                        help=f"the deployment to rehearse (default {DEFAULT_SCENARIO})")  # fmt: skip
    parser.set_defaults(func=run_rehearse)


def run_rehearse(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from tcpreach.check import check_host
    from tcpreach.report.text import format_report
    from tcpreach.testing.rehearsal import rehearse

    scenario = SCENARIOS[args.scenario]
    out.write(f"rehearsal {args.scenario}: {scenario.what}\n")
    out.write("(on loopback: a stub DNS answers the name, stand-ins and the hello server answer the addresses)\n\n")
    with rehearse(args.scenario) as (host, options):
        report = check_host(host, options)
    out.write(format_report(report, terminal_width(out)) + "\n\n")
    found = tuple(f.code for f in report.findings)
    if found == scenario.expected:
        out.write(f"the diagnosis is the one this deployment gets: {', '.join(found)}\n")
        return EXIT_OK
    out.write(f"the diagnosis is {', '.join(found) or 'empty'}, where {', '.join(scenario.expected)} was due\n")
    return EXIT_FAILED

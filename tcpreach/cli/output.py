"""``probe``'s output as hosts finish: each report written as soon as it is handed over (the
table, or its part of the JSON document), so that a fleet's output streams and nothing of
it is kept but counts. An interrupted run ends its output as such."""

from __future__ import annotations

import json
import signal
import textwrap
from typing import IO

from tcpreach.cli.args import EXIT_OK, terminal_width
from tcpreach.cli.colour import paint, wants_colour
from tcpreach.findings import Severity
from tcpreach.model import HostReport
from tcpreach.report.document import SCHEMA_VERSION, dump_report
from tcpreach.report.text import format_report, summary_line, transcript

__all__ = ["ReportWriter", "signal_name"]


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


class ReportWriter:
    """Writes ``hosts`` reports to ``out`` as text or JSON, one at a time, in the order
    they come; ``status`` gives each report's exit status."""

    def __init__(self, out: IO[str], hosts: int, *, as_json: bool, verbose: bool = False) -> None:
        self.out, self.hosts, self.as_json, self.verbose = out, hosts, as_json, verbose
        self.written = self.good = self.targets = 0
        self._colour = wants_colour(out)
        self._width = terminal_width(out)
        self._single: HostReport | None = None
        self._failing: list[tuple[str, str, str]] = []
        """Each failing host of a fleet with its deciding finding's code and remedy: what the
        summary lists (a line each: all that is kept of a report)."""

    def write(self, report: HostReport, status: int) -> None:
        self.written += 1
        self.good += status == EXIT_OK
        self.targets += len(report.outcomes)
        if status != EXIT_OK and self.hosts > 1:
            deciding = next((f for f in report.findings if f.severity is Severity.ERROR), None)
            deciding = deciding or next(iter(report.findings), None)
            code, remedy = (str(deciding.code), deciding.remedy) if deciding is not None else ("failing", "")
            self._failing.append((f"{report.host}:{report.port}", code, remedy))
        if self.as_json:
            self._json(report)
            return
        text = format_report(report, self._width)
        self.out.write((paint(text) if self._colour else text) + "\n")
        if self.verbose:
            self.out.write(transcript(report) + "\n")
        if self.hosts > 1:
            self.out.write(summary_line(report, status == EXIT_OK) + "\n\n")
        self.out.flush()

    def _doc(self, report: HostReport) -> dict[str, object]:
        doc = dump_report(report)
        if self.verbose:  # the transcript's lines beside the record they are read from
            doc["transcript"] = transcript(report).splitlines()[1:]
        return doc

    def _json(self, report: HostReport) -> None:
        if self.hosts == 1:
            self._single = report  # one report is the document itself: written at the end
            return
        if self.written == 1:
            self.out.write(f'{{\n  "schema": {SCHEMA_VERSION},\n  "reports": [')
        doc = textwrap.indent(json.dumps(self._doc(report), indent=2), "    ")
        self.out.write(("\n" if self.written == 1 else ",\n") + doc)
        self.out.flush()

    def finish(self, interrupted: int | None = None, elapsed_s: float = 0.0) -> None:
        """The end of the output: the fleet's count, or what an interrupted run judged."""
        if self.as_json:
            self._finish_json(interrupted)
        elif interrupted is not None:
            self.out.write(f"interrupted by {signal_name(interrupted)} after {elapsed_s:.1f} s: "
                           f"{self.written} of {self.hosts} hosts judged\n")  # fmt: skip
        elif self.hosts > 1:
            failing = self.written - self.good
            if self._failing:
                self.out.write(f"failing ({failing} of {self.written} hosts):\n")
                width = max(len(host) for host, _, _ in self._failing)
                for host, code, remedy in self._failing:
                    self.out.write(f"  {host:<{width}}  {code}" + (f": {remedy}" if remedy else "") + "\n")
            self.out.write(f"{self.written} hosts, {self.targets} targets: {self.good} hosts ok, {failing} failing\n")
        self.out.flush()

    def _finish_json(self, interrupted: int | None) -> None:
        if self._single is not None and interrupted is None:
            self.out.write(json.dumps(self._doc(self._single), indent=2) + "\n")
            return
        if self.written == 0 or self._single is not None:
            docs = [] if self._single is None else [self._doc(self._single)]
            head = {"schema": SCHEMA_VERSION, "reports": docs}
            if interrupted is not None:
                head["interrupted"] = signal_name(interrupted)
            self.out.write(json.dumps(head, indent=2) + "\n")
            return
        tail = "" if interrupted is None else f',\n  "interrupted": "{signal_name(interrupted)}"'
        self.out.write(f"\n  ]{tail}\n}}\n")

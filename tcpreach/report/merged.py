"""A merge of several vantages, for people and machines: the terminal text, Markdown (a CI
job summary: GitHub's ``$GITHUB_STEP_SUMMARY``) and a JSON document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tcpreach.findings import Severity, format_finding
from tcpreach.judging.merge import Merged
from tcpreach.judging.population import Answer
from tcpreach.model import TargetOutcome
from tcpreach.report.document import SCHEMA_VERSION, dump_report
from tcpreach.report.text import format_table

__all__ = [
    "dump_merged",
    "fleet_summary",
    "format_merged",
    "markdown_merged",
    "merged_passes",
]


def merged_passes(merged: Merged) -> bool:
    """No kind of client that was tested fails, and no finding is an error (a kind no vantage
    could test is said, not failed)."""
    failing = [p for p in merged.population if p.answer in (Answer.NO, Answer.PARTLY)]
    return not failing and not any(f.severity is Severity.ERROR for f in merged.findings)


def _cell(cell: TargetOutcome | None) -> str:
    if cell is None:
        return "-"
    return "no route" if cell.result.no_route else str(cell.verdict)


def _heading(merged: Merged) -> str:
    labels = ", ".join(v.label for v in merged.vantages)
    count = len(merged.vantages)
    return (
        f"{merged.host} port {merged.port}, expecting {merged.expectation.describe()}, "
        f"from {count} vantage{'s' if count > 1 else ''}: {labels}"
    )


def _matrix(merged: Merged) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    header = ("ADDRESS", "FAMILY", "SOURCE", *(v.label for v in merged.vantages))
    rows = [(r.address, str(r.family), str(r.source), *(_cell(c) for c in r.cells)) for r in merged.rows]
    return header, rows


def _clients(merged: Merged) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    header: tuple[str, ...] = ("CLIENT", "REACHES IT", "JUDGED FROM", "WHY")
    rows: list[tuple[str, ...]] = [
        (str(p.kind), str(p.answer), ", ".join(p.judged_from) or "-", p.why) for p in merged.population
    ]
    return header, rows


def format_merged(merged: Merged) -> str:
    """The heading, the matrix, the clients table and the findings."""
    header, rows = _matrix(merged)
    clients_header, clients = _clients(merged)
    parts = [_heading(merged), format_table(rows, header), "", format_table(clients, clients_header)]
    parts += [format_finding(f) for f in merged.findings]
    if merged.by_vantage:
        parts += ["", "found by the vantages:"]
        parts += [f"{format_finding(f)}\n         (from {', '.join(labels)})" for f, labels in merged.by_vantage]
    return "\n".join(parts)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]


def markdown_merged(merged: Merged) -> str:
    """Markdown for a CI job summary: the clients first (the answer), then the matrix."""
    verdict = "every tested kind of client reaches it" if merged_passes(merged) else "some clients cannot reach it"
    lines = [f"### tcpreach: {merged.host} port {merged.port}: {verdict}", "", _heading(merged), ""]
    lines += _md_table(("Client", "Reaches it", "Judged from", "Why"), _clients(merged)[1])
    labels = tuple(v.label for v in merged.vantages)
    rows = [(f"`{r[0]}`", *r[1:]) for r in _matrix(merged)[1]]
    lines += ["", *_md_table(("Address", "Family", "Source", *labels), rows)]
    listed = [(f, "") for f in merged.findings] + [(f, f" (from {', '.join(v)})") for f, v in merged.by_vantage]
    if listed:
        lines.append("")
        for finding, where in listed:
            lines.append(f"- **{finding.severity}** `{finding.code}`{where}: {finding.message}")
            if finding.remedy:
                lines.append(f"  - fix: {finding.remedy}")
    return "\n".join(lines) + "\n"


def dump_merged(merged: Merged) -> dict[str, Any]:
    """The merge as a JSON-ready document, the reports it was made of included."""
    return {
        "schema": SCHEMA_VERSION,
        "host": merged.host,
        "port": merged.port,
        "expected": merged.expectation.describe(),
        "vantages": [v.label for v in merged.vantages],
        "matrix": [
            {
                "address": r.address,
                "family": str(r.family),
                "source": str(r.source),
                "verdicts": {v.label: _cell(c) for v, c in zip(merged.vantages, r.cells, strict=True)},
            }
            for r in merged.rows
        ],
        "clients": [
            {"client": str(p.kind), "reaches": str(p.answer), "judged_from": list(p.judged_from), "why": p.why}
            for p in merged.population
        ],
        "findings": [
            {
                "code": str(f.code),
                "severity": str(f.severity),
                "message": f.message,
                "remedy": f.remedy,
                "addresses": list(f.addresses),
            }
            for f in merged.findings
        ],
        "found_by_vantages": [
            {
                "code": str(f.code),
                "severity": str(f.severity),
                "message": f.message,
                "remedy": f.remedy,
                "vantages": list(labels),
            }
            for f, labels in merged.by_vantage
        ],
        "passed": merged_passes(merged),
        "reports": [dump_report(r) for r in merged.reports],
    }


def _failing_clients(merged: Merged) -> str:
    failing = [f"{p.kind} ({p.answer})" for p in merged.population if p.answer in (Answer.NO, Answer.PARTLY)]
    errors = [str(f.code) for f in merged.findings if f.severity is Severity.ERROR]
    return ", ".join(failing + errors) or "an error finding of a vantage"


def fleet_summary(merges: Sequence[Merged], markdown: bool = False) -> str:
    """What a fleet's merge says first: how many hosts, which fail and for which clients."""
    failing = [m for m in merges if not merged_passes(m)]
    vantages = ", ".join(dict.fromkeys(v.label for m in merges for v in m.vantages))
    head = f"{len(merges)} hosts from {vantages}: {len(merges) - len(failing)} reach every tested kind of client, "
    head += f"{len(failing)} do not"
    if markdown:
        lines = [f"### tcpreach: {head}", ""]
        lines += [f"- `{m.host}` port {m.port}: {_failing_clients(m)}" for m in failing]
    else:
        lines = [head] + [f"  {m.host} port {m.port}: {_failing_clients(m)}" for m in failing]
    return "\n".join(lines) + "\n"

"""The exporter's status page (``/``): its modules and its last probes with their
verdicts, as blackbox_exporter shows. Pure: plain records in, HTML out, every value escaped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from html import escape
from urllib.parse import urlencode

from tcpreach.exporter.record import ProbeRecord
from tcpreach.options import CheckOptions

__all__ = ["module_summary", "status_page"]


def module_summary(options: CheckOptions) -> str:
    """``port 1848, exactly 'hello\\n', both families, timeout 3 s, 2 retries``."""
    parts = [f"port {options.port}", options.expectation.describe()]
    parts.append("both families" if len(options.families) > 1 else f"{options.families[0]} only")
    if options.tls is not None:
        parts.append(f"TLS (SNI {options.tls.server_name})" if options.tls.server_name else "TLS")
    parts.append(f"timeout {options.timeout:g} s, {options.retries} retries")
    return ", ".join(parts)


def _probe_row(record: ProbeRecord) -> str:
    when = datetime.fromtimestamp(record.finished_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
    verdicts = "<br>".join(escape(f"{o.target.address} {o.verdict}") for o in record.report.outcomes) or "no address"
    findings = "<br>".join(escape(f"{f.severity}: {f.code}") for f in record.report.findings)
    link = "/probe?" + urlencode({"target": record.target, "module": record.module, "debug": "true"})
    cells = (
        escape(when), escape(record.module), escape(record.target),
        "ok" if record.success else "<b>failed</b>", verdicts, findings,
        f"{record.duration_s:.3f} s", f'<a href="{escape(link)}">debug</a>',
    )  # fmt: skip
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def status_page(version: str, modules: Mapping[str, CheckOptions], recent: Iterable[ProbeRecord]) -> str:
    """The page: the modules, then the probes, newest first."""
    module_rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(module_summary(options))}</td></tr>"
        for name, options in modules.items()
    )
    probe_rows = "".join(_probe_row(record) for record in reversed(list(recent))) or (
        '<tr><td colspan="8">no probe yet</td></tr>'
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tcpreach exporter</title>
<style>body{{font-family:sans-serif}} td,th{{padding:2px 8px;text-align:left;vertical-align:top}}</style>
</head><body>
<h1>tcpreach exporter {escape(version)}</h1>
<p><a href="/metrics">Metrics</a> &middot; probe with <code>/probe?target=HOST[:PORT]&amp;module=NAME</code></p>
<h2>Modules</h2>
<table><tr><th>module</th><th>settings</th></tr>{module_rows}</table>
<h2>Recent probes</h2>
<table><tr><th>finished (UTC)</th><th>module</th><th>target</th><th>result</th><th>addresses</th>
<th>findings</th><th>took</th><th></th></tr>{probe_rows}</table>
</body></html>
"""

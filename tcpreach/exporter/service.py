"""What the exporter answers, without sockets: a request's path, query and headers in, a
status, a content type and a body out. ``server`` only carries it over HTTP.

- ``/probe``: a probe in Prometheus's text format (``debug=true``: the text report and
  the series, as plain text); 400 for a bad query, 403 for a target the configuration
  does not allow (both judged before the probe may take a slot), 503 when
  ``max_concurrent`` probes are already running, 504 for a probe that would outlive the
  scrape's deadline.
- ``/metrics``: the exporter's own series and the Python client's process metrics.
- ``/``: the status page.
Nothing a request can cause sends a traceback to the client.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from tcpreach import __version__
from tcpreach.engine import MAX_SLOTS, Engine
from tcpreach.errors import UsageError
from tcpreach.exporter.config import ExporterConfig
from tcpreach.exporter.metrics import exposition
from tcpreach.exporter.page import status_page
from tcpreach.exporter.probe import (
    MAX_QUERY_CHARS,
    DeadlineError,
    ProbeQuery,
    TargetRefusedError,
    admit,
    parse_query,
    run_probe,
)
from tcpreach.exporter.record import ProbeRecord
from tcpreach.report.text import format_report, transcript
from tcpreach.settings.inputs import HostSpec

__all__ = ["RECENT_PROBES", "ExporterService", "Response"]

MAX_QUERY_FIELDS = 16
RETRY_AFTER_S = "1"
"""What a 503 tells its client to wait, in seconds: a probe slot frees within a scrape."""
RECENT_PROBES = 100
"""Probes the status page keeps."""
_TEXT = "text/plain; charset=utf-8"
log = logging.getLogger("tcpreach.exporter")


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    """Headers beyond the content type (a 503's ``Retry-After``)."""


def _text(status: int, line: str) -> Response:
    return Response(status, _TEXT, (line.rstrip("\n") + "\n").encode())


class _OwnMetrics:
    """The exporter's own series, in a registry of their own (with the process metrics)."""

    def __init__(self) -> None:
        # No ``*_created`` series (they double every counter's output); a process-wide
        # switch of the client, right for a process that serves these series alone.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        on = self.registry
        self.probes = Counter(
            "tcpreach_exporter_probes", "Probes made, by module and outcome", ["module", "outcome"], registry=on
        )
        self.durations = Histogram(
            "tcpreach_exporter_probe_duration_seconds", "Seconds a probe took, by module", ["module"], registry=on,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )  # fmt: skip
        self.refused = Counter(
            "tcpreach_exporter_requests_refused",
            "Requests answered without a probe, by reason",
            ["reason"],
            registry=on,
        )
        self.errors = Counter("tcpreach_exporter_errors", "Probes that failed inside the exporter (a bug)", registry=on)
        self.in_flight = Gauge("tcpreach_exporter_probes_in_flight", "Probes running now", registry=on)
        self.info = Gauge("tcpreach_exporter_build_info", "The exporter's version", ["version"], registry=on)
        self.info.labels(__version__).set(1)


class ExporterService:
    """The exporter's answers, on one event loop: each scrape's probe runs there, beside
    every other one, on one engine whose sockets are bounded by the open-file limit."""

    def __init__(self, config: ExporterConfig) -> None:
        self.config = config
        self.metrics = _OwnMetrics()
        self.running = 0
        self._engine: Engine | None = None
        self._recent: collections.deque[ProbeRecord] = collections.deque(maxlen=RECENT_PROBES)

    @property
    def engine(self) -> Engine:
        """Made on first use, on the loop that serves (its semaphore belongs to it)."""
        if self._engine is None:
            self._engine = Engine(MAX_SLOTS)
        return self._engine

    async def handle(self, path: str, query: str, headers: Mapping[str, str], arrived: float | None = None) -> Response:
        """Answer one GET; ``arrived`` (monotonic) is when the request came in."""
        if path == "/probe":
            return await self._probe(query, headers, time.monotonic() if arrived is None else arrived)
        if path == "/metrics":
            return Response(200, CONTENT_TYPE_LATEST, generate_latest(self.metrics.registry))
        if path == "/":
            page = status_page(__version__, self.config.modules, list(self._recent))
            return Response(200, "text/html; charset=utf-8", page.encode())
        return _text(404, f"no page at {path}: try /probe, /metrics or /")

    def _refuse(self, status: int, reason: str, line: str) -> Response:
        self.metrics.refused.labels(reason).inc()
        return _text(status, line)

    async def _probe(self, raw: str, headers: Mapping[str, str], arrived: float) -> Response:
        if len(raw) > MAX_QUERY_CHARS:
            return self._refuse(400, "bad_request", f"the query is over {MAX_QUERY_CHARS} characters")
        try:
            fields = parse_qs(raw, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
        except ValueError:
            return self._refuse(400, "bad_request", f"the query has over {MAX_QUERY_FIELDS} parameters")
        try:  # everything a request says is judged before it may take a slot
            query = parse_query(fields, self.config)
            spec = admit(self.config, query)
        except TargetRefusedError as exc:
            return self._refuse(403, "forbidden", str(exc))
        except UsageError as exc:
            return self._refuse(400, "bad_request", str(exc))
        if self.running >= self.config.max_concurrent:
            busy = f"busy: {self.config.max_concurrent} probes are running (max_concurrent); try again later"
            refused = self._refuse(503, "busy", busy)
            return Response(refused.status, refused.content_type, refused.body, (("Retry-After", RETRY_AFTER_S),))
        self.running += 1
        try:
            return await self._probed(query, spec, headers, arrived)
        finally:
            self.running -= 1

    async def _probed(self, query: ProbeQuery, spec: HostSpec, headers: Mapping[str, str], arrived: float) -> Response:
        try:
            with self.metrics.in_flight.track_inprogress():
                timeout = _header(headers, "X-Prometheus-Scrape-Timeout-Seconds")
                record = await run_probe(self.config, query, spec, timeout, engine=self.engine, arrived=arrived)
        except TargetRefusedError as exc:
            return self._refuse(403, "forbidden", str(exc))
        except UsageError as exc:
            return self._refuse(400, "bad_request", str(exc))
        except DeadlineError as exc:
            return self._refuse(504, "deadline", str(exc))
        except Exception:  # a bug: logged with its traceback here, one line to the client
            log.exception("probe of %r with module %r failed", query.target, query.module)
            self.metrics.errors.inc()
            return _text(500, "the probe failed inside the exporter: see its log")
        self.metrics.durations.labels(query.module).observe(time.monotonic() - arrived)
        self.metrics.probes.labels(query.module, "success" if record.success else "failure").inc()
        self._recent.append(record)
        series = exposition(record)
        if query.debug:
            text = f"{format_report(record.report)}\n{transcript(record.report)}\n\n"
            return Response(200, _TEXT, text.encode() + series)
        return Response(200, CONTENT_TYPE_LATEST, series)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)

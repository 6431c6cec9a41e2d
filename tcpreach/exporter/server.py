"""The exporter over HTTP: aiohttp's web server carrying ``ExporterService``'s answers, on
the same event loop as every probe.

aiohttp parses HTTP (a request that is not HTTP, an unknown version, a line too long: a
status line and one line of text, never a traceback in the log), keeps connections alive
for Prometheus, and cancels a scrape's probe when its client goes away. ``serve`` stops
accepting at once when it is cancelled, gives scrapes in flight a moment to answer, then
closes the rest; ``serve_until`` runs it until a ``threading.Event`` is set (tests, and
programs that embed the exporter).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable

from aiohttp import web

from tcpreach.exporter.service import ExporterService

__all__ = ["ExporterServer", "serve_until"]

KEEPALIVE_S = 10.0
"""An idle kept-alive connection is closed after this (Prometheus reconnects at once)."""
STOP_GRACE_S = 0.5
"""On a stop, scrapes in flight have this long to answer before their connections close."""
_ALLOWED = "GET, HEAD"
_TEXT = "text/plain; charset=utf-8"
log = logging.getLogger("tcpreach.exporter")


class _ClientFaults(logging.Filter):
    """What aiohttp logs about a connection (a request that is not HTTP, a client gone
    mid-answer) is the client's doing: one debug line of ours, never a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        fault = record.exc_info[1] if record.exc_info else None
        log.debug("client: %s%s", record.getMessage(), f": {fault!r}" if fault is not None else "")
        return False


_server_log = logging.getLogger("tcpreach.exporter.http")
_server_log.addFilter(_ClientFaults())


class ExporterServer:
    """``service`` over HTTP on ``host``:``port``; the socket is bound at once (an address
    that cannot be had is an ``OSError`` here, before anything is served)."""

    def __init__(self, service: ExporterService, host: str, port: int) -> None:
        self.service = service
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        # [::] is every address of both families (dual-stack), as the hello server's is.
        # Prometheus opens its connections at once: a short backlog would drop SYNs.
        both = family == socket.AF_INET6 and ipaddress.ip_address(host).is_unspecified and socket.has_dualstack_ipv6()
        self.socket = socket.create_server((host, port), family=family, backlog=1024, dualstack_ipv6=both)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]

    @property
    def url(self) -> str:
        host, port = self.server_address
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        if request.method not in ("GET", "HEAD"):
            return web.Response(
                status=405, body=f"{request.method} is not served: use GET\n".encode(),
                headers={"Allow": _ALLOWED, "Content-Type": _TEXT},
            )  # fmt: skip
        answer = await self.service.handle(request.path, request.query_string, dict(request.headers), arrived)
        headers = {"Content-Type": answer.content_type, **dict(answer.headers)}
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    async def serve(self, ready: Callable[[], None] = lambda: None) -> None:
        """Serve until cancelled; ``ready`` is called once requests are taken."""
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._answer)
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, handler_cancellation=True, shutdown_timeout=STOP_GRACE_S,
            keepalive_timeout=KEEPALIVE_S, logger=_server_log,
        )  # fmt: skip
        await runner.setup()
        try:
            await web.SockSite(runner, self.socket).start()
            ready()
            await asyncio.Event().wait()
        finally:
            await asyncio.shield(runner.cleanup())
            self.socket.close()


def serve_until(server: ExporterServer, stop: threading.Event) -> None:
    """Serve on a loop of this thread's own until ``stop`` is set (checked every 0.1 s)."""

    async def run() -> None:
        serving = asyncio.ensure_future(server.serve())
        while not stop.is_set() and not serving.done():
            await asyncio.sleep(0.1)
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving

    asyncio.run(run())

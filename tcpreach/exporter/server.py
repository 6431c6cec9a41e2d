"""The exporter over HTTP: a threaded ``http.server`` carrying ``ExporterService``'s answers.

Each request has a thread; a client that sends nothing is dropped after
``REQUEST_TIMEOUT`` seconds. ``serve_until`` stops within a second of its event being set
(SIGTERM or SIGINT from the CLI), leaving running probes to end on their own.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tcpreach.errors import UsageError
from tcpreach.exporter.service import ExporterService, Response
from tcpreach.settings.inputs import parse_host

__all__ = ["DEFAULT_LISTEN", "ExporterServer", "parse_listen", "serve_until"]

DEFAULT_LISTEN = "127.0.0.1:9848"
"""Loopback: any other address is given explicitly. (Prometheus's list of exporter ports,
9100-9999, is full; 9848 echoes the hello server's 1848.)"""
REQUEST_TIMEOUT = 10.0


def parse_listen(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` or ``[V6]:PORT`` (port 0: any free port). Raises ``UsageError``."""
    problem = f"listen on ADDR:PORT, e.g. {DEFAULT_LISTEN}, [::1]:9848 or 0.0.0.0:9848 for every address; got {text!r}"
    any_port = text.endswith(":0")  # parse_host takes ports 1..65535 only
    try:
        spec = parse_host(text[:-2] + ":1" if any_port else text)
    except UsageError:
        raise UsageError(problem) from None
    if not spec.literal or spec.port is None:
        raise UsageError(problem)
    return spec.host, 0 if any_port else spec.port


class _Handler(BaseHTTPRequestHandler):
    server: ExporterServer
    timeout = REQUEST_TIMEOUT
    server_version = "tcpreach-exporter"
    protocol_version = "HTTP/1.1"  # keep-alive: Prometheus reuses its connections
    # The headers and the body are two writes: without TCP_NODELAY the body waits for the
    # client's delayed ACK of the headers (a second and more on some stacks).
    disable_nagle_algorithm = True
    # http.server's own errors (a request that is not HTTP, an unknown method) in one line too.
    error_message_format = "%(code)d %(message)s\n"
    error_content_type = "text/plain; charset=utf-8"

    def _send(self, response: Response, body: bool = True) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if body:
            self.wfile.write(response.body)

    def _answer(self, body: bool) -> None:
        url = urlsplit(self.path)
        headers = {key: value for key, value in self.headers.items()}
        self._send(self.server.service.handle(url.path, url.query, headers), body)

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def log_message(self, format: str, *args: object) -> None:
        """No access log: Prometheus scrapes often, and its own metrics count the probes."""


class ExporterServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog is 5: Prometheus opening its connections at once
    # would have SYNs dropped and retried a second later.
    request_queue_size = 1024

    def __init__(self, service: ExporterService, host: str, port: int) -> None:
        self.service = service
        if ipaddress.ip_address(host).version == 6:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else host
        shown = f"[{text}]" if ":" in text else text
        return f"http://{shown}:{port}"


def serve_until(server: ExporterServer, stop: threading.Event) -> None:
    """Serve until ``stop`` is set, then close the listening socket (within a second)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        # Waking every 0.2 s: a signal the kernel gives another thread only runs its Python
        # handler when the main thread runs again (an endless wait could miss SIGTERM).
        while not stop.wait(0.2):
            pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

"""Gathering: a TLS handshake over a connected socket, observed, and the TLS stream after it.
No judging here.

TLS runs over an ``ssl.SSLObject`` and two memory buffers, so the same event loop that
drives every other connection of a run drives the handshake too. The context verifies the
chain against the system store or the given CA file, and the name when there is one; what
went wrong is read from OpenSSL's own codes (the verify code, the alert), never guessed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from tcpreach.model import TlsFailure, TlsObservation
from tcpreach.net.wait import receive
from tcpreach.options import TlsSettings

__all__ = ["TlsStream", "alert_name", "context_for", "handshake"]

# OpenSSL's X509_V_ERR_* codes that name a cause of their own.
_EXPIRED, _HOSTNAME_MISMATCH = 10, 62
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL", "HTTP_REQUEST",
     "HTTPS_PROXY_REQUEST", "RECORD_TOO_LARGE"}
)  # fmt: skip
_CHUNK = 65536


_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def context_for(settings: TlsSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.ca_file)
    context.check_hostname = settings.server_name is not None and not settings.insecure
    if settings.insecure:
        context.verify_mode = ssl.CERT_NONE
    if settings.cert_file is not None:
        context.load_cert_chain(settings.cert_file, settings.key_file)
    if settings.min_version is not None:
        context.minimum_version = _VERSIONS[settings.min_version]
    return context


class TlsStream:
    """A TLS connection over a non-blocking socket: ``send`` and ``recv`` as on a plain
    one (``recv`` returns ``b""`` at the server's close_notify; a TCP close without it
    raises ``ssl.SSLEOFError``)."""

    def __init__(
        self, sock: socket.socket, tls: ssl.SSLObject, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO
    ) -> None:
        self.sock, self.tls = sock, tls
        self._incoming, self._outgoing = incoming, outgoing
        self._loop = asyncio.get_running_loop()

    async def _flush(self) -> None:
        pending = self._outgoing.read()
        if pending:
            await self._loop.sock_sendall(self.sock, pending)

    async def _fill(self) -> None:
        data = await receive(self.sock, _CHUNK)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    async def handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
            except ssl.SSLWantReadError:
                await self._flush()
                await self._fill()
                continue
            await self._flush()
            return

    async def send(self, data: bytes) -> None:
        self.tls.write(data)
        await self._flush()

    async def recv(self) -> bytes:
        while True:
            try:
                return self.tls.read(_CHUNK)
            except ssl.SSLWantReadError:
                await self._flush()
                await self._fill()
            except ssl.SSLZeroReturnError:
                return b""

    def ready(self) -> bytes | None:
        """Decrypted bytes that have arrived already, without waiting (``b""``: the server's
        close_notify; ``None``: nothing whole yet)."""
        for attempt in range(2):
            try:
                return self.tls.read(_CHUNK)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                return b""
            except ssl.SSLError:
                return None
            if attempt == 0:
                try:
                    data = self.sock.recv(_CHUNK, socket.MSG_DONTWAIT)
                except OSError:  # BlockingIOError among them: nothing has arrived
                    return None
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
        return None


async def handshake(
    sock: socket.socket, settings: TlsSettings, timeout: float, since: Callable[[], float]
) -> tuple[TlsStream | None, TlsObservation]:
    """Shake hands over the connected, non-blocking ``sock`` within ``timeout``.

    Returns the TLS stream (``None`` when the handshake failed) and what was seen. A server
    that closes or resets during the handshake is a ``handshake`` failure; one that stays
    silent raises ``TimeoutError`` for the caller to judge.
    """
    name = settings.server_name
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context_for(settings).wrap_bio(incoming, outgoing, server_hostname=name)
    stream = TlsStream(sock, tls, incoming, outgoing)
    try:
        async with asyncio.timeout(timeout):
            await stream.handshake()
    except TimeoutError:
        raise
    except OSError as exc:  # ssl.SSLError is an OSError
        return None, _failure(exc, name, since())
    observed = _observed(tls, name, since())
    return stream, dataclasses.replace(observed, verified=not settings.insecure)


def _failure(exc: OSError, name: str | None, handshake_s: float) -> TlsObservation:
    """What OpenSSL (or the socket) said, as a failure with its detail."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        failure = {_EXPIRED: TlsFailure.EXPIRED, _HOSTNAME_MISMATCH: TlsFailure.NAME_MISMATCH}.get(
            exc.verify_code, TlsFailure.UNTRUSTED
        )
        return TlsObservation(name, handshake_s, failure=failure, detail=str(exc.verify_message))
    if isinstance(exc, ssl.SSLEOFError | ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        how = "reset" if isinstance(exc, ConnectionResetError) else "closed"
        return TlsObservation(
            name,
            handshake_s,
            failure=TlsFailure.HANDSHAKE,
            detail=f"the server {how} the connection during the handshake",
        )
    reason = str(getattr(exc, "reason", "") or exc)
    if reason in _NOT_TLS_REASONS:
        return TlsObservation(name, handshake_s, failure=TlsFailure.NOT_TLS, detail=reason.lower())
    return TlsObservation(name, handshake_s, failure=TlsFailure.HANDSHAKE, detail=alert_name(reason))


def alert_name(reason: str) -> str:
    """OpenSSL's reason as the alert's name: ``TLSV13_ALERT_CERTIFICATE_REQUIRED`` →
    ``certificate_required``."""
    for prefix in ("TLSV13_ALERT_", "TLSV1_ALERT_", "SSLV3_ALERT_", "TLSV1_"):
        reason = reason.removeprefix(prefix)
    return reason.lower()


def _ip_name(value: str) -> str:
    """An IP address name as people write it: OpenSSL spells IPv6 out (``0:0:0:0:0:0:0:1``)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return value


def _observed(tls: ssl.SSLObject, name: str | None, handshake_s: float) -> TlsObservation:
    cert: dict[str, Any] = tls.getpeercert() or {}
    names = tuple(
        value if kind == "DNS" else _ip_name(value)
        for kind, value in cert.get("subjectAltName", ())
        if kind in ("DNS", "IP Address")
    )
    issuer = ", ".join(f"{k}={v}" for rdn in cert.get("issuer", ()) for k, v in rdn) or None
    expires = expires_at = None
    if "notAfter" in cert:
        expires_at = float(ssl.cert_time_to_seconds(cert["notAfter"]))
        expires = round((expires_at - time.time()) / 86400, 1)
    return TlsObservation(
        name,
        handshake_s,
        version=tls.version(),
        alpn=tls.selected_alpn_protocol(),
        subject_names=names,
        issuer=issuer,
        expires_in_days=expires,
        expires_at=expires_at,
    )

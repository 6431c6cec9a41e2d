"""Gathering: a TLS handshake over a connected socket, observed. No judging here.

The context verifies the chain against the system store or the given CA file, and the
name when there is one; what went wrong is read from OpenSSL's own codes (the verify
code, the alert), never from a guess.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from tcpreach.model import TlsFailure, TlsObservation
from tcpreach.options import TlsSettings

__all__ = ["context_for", "handshake"]

# OpenSSL's X509_V_ERR_* codes that name a cause of their own.
_EXPIRED, _HOSTNAME_MISMATCH = 10, 62
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL", "HTTP_REQUEST",
     "HTTPS_PROXY_REQUEST", "RECORD_TOO_LARGE"}
)  # fmt: skip


def context_for(settings: TlsSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.ca_file)
    context.check_hostname = settings.server_name is not None
    return context


def handshake(
    sock: socket.socket, settings: TlsSettings, timeout: float, since: Callable[[], float]
) -> tuple[ssl.SSLSocket | None, TlsObservation]:
    """Wrap ``sock`` and shake hands within ``timeout``.

    Returns the TLS socket (``None`` when the handshake failed; it is closed then) and what
    was seen. A server that closes or resets during the handshake is a ``handshake``
    failure; one that stays silent raises ``TimeoutError`` for the caller to judge.
    """
    name = settings.server_name
    tls = context_for(settings).wrap_socket(sock, server_hostname=name, do_handshake_on_connect=False)
    tls.settimeout(timeout)
    try:
        tls.do_handshake()
    except TimeoutError:
        tls.close()
        raise
    except OSError as exc:  # ssl.SSLError is an OSError
        tls.close()
        return None, _failure(exc, name, since())
    return tls, _observed(tls, name, since())


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
    alert = reason.removeprefix("TLSV1_ALERT_").removeprefix("SSLV3_ALERT_").removeprefix("TLSV1_")
    return TlsObservation(name, handshake_s, failure=TlsFailure.HANDSHAKE, detail=alert.lower())


def _observed(tls: ssl.SSLSocket, name: str | None, handshake_s: float) -> TlsObservation:
    cert: dict[str, Any] = tls.getpeercert() or {}
    names = tuple(value for kind, value in cert.get("subjectAltName", ()) if kind in ("DNS", "IP Address"))
    issuer = ", ".join(f"{k}={v}" for rdn in cert.get("issuer", ()) for k, v in rdn) or None
    expires = None
    if "notAfter" in cert:
        expires = round((ssl.cert_time_to_seconds(cert["notAfter"]) - time.time()) / 86400, 1)
    return TlsObservation(
        name,
        handshake_s,
        version=tls.version(),
        alpn=tls.selected_alpn_protocol(),
        subject_names=names,
        issuer=issuer,
        expires_in_days=expires,
    )

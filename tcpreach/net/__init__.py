"""Gathering from the network: DNS answers (dnspython), one TCP connection observed, a TLS
handshake observed. No judging here."""

__all__ = []

r"""A loopback stand-in that speaks just enough SMTP, IMAP or POP3 to upgrade with STARTTLS,
and a challenge/response service for dialogues with captures.

Not a mail server: each protocol's greeting, the few commands a STARTTLS check sends, the
upgrade with the given TLS context, and the goodbye with a close. ``refuse_starttls``
answers the upgrade with the protocol's refusal (SMTP ``454``, IMAP ``NO``, POP3 ``-ERR``),
as a server without a certificate does. The real daemons are met in the edge tier.
"""

from __future__ import annotations

import contextlib
import socket
import ssl

from tcpreach.testing.standins import _ConnectionServer

__all__ = ["PROTOCOLS", "MailStandIn"]

PROTOCOLS = ("smtp", "imap", "pop3", "challenge")
_GREETING = {
    "smtp": b"220-mail.test ESMTP stand-in\r\n220 mail.test ready\r\n",
    "imap": b"* OK [CAPABILITY IMAP4rev1 STARTTLS] stand-in ready\r\n",
    "pop3": b"+OK stand-in ready\r\n",
    "challenge": b"NONCE 4711\r\n",
}


class MailStandIn(_ConnectionServer):
    """Serves ``protocol`` on ``host`` (a context manager): ``context`` is the server's TLS
    context for the upgrade. Each connection runs in its own thread, joined by ``stop()``."""

    def __init__(
        self,
        protocol: str,
        context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        *,
        refuse_starttls: bool = False,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"no stand-in for {protocol!r}: {', '.join(PROTOCOLS)}")
        self.protocol, self.context, self.refuse_starttls = protocol, context, refuse_starttls
        self.lines: list[bytes] = []
        """Every line the clients sent, in order (plaintext and decrypted alike)."""
        super().__init__(host, 0, f"mail-{protocol}", backlog=64)

    def _answer(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):
            conn.settimeout(5)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sendall(_GREETING[self.protocol])
            channel: socket.socket | ssl.SSLSocket = conn
            with contextlib.ExitStack() as readers:
                reader = readers.enter_context(conn.makefile("rb"))
                while line := reader.readline(1024):
                    self.lines.append(line)
                    reply, upgrade, close = self._reply(line.strip(), channel is not conn)
                    channel.sendall(reply)
                    if upgrade and self.context is not None:
                        channel = self.context.wrap_socket(conn, server_side=True)
                        reader = readers.enter_context(channel.makefile("rb"))
                    if close:
                        break
            if isinstance(channel, ssl.SSLSocket):
                with contextlib.suppress(OSError, ValueError):
                    channel.unwrap()
                channel.close()
        conn.close()

    def _reply(self, line: bytes, secure: bool) -> tuple[bytes, bool, bool]:
        """The reply to one command, whether TLS starts after it, whether the server closes."""
        word = line.split(b" ")
        tag = word[0] + b" " if self.protocol == "imap" else b""
        command = (word[1] if self.protocol == "imap" and len(word) > 1 else word[0]).upper()
        refuse = self.refuse_starttls or self.context is None or secure
        if self.protocol == "smtp":
            return {
                b"EHLO": (b"250-mail.test\r\n250-PIPELINING\r\n" + (b"" if secure else b"250-STARTTLS\r\n")
                          + b"250 8BITMIME\r\n", False, False),
                b"STARTTLS": (b"454 4.7.0 TLS not available\r\n", False, False) if refuse
                else (b"220 2.0.0 Ready to start TLS\r\n", True, False),
                b"QUIT": (b"221 2.0.0 Bye\r\n", False, True),
            }.get(command, (b"502 5.5.2 Error: command not recognized\r\n", False, False))  # fmt: skip
        if self.protocol == "imap":
            return {
                b"STARTTLS": (tag + b"NO TLS not available\r\n", False, False) if refuse
                else (tag + b"OK Begin TLS negotiation now\r\n", True, False),
                b"CAPABILITY": (b"* CAPABILITY IMAP4rev1\r\n" + tag + b"OK done\r\n", False, False),
                b"LOGOUT": (b"* BYE Logging out\r\n" + tag + b"OK Logout completed\r\n", False, True),
            }.get(command, (tag + b"BAD unknown command\r\n", False, False))  # fmt: skip
        if self.protocol == "pop3":
            return {
                b"STLS": (b"-ERR TLS not available\r\n", False, False) if refuse
                else (b"+OK Begin TLS negotiation\r\n", True, False),
                b"CAPA": (b"+OK\r\nTOP\r\nUIDL\r\n.\r\n", False, False),
                b"QUIT": (b"+OK Logging out\r\n", False, True),
            }.get(command, (b"-ERR unknown command\r\n", False, False))  # fmt: skip
        answer = b"OK welcome\r\n" if line == b"ECHO 4711" else b"ERR wrong nonce\r\n"
        return answer, False, True

"""The machine's own view: which TCP sockets listen, on which addresses, what each accepts,
and what that means for a proxy that must reach the app.

Read from ``/proc/net/tcp`` and ``/proc/net/tcp6`` (no ``netstat`` or ``ss``: slim images
have neither), or from their text given by the user (``--proc -``, for an image without
Python: ``fly ssh console -C "cat /proc/net/tcp /proc/net/tcp6"``). The owner of each
socket comes from ``/proc/PID/fd`` where permissions allow, as ``netstat -p`` finds it.

Whether an IPv6 wildcard accepts IPv4 too (``IPV6_V6ONLY`` off: ``ss`` prints ``*:1848``
against ``[::]:1848``) is not in ``/proc``: on the machine itself it is found out by a
connect to 127.0.0.1, which only loopback sees; from text alone it stays unknown, and the
report says so.

Standard library only, with ``tcpreach.findings``: the hello image carries this module, so
``python3 -m tcpreach.machine.listeners`` runs in it.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import sys
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tcpreach.findings import Finding, FindingCode, Severity, format_finding

__all__ = [
    "Accepts",
    "Listener",
    "accepting",
    "gather",
    "judge_listeners",
    "listeners_json",
    "main",
    "owners",
    "parse_proc",
    "read_proc",
    "render",
]

_LISTEN = "0A"


class Accepts:
    """What a listening socket accepts."""

    IPV4 = "ipv4-only"
    IPV6 = "ipv6-only"
    DUAL = "dual-stack"
    LOOPBACK = "loopback-only"
    UNKNOWN = "ipv6, ipv4 unknown"
    """An IPv6 wildcard read from text: whether IPV6_V6ONLY is on is not in /proc."""


@dataclass(frozen=True)
class Listener:
    """One listening TCP socket."""

    family: str
    """``ipv4`` or ``ipv6``."""
    address: str
    port: int
    inode: int
    accepts: str = Accepts.UNKNOWN
    pid: int | None = None
    process: str | None = None
    """The owner's name (``/proc/PID/comm``), when this user may see it."""

    @property
    def endpoint(self) -> str:
        return f"[{self.address}]:{self.port}" if self.family == "ipv6" else f"{self.address}:{self.port}"


def _address(raw: str) -> str:
    """``0100007F`` is 127.0.0.1: each 32-bit word of /proc's hex is in host (little-endian) order."""
    words = bytes.fromhex(raw)
    packed = b"".join(words[i : i + 4][::-1] for i in range(0, len(words), 4))
    return str(ipaddress.ip_address(packed))


def parse_proc(text: str) -> list[Listener]:
    """The listening sockets in the text of ``/proc/net/tcp``, ``/proc/net/tcp6`` or both
    one after the other (the family from each address's width). Other states and header
    lines are left out; a line that is not /proc's raises ``ValueError`` naming it."""
    found: list[Listener] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] == "sl":
            continue
        try:
            local, state, inode = fields[1], fields[3], int(fields[9])
            raw_address, raw_port = local.split(":")
            if state != _LISTEN:
                continue
            family = {8: "ipv4", 32: "ipv6"}[len(raw_address)]
            found.append(Listener(family, _address(raw_address), int(raw_port, 16), inode))
        except (IndexError, KeyError, ValueError):
            raise ValueError(f"line {number} is not a line of /proc/net/tcp or tcp6: {line.strip()[:80]!r}") from None
    return found


def read_proc(proc: Path = Path("/proc")) -> str:
    """The text of this network namespace's /proc/net/tcp and tcp6 (the calling thread's)."""
    texts = []
    for name in ("tcp", "tcp6"):
        for where in (proc / "thread-self" / "net" / name, proc / "net" / name):
            try:
                texts.append(where.read_text(encoding="ascii"))
                break
            except OSError:
                continue
    return "".join(texts)


def owners(inodes: Iterable[int], proc: Path = Path("/proc")) -> dict[int, tuple[int, str]]:
    """The process (PID, name) holding each socket inode, where this user may look."""
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    found: dict[int, tuple[int, str]] = {}
    for entry in proc.iterdir() if wanted else ():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
            name = (entry / "comm").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue  # another user's process, or one that just ended
        for fd in fds:
            try:
                link = os.readlink(fd)
            except OSError:
                continue  # closed since it was listed (the listing's own descriptor, say)
            if link in wanted:
                found.setdefault(wanted[link], (int(entry.name), name))
    return found


def _v6only(port: int) -> bool:
    """An IPv6 wildcard on ``port`` with no IPv4 listener beside it: does 127.0.0.1 reach it?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def accepting(listeners: Sequence[Listener], live: bool, ports: Collection[int] | None = None) -> list[Listener]:
    """Each listener with what it accepts. An IPv6 wildcard with no IPv4 listener on its
    port is tested with a connect to 127.0.0.1 when ``live`` (this machine) and its port is
    one of ``ports`` (any port when ``None``), else unknown."""
    ipv4_ports = {item.port for item in listeners if item.family == "ipv4"}
    judged = []
    for item in listeners:
        ip = ipaddress.ip_address(item.address)
        if ip.is_loopback:
            accepts = Accepts.LOOPBACK
        elif item.family == "ipv4":
            accepts = Accepts.IPV4
        elif not ip.is_unspecified:
            accepts = Accepts.IPV6
        elif item.port in ipv4_ports:
            accepts = Accepts.IPV6  # both families are listened for apart: the kernel made this one v6only
        elif live and (ports is None or item.port in ports):
            accepts = Accepts.IPV6 if _v6only(item.port) else Accepts.DUAL
        else:
            accepts = Accepts.UNKNOWN
        judged.append(replace(item, accepts=accepts))
    return judged


_REMEDY = (
    "bind [::] with IPV6_V6ONLY off (one dual-stack socket, as socket.create_server(('::', PORT), "
    "family=socket.AF_INET6, dualstack_ipv6=True)), or 0.0.0.0 and [::] both; on Fly.io, an app reached only "
    "over the private network may bind fly-local-6pn"
)


def judge_listeners(listeners: Sequence[Listener], port: int, said_by: str = "") -> list[Finding]:
    """What the listeners mean for a proxy that must reach ``port`` over IPv4 (Fly's proxy)
    and IPv6 (Fly's private network, ``.internal`` names)."""
    on_port = [item for item in listeners if item.port == port]
    remedy = _REMEDY.replace("PORT", str(port))
    if not on_port:
        others = sorted({item.port for item in listeners if item.accepts != Accepts.LOOPBACK})
        elsewhere = f": {', '.join(map(str, others))} listening, the app's port is {port}{said_by}" if others else ""
        return [Finding(FindingCode.NO_LISTENER, Severity.ERROR, f"nothing listens on port {port}{elsewhere}",
                        f"start the app, or make it listen on {port}; or set internal_port to the port it listens "
                        "on")]  # fmt: skip
    kinds = {item.accepts for item in on_port}
    listed = ", ".join(item.endpoint for item in on_port)
    if kinds == {Accepts.LOOPBACK}:
        return [Finding(FindingCode.LISTENER_LOOPBACK_ONLY, Severity.ERROR,
                        f"port {port} listens on loopback only ({listed}): no proxy or other machine can reach it",
                        remedy)]  # fmt: skip
    ipv4 = kinds & {Accepts.IPV4, Accepts.DUAL}
    ipv6 = kinds & {Accepts.IPV6, Accepts.DUAL}
    if kinds & {Accepts.UNKNOWN} and not ipv4:
        return [Finding(FindingCode.LISTENER_FAMILIES_UNKNOWN, Severity.WARNING,
                        f"port {port} listens on the IPv6 wildcard ({listed}); whether it accepts IPv4 too "
                        "(IPV6_V6ONLY off) is not in /proc", "run 'python3 -m tcpreach.machine.listeners' on the "
                        "machine itself, or probe the app's private IPv4 from it")]  # fmt: skip
    if not ipv6:
        return [Finding(FindingCode.LISTENER_IPV4_ONLY, Severity.ERROR,
                        f"port {port} listens on IPv4 only ({listed}): Fly's private network and .internal names "
                        "are IPv6, and cannot reach it", remedy)]  # fmt: skip
    if not ipv4:
        return [Finding(FindingCode.LISTENER_IPV6_ONLY, Severity.ERROR,
                        f"port {port} listens on IPv6 only ({listed}, IPV6_V6ONLY on): the proxy's IPv4 path is "
                        "refused", remedy)]  # fmt: skip
    return [Finding(FindingCode.LISTENER_OK, Severity.INFO, f"port {port} accepts IPv4 and IPv6 ({listed})")]


def listeners_json(listeners: Sequence[Listener], findings: Sequence[Finding], source: str) -> dict[str, object]:
    return {
        "source": source,
        "listeners": [asdict(item) for item in listeners],
        "findings": [
            {"code": str(f.code), "severity": str(f.severity), "message": f.message, "remedy": f.remedy}
            for f in findings
        ],
    }


def render(listeners: Sequence[Listener], findings: Sequence[Finding], source: str) -> str:
    rows = [("FAMILY", "ADDRESS", "PORT", "ACCEPTS", "PROCESS")]
    rows += [
        (item.family, item.address, str(item.port), item.accepts,
         f"{item.process} ({item.pid})" if item.pid is not None else "-")
        for item in listeners
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines = [f"TCP listeners ({source})", *table]
    lines += [format_finding(f) for f in findings]
    return "\n".join(lines)


def gather(text: str | None, port: int | None, said_by: str = "") -> tuple[list[Listener], list[Finding], str]:
    """The listeners (from ``text``, or this machine's /proc when ``None``), with what each
    accepts and who owns it (with a ``port``, those on it, or all when none is), the findings
    against ``port``, and where they were read."""
    live = text is None
    source = "/proc/net/tcp and tcp6 of this machine" if live else "the /proc text given"
    found = parse_proc(read_proc() if text is None else text)
    if live:
        owned = owners(item.inode for item in found)
        found = [replace(item, pid=owned[item.inode][0], process=owned[item.inode][1]) if item.inode in owned
                 else item for item in found]  # fmt: skip
        source += "" if owned or not found else "; no owner visible to this user"
    else:
        source += "; owners and IPV6_V6ONLY are not in it"
    # Those on the app's port are shown, or every one when none is (the finding names what
    # listens instead); only those shown are connected to, to learn what a wildcard accepts.
    shown = None if port is None or all(item.port != port for item in found) else {port}
    found = accepting(found, live, shown)
    if port is None:
        return found, [], source
    on_port = [item for item in found if item.port == port]
    return on_port or found, judge_listeners(found, port, said_by), source


def main(argv: Sequence[str] | None = None) -> int:
    """``python3 -m tcpreach.machine.listeners [--port N] [--json] [--proc FILE|-]``."""
    parser = argparse.ArgumentParser(prog="python3 -m tcpreach.machine.listeners", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=None, help="the app's port, to judge the listeners against")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--proc", default=None, metavar="FILE", help="the text of /proc/net/tcp[6], or - for stdin")
    args = parser.parse_args(argv)
    try:
        text = None if args.proc is None else sys.stdin.read() if args.proc == "-" else Path(args.proc).read_text()
        found, findings, source = gather(text, args.port)
    except OSError as exc:
        sys.stderr.write(f"{parser.prog}: error: cannot read {args.proc}: {exc.strerror}\n")
        return 2
    except ValueError as exc:
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        return 2
    shown = (
        json.dumps(listeners_json(found, findings, source), indent=2) if args.json else render(found, findings, source)
    )
    sys.stdout.write(shown + "\n")
    return 1 if any(f.severity is Severity.ERROR for f in findings) else 0


if __name__ == "__main__":
    sys.exit(main())

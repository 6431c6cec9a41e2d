"""What the fly.toml lint needs from a Dockerfile: platform pins, EXPOSEd ports and the port
the server is told to listen on. Pure: text in, a ``Dockerfile`` out."""

from __future__ import annotations

import itertools
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tcpreach.options import DEFAULT_PORT
from tcpreach.settings.ports import port_number

__all__ = ["Dockerfile", "parse_dockerfile"]


@dataclass(frozen=True)
class Dockerfile:
    """What the lint needs from a Dockerfile."""

    platform_pins: tuple[int, ...] = ()
    """Line numbers of FROM --platform=..."""
    exposed: tuple[int, ...] = ()
    listen_port: int | None = None
    """From CMD/ENTRYPOINT --port N, or ENV PORT."""
    listen_port_line: int | None = None


def _instructions(text: str) -> Iterator[tuple[int, str, str]]:
    """(first line number, INSTRUCTION, arguments), continuation lines joined. As Docker
    does, blank and comment lines are dropped, also inside a continuation."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = " ".join(pending).strip()
        pending = []
        word, _, rest = joined.partition(" ")
        yield start, word.upper(), rest.strip()


def _port_flag(words: list[str]) -> int | None:
    for i, word in enumerate(words):
        if word == "--port" and i + 1 < len(words) and port_number(words[i + 1]) is not None:
            return port_number(words[i + 1])
        if word.startswith("--port=") and port_number(word[7:]) is not None:
            return port_number(word[7:])
    return None


def _runs_hello(words: list[Any]) -> bool:
    """``python3 -m server``: this repository's hello server."""
    texts = [str(w) for w in words]
    return any(a == "-m" and b == "server" for a, b in itertools.pairwise(texts))


def parse_dockerfile(text: str) -> Dockerfile:
    """The lines that pin a platform, the EXPOSEd ports, and the server's port with its line:
    a ``--port`` in the last CMD or ENTRYPOINT that has one wins over ``ENV PORT`` (the
    server's own precedence), and a later ENV over an earlier one (Docker's)."""
    pins: list[int] = []
    exposed: list[int] = []
    flag: tuple[int, int] | None = None
    """(port, line)."""
    env: tuple[int, int] | None = None
    for number, word, rest in _instructions(text):
        if word == "FROM" and "--platform" in rest:
            pins.append(number)
        elif word == "EXPOSE":
            exposed += [n for p in rest.split() if (n := port_number(p.split("/")[0])) is not None]
        elif word == "ENV":
            match = re.search(r"(?:^|\s)PORT(?:=|\s+)([0-9]+)", rest)
            port = port_number(match[1]) if match else None
            if port is not None:
                env = (port, number)
        elif word in ("CMD", "ENTRYPOINT"):
            try:
                words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
            except ValueError:  # json.JSONDecodeError is one
                words = rest.split()
            port = _port_flag([str(w) for w in words])
            if port is None and _runs_hello(words) and not any(str(w).startswith("--port") for w in words):
                port = DEFAULT_PORT  # the hello server without --port listens on its default
            if port is not None:
                flag = (port, number)
    listen, line = flag or env or (None, None)
    return Dockerfile(tuple(pins), tuple(exposed), listen, line)

"""Colour for a terminal: the severity of each finding and the verdict of each row, painted
over the plain text the reports make (which stays the same everywhere else).

Only when the output is a terminal, ``NO_COLOR`` is unset or empty (https://no-color.org)
and ``TERM`` is not ``dumb``. The codes are added after the columns are padded, so the
table keeps its alignment.
"""

from __future__ import annotations

import os
import re
from typing import IO

__all__ = ["paint", "wants_colour"]

_RESET = "\033[0m"
_RED, _YELLOW, _GREEN, _DIM = "\033[31m", "\033[33m", "\033[32m", "\033[2m"
_SEVERITY = re.compile(r"^(ERROR|WARNING|INFO)(?= )", re.MULTILINE)
_SEVERITY_COLOUR = {"ERROR": _RED, "WARNING": _YELLOW, "INFO": _DIM}


def wants_colour(out: IO[str]) -> bool:
    """A terminal, and neither ``NO_COLOR`` nor ``TERM=dumb`` says otherwise."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM", "") == "dumb":
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty is not None and isatty())


def _rows(lines: list[str]) -> None:
    """Each table's VERDICT cells: green for ``ok``, red for any other verdict."""
    start = end = None
    for number, line in enumerate(lines):
        if line.startswith("FAMILY ") and "VERDICT" in line:
            start = line.index("VERDICT")
            end = line.index("  ", start) if "  " in line[start:] else len(line)
            while end < len(line) and line[end] == " ":
                end += 1
            continue
        if start is None or end is None or not line.startswith(("ipv4 ", "ipv6 ")):
            start = end = None
            continue
        cell = line[start:end].rstrip()
        colour = _GREEN if cell == "ok" else _RED
        lines[number] = f"{line[:start]}{colour}{cell}{_RESET}{line[start + len(cell) :]}"


def paint(text: str) -> str:
    """``text`` (a report as ``format_report`` makes it) with its severities and verdicts coloured."""
    lines = text.split("\n")
    _rows(lines)
    return _SEVERITY.sub(lambda m: f"{_SEVERITY_COLOUR[m.group(1)]}{m.group(1)}{_RESET}", "\n".join(lines))

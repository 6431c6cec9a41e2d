"""Reading whole documents a user gives (JSON reports, TOML configurations, text): one
layer for every command, the plugin and the exporter. Bounded in size, nesting and number
length, decoded strictly; whatever is wrong ends in one ``UsageError`` naming the file
(and its line, where there is one), never a traceback. ``-`` is standard input."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

from tcpreach.errors import UsageError
from tcpreach.settings.inputs import MAX_FILE_BYTES, read_small_file

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "STDIN", "parse_json", "parse_toml", "read_document", "read_text"]

STDIN = "-"
MAX_DEPTH = 64
"""Arrays and tables nested deeper than this are no document of ours (a report nests 6)."""
MAX_DIGITS = 30
"""A number with more digits than this is no value of ours (ports, seconds, counts)."""


def _name(path: Path) -> str:
    return "standard input" if str(path) == STDIN else str(path)


def read_text(path: Path, what: str, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of ``path`` (``-``: standard input) that a user gave as ``what``."""
    name = _name(path)
    if str(path) != STDIN:
        raw = read_small_file(path, what, limit=limit)
    else:
        try:
            raw = sys.stdin.buffer.read(limit + 1)
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror}") from None
        if len(raw) > limit:
            raise UsageError(f"{name} is over {limit // 1024} KiB: that is not {what}, and it is not read")
    if b"\x00" in raw:
        raise UsageError(f"{name} holds a NUL byte at byte {raw.index(0)}: that is not {what}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None


def _too_deep(text: str, opening: str, closing: str) -> int | None:
    """The line where brackets outside strings first nest deeper than ``MAX_DEPTH``."""
    depth, line, quote, escaped = 0, 1, "", False
    for char in text:
        if char == "\n":
            line += 1
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in opening:
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif char in closing:
            depth -= 1
    return None


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number of {len(text.lstrip('-')):,} digits")
    return int(text)


def parse_json(text: str, name: str, what: str) -> Any:
    """``text`` as JSON. Raises ``UsageError`` naming ``name`` (and the line)."""
    line = _too_deep(text, "[{", "]}")
    if line is not None:
        raise UsageError(f"{name}:{line}: nested over {MAX_DEPTH} levels deep: that is not {what}")
    try:
        return json.loads(text, parse_int=_int, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name}:{exc.lineno}: not JSON: {exc.msg} (column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{name}: not {what}: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is no JSON value")


def parse_toml(text: str, name: str, what: str) -> dict[str, Any]:
    """``text`` as TOML. Raises ``UsageError`` naming ``name`` (and the line)."""
    line = _too_deep(text, "[{", "]}")
    if line is not None:
        raise UsageError(f"{name}:{line}: nested over {MAX_DEPTH} levels deep: that is not {what}")
    try:
        return tomllib.loads(text, parse_float=_float)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{name}: not valid TOML: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{name}: not {what}: {exc}") from None


def _float(text: str) -> float:
    if len(text) > MAX_DIGITS + 10:
        raise ValueError(f"a number of {len(text):,} characters")
    return float(text)


def read_document(path: Path, what: str, limit: int = MAX_FILE_BYTES) -> Any:
    """A JSON document from ``path`` (``-``: standard input)."""
    return parse_json(read_text(path, what, limit), _name(path), what)

r"""Bytes as typed on a command line, and back: ``hello\n`` is ``b"hello\n"``.

The escapes are few and strict: ``\n \r \t \\ \0 \xHH``; any other backslash sequence
is an error, so a typo such as ``\q`` is never taken literally. Other text is UTF-8.
"""

from __future__ import annotations

__all__ = ["abbreviated", "escaped", "parse_escapes"]

_SIMPLE = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", "0": b"\0"}
_SHOWN = {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord("\\"): "\\\\"}
_HEX = frozenset("0123456789abcdefABCDEF")


def parse_escapes(text: str) -> bytes:
    r"""``hello\r\n`` into ``b"hello\r\n"``; raises ``ValueError`` naming the bad escape."""
    out = bytearray()
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\":
            out += char.encode("utf-8", "surrogateescape")
            i += 1
            continue
        code = text[i + 1 : i + 2]
        if code in _SIMPLE:
            out += _SIMPLE[code]
            i += 2
        elif code == "x" and len(digits := text[i + 2 : i + 4]) == 2 and set(digits) <= _HEX:
            out.append(int(digits, 16))
            i += 4
        elif not code:
            raise ValueError("a lone backslash at the end (write \\\\ for a backslash)")
        else:
            raise ValueError(
                f"unknown escape '\\{text[i + 1 : i + 4] if code == 'x' else code}' at position {i}: "
                "use \\n \\r \\t \\\\ \\0 or \\xHH"
            )
    return bytes(out)


def escaped(data: bytes) -> str:
    r"""``b"hello\n"`` as ``hello\n``: the inverse of ``parse_escapes``."""
    return "".join(_SHOWN.get(b, chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in data)


def abbreviated(data: bytes, limit: int = 64) -> str:
    r"""``escaped`` for a line of a report: past ``limit`` bytes, the first ``limit`` and the size.

    ``b"x" * 4_000_000`` reads ``xxx...x... (4000000 bytes)``, not four million characters.
    """
    if len(data) <= limit:
        return escaped(data)
    return f"{escaped(data[:limit])}... ({len(data)} bytes)"

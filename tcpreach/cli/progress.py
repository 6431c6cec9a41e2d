"""A progress line on a terminal for runs that take a while: targets judged, failures so far.

Written to standard error only when it is a terminal whose ``TERM`` is not ``dumb`` (and
not when asked to be quiet: JSON going to a pipe), and only once a run has lasted a second;
cleared when the run ends. ``NO_COLOR`` changes
nothing: the line has no colour.
"""

from __future__ import annotations

import os
import time
from types import TracebackType
from typing import IO

from tcpreach.model import TargetOutcome, Verdict

__all__ = ["Progress"]

_AFTER_S = 1.0
_EVERY_S = 0.1


class Progress:
    def __init__(self, stream: IO[str], total: int | None = None, *, hosts: int = 0, quiet: bool = False) -> None:
        self.stream, self.total, self.hosts = stream, total, hosts
        self.judged = self.failing = self.hosts_done = 0
        self._start = time.monotonic()
        self._shown_at = 0.0
        self._shown = False
        isatty = getattr(stream, "isatty", lambda: False)
        self.enabled = not quiet and bool(isatty()) and os.environ.get("TERM", "") != "dumb"

    def done(self, outcome: TargetOutcome) -> None:
        """One more target judged."""
        self.judged += 1
        self.failing += outcome.verdict is not Verdict.OK
        self._show()

    def host_done(self) -> None:
        """One more host reported (of ``hosts``: a fleet's count of its own)."""
        self.hosts_done += 1
        self._show()

    def _show(self) -> None:
        now = time.monotonic()
        if self.enabled and now - self._start >= _AFTER_S and now - self._shown_at >= _EVERY_S:
            of = f" of {self.total}" if self.total else ""
            fleet = f"{self.hosts_done} of {self.hosts} hosts, " if self.hosts > 1 else ""
            self.stream.write(f"\r{fleet}{self.judged}{of} targets judged, {self.failing} failing\x1b[K")
            self.stream.flush()
            self._shown_at, self._shown = now, True

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

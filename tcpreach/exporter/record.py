"""One probe the exporter made: plain data, what the metrics and the status page show."""

from __future__ import annotations

from dataclasses import dataclass

from tcpreach.exporter.budget import Budget
from tcpreach.model import HostReport
from tcpreach.outcomes import passes

__all__ = ["ProbeRecord"]


@dataclass(frozen=True)
class ProbeRecord:
    module: str
    target: str
    """As Prometheus gave it: ``host`` or ``host:port``."""
    report: HostReport
    budget: Budget
    dns_s: float | None
    """Seconds the DNS lookup took (``None``: a literal address, nothing was asked)."""
    duration_s: float
    """Seconds from the request to the last verdict."""
    finished_at: float
    """Unix time."""
    refused: tuple[tuple[str, str], ...] = ()
    """Addresses the name resolved to that the policy forbids, each with why: not probed."""

    @property
    def success(self) -> bool:
        """Every address answered as expected and no finding is an error."""
        return passes(self.report)

"""Conclusions about a deployment: a finding has a stable code, a severity, a message saying
what was seen and a remedy saying what to do. Plain data, shared by the live diagnosis and
the fly.toml lint."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One conclusion about a deployment, with a stable code and what to do about it."""

    code: str
    severity: Severity
    message: str
    remedy: str = ""
    addresses: tuple[str, ...] = field(default=())
    """The targets it explains, if any."""


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]


def findings_for(findings: Iterable[Finding], address: str) -> list[Finding]:
    """The findings that explain one target (for a per-target failure message)."""
    return [f for f in findings if address in f.addresses]

"""Conclusions about a deployment: a finding has a stable code, a severity, a message saying
what was seen and a remedy saying what to do. Plain data, shared by the live diagnosis, the
fly.toml lint and the listener reader, with the one way to show a finding on a terminal.
Standard library only: the hello image carries this module."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["CLIENT_FACTS", "Finding", "FindingCode", "Severity", "errors", "findings_for", "format_finding"]


class FindingCode(StrEnum):
    """Every finding's stable code: what reports, JSON, metric labels and tests name."""

    INVALID_NAME = "invalid-name"
    NXDOMAIN = "nxdomain"
    DANGLING_CNAME = "dangling-cname"
    DNS_TIMEOUT = "dns-timeout"
    DNS_ERROR = "dns-error"
    NO_A = "no-a"
    NO_AAAA = "no-aaaa"
    NO_ADDRESS = "no-address"
    DNS_MISMATCH = "dns-mismatch"
    ALL_OK = "all-ok"
    FLY_SHARED_IPV4 = "fly-shared-ipv4"
    FLY_SHARED_IPV4_SUSPECTED = "fly-shared-ipv4-suspected"
    EDGE_NO_APP = "edge-no-app"
    IPV4_ONLY_LISTENER = "ipv4-only-listener"
    IPV6_ONLY_LISTENER = "ipv6-only-listener"
    CLIENT_WITHOUT_IPV4 = "client-without-ipv4"
    CLIENT_WITHOUT_IPV6 = "client-without-ipv6"
    SERVICE_DOWN = "service-down"
    FAILING_TARGETS = "failing-targets"
    INTERMITTENT = "intermittent"
    LOSSY_PATH = "lossy-path"
    TLS_EXPIRES_SOON = "tls-expires-soon"
    TLS_NO_SNI = "tls-no-sni"
    TLS_NOT_VERIFIED = "tls-not-verified"
    FLY_TLS_SNI_ONLY = "fly-tls-sni-only"
    TOML_SYNTAX = "toml-syntax"
    DOCKERFILE_UNUSABLE = "dockerfile-unusable"
    BAD_TYPE = "bad-type"
    BAD_VALUE = "bad-value"
    BAD_DURATION = "bad-duration"
    MISSING_KEY = "missing-key"
    UNKNOWN_KEY = "unknown-key"
    MISPLACED_KEY = "misplaced-key"
    IGNORED_KEY = "ignored-key"
    HTTP_SERVICE_FOR_RAW_TCP = "http-service-for-raw-tcp"
    NO_SERVICES = "no-services"
    NO_PORTS = "no-ports"
    PORT_MISMATCH = "port-mismatch"
    HANDLERS_ON_RAW_TCP = "handlers-on-raw-tcp"
    TLS_HANDLER = "tls-handler"
    TLS_OPTIONS_UNUSED = "tls-options-unused"
    NO_HEALTH_CHECK = "no-health-check"
    KILL_SIGNAL_UNHANDLED = "kill-signal-unhandled"
    PLATFORM_PIN = "platform-pin"
    NEEDS_DEDICATED_IPV4 = "needs-dedicated-ipv4"
    NO_LISTENER = "no-listener"
    LISTENER_LOOPBACK_ONLY = "listener-loopback-only"
    LISTENER_IPV4_ONLY = "listener-ipv4-only"
    LISTENER_IPV6_ONLY = "listener-ipv6-only"
    LISTENER_FAMILIES_UNKNOWN = "listener-families-unknown"
    LISTENER_OK = "listener-ok"
    VANTAGES_DISAGREE = "vantages-disagree"
    FAMILY_UNTESTED = "family-untested"


CLIENT_FACTS = frozenset({FindingCode.CLIENT_WITHOUT_IPV4, FindingCode.CLIENT_WITHOUT_IPV6})
"""Findings about this client, not the service: a family it has no route for. A note
beside the service's status, never its cause."""


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One conclusion about a deployment, with a stable code and what to do about it: a live
    finding names the addresses it explains, a lint finding the key of the file it is about."""

    code: FindingCode
    severity: Severity
    message: str
    remedy: str = ""
    addresses: tuple[str, ...] = field(default=())
    """The targets it explains, if any."""
    key: str = ""
    """Where in a file: ``services[0].ports[0].handlers``, ``Dockerfile:3`` (the lint's findings)."""


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]


def findings_for(findings: Iterable[Finding], address: str) -> list[Finding]:
    """The findings that explain one target (for a per-target failure message)."""
    return [f for f in findings if address in f.addresses]


def format_finding(finding: Finding, count: int = 1, width: int | None = None) -> str:
    """``ERROR    code: message`` (``code at key:`` for a finding about a file), then its fix;
    ``count`` findings alike but for an index are shown as one. With ``width`` (a
    terminal's), each is wrapped between words, continued under the text."""
    where = f" at {finding.key}" if finding.key else ""
    more = f" (and {count - 1} more like it)" if count > 1 else ""
    line = f"{str(finding.severity).upper():7}  {finding.code}{where}: {finding.message}{more}"
    fix = f"         fix: {finding.remedy}" if finding.remedy else ""
    if width is not None:
        indent = " " * 9
        line = textwrap.fill(line, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
        fix = textwrap.fill(fix, width, subsequent_indent=indent + "     ", break_long_words=False,
                            break_on_hyphens=False) if fix else ""  # fmt: skip
    return f"{line}\n{fix}" if fix else line

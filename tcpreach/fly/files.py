"""Reading a fly.toml and the Dockerfile it builds, for the lint: the files' problems a
user can fix are usage errors, everything inside a readable file is a finding."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tcpreach.errors import UsageError
from tcpreach.findings import Finding, FindingCode, Severity
from tcpreach.fly.dockerfile import Dockerfile, parse_dockerfile
from tcpreach.fly.lint import lint_config
from tcpreach.settings.inputs import read_small_file

__all__ = [
    "LintInputError",
    "app_name",
    "grouped",
    "internal_port_of",
    "lint_path",
    "parse_error",
    "predicts_dedicated_ipv4",
    "predicts_for",
]


class LintInputError(UsageError):
    """The file cannot be linted (missing, unreadable): a usage error."""


def parse_error(exc: tomllib.TOMLDecodeError, path: str) -> Finding:
    match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    where = f"{path}:{match[1]}:{match[2]}" if match else path
    reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
    line_col = f"line {match[1]}, column {match[2]}: " if match else ""
    return Finding(FindingCode.TOML_SYNTAX, Severity.ERROR, f"{path} is not valid TOML: {line_col}{reason}",
                   "fix the syntax at that line; fly.toml is TOML (toml.io)", key=where)  # fmt: skip


def lint_path(path: Path, server_port: int | None = None) -> tuple[list[Finding], Path | None]:
    """Lint a fly.toml and the Dockerfile its ``[build]`` points at (default: beside it).

    Raises ``LintInputError`` (a usage error) for a file that is missing, a directory, not
    UTF-8 or over 1 MiB; everything inside a readable file is a finding.
    """
    raw = read_small_file(path, "a fly.toml", LintInputError)
    try:
        config = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LintInputError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except tomllib.TOMLDecodeError as exc:
        return [parse_error(exc, str(path))], None
    except RecursionError:
        return [Finding(FindingCode.TOML_SYNTAX, Severity.ERROR, f"{path} nests arrays or tables too deeply to be a "
                        "fly.toml", "a fly.toml nests a few levels at most", key=str(path))], None  # fmt: skip
    build_table = config.get("build")
    build: Mapping[str, Any] = build_table if isinstance(build_table, Mapping) else {}
    dockerfile_path: Path | None = None
    dockerfile: Dockerfile | None = None
    if not build.get("image"):
        named = build.get("dockerfile", "Dockerfile")
        dockerfile_path = path.parent / (named if isinstance(named, str) else "Dockerfile")
        try:
            dockerfile = parse_dockerfile(
                read_small_file(dockerfile_path, "a Dockerfile", LintInputError).decode("utf-8")
            )
        except (LintInputError, UnicodeDecodeError) as exc:
            why = f"{dockerfile_path} is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
            problem = Finding(FindingCode.DOCKERFILE_UNUSABLE, Severity.ERROR, f"{why}: the build would fail",
                              "set [build] dockerfile to the Dockerfile's path, relative to fly.toml",
                              key="build.dockerfile")  # fmt: skip
            return [*lint_config(config, None, server_port), problem], None
    return lint_config(config, dockerfile, server_port), dockerfile_path


def grouped(findings: list[Finding]) -> list[tuple[Finding, int]]:
    """Findings that differ only in an index (``services[3]``) shown once, with a count."""
    groups: dict[tuple[str, Severity, str], list[Finding]] = {}
    for finding in findings:
        shape = re.sub(r"\[\d+\]", "[*]", f"{finding.key}|{finding.message}")
        groups.setdefault((finding.code, finding.severity, shape), []).append(finding)
    return [(members[0], len(members)) for members in groups.values()]


def predicts_dedicated_ipv4(findings: list[Finding]) -> bool:
    return any(f.code == FindingCode.NEEDS_DEDICATED_IPV4 for f in findings)


def predicts_for(path: Path, host: str) -> bool:
    """The lint of the fly.toml at ``path`` predicts the shared-IPv4 failure, and ``host``
    is its app's ``<app>.fly.dev``. Raises ``LintInputError`` for a file it cannot read."""
    findings, _ = lint_path(path)
    app = app_name(path)
    return app is not None and predicts_dedicated_ipv4(findings) and host.rstrip(".") == f"{app}.fly.dev"


def _table(path: Path) -> dict[str, Any]:
    """The fly.toml's table, or an empty one when it cannot be read (the lint says why)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def app_name(path: Path) -> str | None:
    app = _table(path).get("app")
    return app if isinstance(app, str) else None


def internal_port_of(config: dict[str, Any]) -> Any:
    """What the fly.toml's first service (or ``[http_service]``) gives as ``internal_port``,
    as written (``None`` when it gives none): the caller judges it."""
    services = config.get("services")
    first = services[0] if isinstance(services, list) and services and isinstance(services[0], dict) else None
    table = first if first is not None else config.get("http_service")
    return table.get("internal_port") if isinstance(table, dict) else None

"""An offline lint of fly.toml (and the Dockerfile it builds) for a raw-TCP service.

``fly config validate`` needs a login and an app; this needs neither, and it knows the
mistakes that break a raw TCP protocol on Fly.io, above all the one that only shows
after a deploy: a port that Fly's shared IPv4 cannot route (flyctl's own rule, from
``DetermineIPType``). Pure functions over the parsed TOML and the Dockerfile's text;
``lint_path`` only reads the files.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tcpreach.diagnosis import FLY_DEDICATED_IPV4_REMEDY, FLY_SHARED_IPV4_CAUSE
from tcpreach.model import Severity

DEFAULT_SERVER_PORT = 1848
HANDLED_SIGNALS = frozenset({"SIGINT", "SIGTERM"})
NEEDS_DEDICATED_IPV4 = "needs-dedicated-ipv4"


@dataclass(frozen=True)
class LintFinding:
    code: str
    severity: Severity
    key: str  # where: "services[0].ports[0].handlers", "Dockerfile:3"
    message: str
    remedy: str = ""


@dataclass(frozen=True)
class Dockerfile:
    """What the lint needs from a Dockerfile."""

    platform_pins: tuple[int, ...] = ()  # line numbers of FROM --platform=...
    exposed: tuple[int, ...] = ()
    listen_port: int | None = None  # from CMD/ENTRYPOINT --port N, or ENV PORT
    listen_port_line: int | None = None


@dataclass
class _Findings:
    items: list[LintFinding] = field(default_factory=list)

    def add(self, code: str, severity: Severity, key: str, message: str, remedy: str = "") -> None:
        self.items.append(LintFinding(code, severity, key, message, remedy))


# -- the Dockerfile ----------------------------------------------------------------------
def _instructions(text: str) -> Iterator[tuple[int, str, str]]:
    """(first line number, INSTRUCTION, arguments), continuation lines joined."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
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
        if word == "--port" and i + 1 < len(words) and words[i + 1].isdigit():
            return int(words[i + 1])
        if word.startswith("--port=") and word[7:].isdigit():
            return int(word[7:])
    return None


def parse_dockerfile(text: str) -> Dockerfile:
    pins: list[int] = []
    exposed: list[int] = []
    listen: int | None = None
    listen_line: int | None = None
    for number, word, rest in _instructions(text):
        if word == "FROM" and "--platform" in rest:
            pins.append(number)
        elif word == "EXPOSE":
            exposed += [int(p.split("/")[0]) for p in rest.split() if p.split("/")[0].isdigit()]
        elif word == "ENV":
            match = re.search(r"(?:^|\s)PORT(?:=|\s+)(\d+)", rest)
            if match and listen is None:
                listen, listen_line = int(match[1]), number
        elif word in ("CMD", "ENTRYPOINT"):
            try:
                words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
            except (ValueError, json.JSONDecodeError):
                words = rest.split()
            port = _port_flag([str(w) for w in words])
            if port is not None:
                listen, listen_line = port, number
    return Dockerfile(tuple(pins), tuple(exposed), listen, listen_line)


# -- fly.toml --------------------------------------------------------------------------
_TOP = {
    "app", "primary_region", "kill_signal", "kill_timeout", "swap_size_mb", "build", "services", "http_service",
    "checks", "vm", "restart", "env", "mounts", "deploy", "processes", "experimental", "console_command",
    "statics", "metrics", "files", "host_dedication_id",
}  # fmt: skip
_SERVICE = {
    "protocol", "internal_port", "processes", "auto_stop_machines", "auto_start_machines", "min_machines_running",
    "ports", "concurrency", "tcp_checks", "http_checks", "machine_checks",
}  # fmt: skip
_PORT = {"port", "start_port", "end_port", "handlers", "force_https", "tls_options", "http_options",
         "proxy_proto_options"}  # fmt: skip
_CONCURRENCY = {"type", "soft_limit", "hard_limit"}
_TCP_CHECK = {"interval", "timeout", "grace_period"}
_HTTP_CHECK = _TCP_CHECK | {"method", "path", "protocol", "tls_skip_verify", "tls_server_name", "headers"}
_TOP_CHECK = _HTTP_CHECK | {"type", "port", "processes"}
_VM = {"size", "memory", "memory_mb", "cpus", "cpu_kind", "gpu_kind", "gpus", "kernel_args", "host_dedication_id",
       "processes", "persist_rootfs"}  # fmt: skip
_BUILD = {"dockerfile", "image", "build-target", "args", "ignorefile", "builder", "buildpacks", "builtin",
          "settings"}  # fmt: skip
_IGNORED = {"script_checks", "restart_limit"}  # flyctl drops these silently
_HANDLERS = {"http", "tls", "pg_tls", "proxy_proto"}
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")


def _keys(f: _Findings, table: Any, known: set[str], where: str, misplaced: Mapping[str, str] | None = None) -> None:
    if not isinstance(table, Mapping):
        f.add("bad-value", Severity.ERROR, where, f"{where} must be a table, got {type(table).__name__}")
        return
    for key in table:
        path = f"{where}.{key}" if where else key
        if key in _IGNORED:
            f.add("ignored-key", Severity.WARNING, path, f"flyctl ignores {key!r} silently: it has no effect",
                  "remove it; use [[services.tcp_checks]] or top-level [checks] for health checks")  # fmt: skip
        elif misplaced and key in misplaced:
            f.add("misplaced-key", Severity.WARNING, path, f"{key!r} does not belong in {where}", misplaced[key])
        elif key not in known:
            f.add("unknown-key", Severity.WARNING, path, f"unknown key {key!r} in {where or 'the top level'}",
                  "check the spelling against Fly.io's fly.toml reference")  # fmt: skip


def _duration(f: _Findings, value: Any, where: str, unit: str) -> float | None:
    """Seconds, from a Go duration string or a bare number (in ``unit``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        f.add("bad-duration", Severity.ERROR, where, f'{where} must be a duration such as "15s", got {value!r}')
        return None
    if isinstance(value, int | float):
        return float(value) / (1000 if unit == "ms" else 1)
    if not _DURATION.match(value):
        f.add("bad-duration", Severity.ERROR, where, f"{where} = {value!r} is not a duration",
              'write a number with a unit, such as "500ms", "15s" or "1m"')  # fmt: skip
        return None
    scale = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", value))


def needs_dedicated_ipv4(config: Mapping[str, Any]) -> list[tuple[str, int]]:
    """flyctl's rule: the (key, port) pairs that Fly's shared IPv4 cannot route."""
    found: list[tuple[str, int]] = []
    services = config.get("services") or []
    for i, service in enumerate(services if isinstance(services, list) else []):
        for j, port in enumerate(service.get("ports") or [] if isinstance(service, Mapping) else []):
            if not isinstance(port, Mapping):
                continue
            number = port.get("port", port.get("start_port"))
            handlers = list(port.get("handlers") or [])
            routable = (number == 80 and handlers == ["http"]) or (number == 443 and handlers == ["http", "tls"])
            if isinstance(number, int) and not routable:
                found.append((f"services[{i}].ports[{j}]", number))
    return found


def lint_config(
    config: Mapping[str, Any], dockerfile: Dockerfile | None = None, server_port: int = DEFAULT_SERVER_PORT
) -> list[LintFinding]:
    """Every finding for a parsed fly.toml (and its parsed Dockerfile), errors first."""
    f = _Findings()
    _keys(f, config, _TOP, "")
    if "http_service" in config:
        f.add("http-service-for-raw-tcp", Severity.ERROR, "http_service",
              "[http_service] puts Fly's HTTP proxy in front: it parses the bytes as HTTP and breaks a raw TCP "
              "protocol (the client sees the connection closed or an HTTP error)",
              'replace it with [[services]] protocol = "tcp", internal_port = 1848, and '
              "[[services.ports]] port = 1848, handlers = []")  # fmt: skip
    _top_level(f, config)
    listen = dockerfile.listen_port if dockerfile and dockerfile.listen_port else server_port
    services = config.get("services")
    if services is None and "http_service" not in config:
        f.add("no-services", Severity.ERROR, "services", "no [[services]]: the app accepts no traffic at all",
              'add [[services]] with protocol = "tcp" and internal_port = 1848')  # fmt: skip
    for i, service in enumerate(services if isinstance(services, list) else []):
        _service(f, service, f"services[{i}]", listen, has_top_checks=bool(config.get("checks")))
    if dockerfile is not None:
        _dockerfile(f, config, dockerfile)
    for key, port in needs_dedicated_ipv4(config):
        f.add(NEEDS_DEDICATED_IPV4, Severity.INFO, key,
              f"port {port} is not HTTP on 80 or HTTPS on 443, so by flyctl's own rule IPv4 clients need a "
              f"dedicated IPv4. {FLY_SHARED_IPV4_CAUSE}",
              FLY_DEDICATED_IPV4_REMEDY)  # fmt: skip
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(f.items, key=lambda x: order[x.severity])


def _top_level(f: _Findings, config: Mapping[str, Any]) -> None:
    signal = config.get("kill_signal", "SIGINT")
    if str(signal).upper() not in HANDLED_SIGNALS:
        f.add("kill-signal-unhandled", Severity.WARNING, "kill_signal",
              f"the server handles SIGINT and SIGTERM, not {signal}: Fly would kill it after kill_timeout",
              'set kill_signal = "SIGINT" (Fly\'s default) or "SIGTERM"')  # fmt: skip
    if "kill_timeout" in config:
        seconds = _duration(f, config["kill_timeout"], "kill_timeout", unit="s")
        if seconds is not None and seconds > 300:
            f.add("bad-duration", Severity.ERROR, "kill_timeout", f"kill_timeout is {seconds:g} s; Fly allows 300")
    for name, check in (config.get("checks") or {}).items():
        _keys(f, check, _TOP_CHECK, f"checks.{name}")
        if isinstance(check, Mapping):
            for key in ("interval", "timeout", "grace_period"):
                if key in check:
                    _duration(f, check[key], f"checks.{name}.{key}", unit="ms")
    if "build" in config:
        _keys(f, config["build"], _BUILD, "build")
    for i, vm in enumerate(config.get("vm") or []):
        _keys(f, vm, _VM, f"vm[{i}]")
    experimental = config.get("experimental")
    if isinstance(experimental, Mapping) and "allowed_public_ports" in experimental:
        f.add("ignored-key", Severity.WARNING, "experimental.allowed_public_ports",
              "flyctl ignores [experimental] allowed_public_ports silently",
              "list the ports in [[services.ports]]")  # fmt: skip


def _service(f: _Findings, service: Any, where: str, listen: int, has_top_checks: bool) -> None:
    _keys(f, service, _SERVICE | _IGNORED, where)
    if not isinstance(service, Mapping):
        return
    protocol = service.get("protocol")
    if protocol not in ("tcp", "udp"):
        f.add("bad-value", Severity.ERROR, f"{where}.protocol", f'protocol must be "tcp" or "udp", got {protocol!r}')
    internal = service.get("internal_port")
    if internal != listen:
        f.add("port-mismatch", Severity.ERROR, f"{where}.internal_port",
              f"internal_port is {internal!r} but the server listens on {listen}: Fly's proxy would find nothing "
              "there and close every connection without data",
              f"set internal_port = {listen}, or start the server with --port {internal}")  # fmt: skip
    stop = service.get("auto_stop_machines")
    if stop is not None and stop not in ("off", "stop", "suspend", True, False):
        f.add("bad-value", Severity.ERROR, f"{where}.auto_stop_machines",
              f'auto_stop_machines must be "off", "stop" or "suspend", got {stop!r}')  # fmt: skip
    ports = service.get("ports")
    if not ports:
        f.add("no-ports", Severity.ERROR, f"{where}.ports", "the service has no [[services.ports]]: nothing is public",
              "add [[services.ports]] with port = 1848 and handlers = []")  # fmt: skip
    for j, port in enumerate(ports or []):
        _port(f, port, f"{where}.ports[{j}]", protocol)
    concurrency = service.get("concurrency")
    if concurrency is not None:
        _keys(f, concurrency, _CONCURRENCY, f"{where}.concurrency")
        kind = concurrency.get("type", "connections") if isinstance(concurrency, Mapping) else "connections"
        if kind not in ("connections", "requests"):
            f.add("bad-value", Severity.ERROR, f"{where}.concurrency.type",
                  f'concurrency type must be "connections" or "requests", got {kind!r}')  # fmt: skip
    _service_checks(f, service, where, has_top_checks)


def _service_checks(f: _Findings, service: Mapping[str, Any], where: str, has_top_checks: bool) -> None:
    checks = list(service.get("tcp_checks") or []) + list(service.get("http_checks") or [])
    if not checks and not has_top_checks:
        f.add("no-health-check", Severity.WARNING, f"{where}.tcp_checks",
              "no health check: Fly routes to a machine whose server is not listening",
              '[[services.tcp_checks]] with interval = "15s", timeout = "2s", grace_period = "5s"')  # fmt: skip
    for kind, known in (("tcp_checks", _TCP_CHECK), ("http_checks", _HTTP_CHECK)):
        for k, check in enumerate(service.get(kind) or []):
            path = f"{where}.{kind}[{k}]"
            _keys(f, check, known, path, misplaced={"port": "service checks use the service's internal_port"})
            if isinstance(check, Mapping):
                for key in ("interval", "timeout", "grace_period"):
                    if key in check:
                        _duration(f, check[key], f"{path}.{key}", unit="ms")


def _port(f: _Findings, port: Any, where: str, protocol: Any) -> None:
    _keys(f, port, _PORT, where)
    if not isinstance(port, Mapping):
        return
    if "port" not in port and "start_port" not in port:
        f.add("bad-value", Severity.ERROR, where, "a port needs port (or start_port and end_port)")
    handlers = port.get("handlers") or []
    for handler in handlers:
        key = f"{where}.handlers"
        if handler not in _HANDLERS:
            f.add("bad-value", Severity.ERROR, key, f"unknown handler {handler!r}; Fly knows {sorted(_HANDLERS)}")
        elif handler == "proxy_proto":
            f.add("handlers-on-raw-tcp", Severity.WARNING, key,
                  "proxy_proto prepends a PROXY protocol header to each connection: the server must parse it",
                  "remove it unless the server reads the PROXY header")  # fmt: skip
        elif protocol == "tcp":
            f.add("handlers-on-raw-tcp", Severity.ERROR, key,
                  f"the {handler!r} handler makes Fly's proxy terminate {handler.upper()} on this port: a raw TCP "
                  "greeting never reaches the client as written",
                  "set handlers = [] so the bytes pass through untouched")  # fmt: skip


def _dockerfile(f: _Findings, config: Mapping[str, Any], dockerfile: Dockerfile) -> None:
    for line in dockerfile.platform_pins:
        f.add("platform-pin", Severity.INFO, f"Dockerfile:{line}",
              "FROM --platform is unnecessary for Fly.io: flyctl builds linux/amd64 on its remote builders",
              "drop --platform; pass --platform to a local build on Arm only if you need it")  # fmt: skip
    ports = [s.get("internal_port") for s in config.get("services") or [] if isinstance(s, Mapping)]
    for port in ports:
        if dockerfile.exposed and port not in dockerfile.exposed:
            f.add("port-mismatch", Severity.WARNING, "Dockerfile:EXPOSE",
                  f"the Dockerfile EXPOSEs {list(dockerfile.exposed)} but internal_port is {port}",
                  f"EXPOSE {port}")  # fmt: skip


# -- files ---------------------------------------------------------------------------
class LintInputError(ValueError):
    """The file cannot be linted (missing, unreadable): a usage error."""


def parse_error(exc: tomllib.TOMLDecodeError, path: str) -> LintFinding:
    match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    where = f"{path}:{match[1]}:{match[2]}" if match else path
    reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
    line_col = f"line {match[1]}, column {match[2]}: " if match else ""
    return LintFinding("toml-syntax", Severity.ERROR, where, f"{path} is not valid TOML: {line_col}{reason}",
                       "fix the syntax at that line; fly.toml is TOML (toml.io)")  # fmt: skip


def lint_path(path: Path) -> tuple[list[LintFinding], Path | None]:
    """Lint a fly.toml and the Dockerfile its ``[build]`` points at (default: beside it)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LintInputError(f"cannot read {path}: {exc.strerror}; give the path of a fly.toml") from None
    try:
        config = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LintInputError(f"{path} is not UTF-8 text: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        return [parse_error(exc, str(path))], None
    build_table = config.get("build")
    build: Mapping[str, Any] = build_table if isinstance(build_table, Mapping) else {}
    dockerfile_path: Path | None = None
    dockerfile: Dockerfile | None = None
    if not build.get("image"):
        dockerfile_path = path.parent / str(build.get("dockerfile", "Dockerfile"))
        try:
            dockerfile = parse_dockerfile(dockerfile_path.read_text(encoding="utf-8"))
        except OSError:
            missing = LintFinding("dockerfile-missing", Severity.WARNING, "build.dockerfile",
                                  f"no Dockerfile at {dockerfile_path}: the build would fail",
                                  "set [build] dockerfile to its path, relative to fly.toml")  # fmt: skip
            return [*lint_config(config), missing], None
    return lint_config(config, dockerfile), dockerfile_path


def predicts_dedicated_ipv4(findings: list[LintFinding]) -> bool:
    return any(f.code == NEEDS_DEDICATED_IPV4 for f in findings)


def app_name(path: Path) -> str | None:
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    app = config.get("app")
    return app if isinstance(app, str) else None

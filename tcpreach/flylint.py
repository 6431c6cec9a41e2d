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
    invalid: set[str] = field(default_factory=set)  # keys whose value had the wrong type (left out)

    def add(self, code: str, severity: Severity, key: str, message: str, remedy: str = "") -> None:
        self.items.append(LintFinding(code, severity, key, message, remedy))


# -- the Dockerfile ----------------------------------------------------------------------
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


def _port_number(text: str) -> int | None:
    """A port written in ASCII digits (1..65535), or ``None``."""
    if not (text.isascii() and text.isdigit() and len(text) <= 5):
        return None
    return int(text) if 0 < int(text) <= 65535 else None


def _port_flag(words: list[str]) -> int | None:
    for i, word in enumerate(words):
        if word == "--port" and i + 1 < len(words) and _port_number(words[i + 1]) is not None:
            return _port_number(words[i + 1])
        if word.startswith("--port=") and _port_number(word[7:]) is not None:
            return _port_number(word[7:])
    return None


def parse_dockerfile(text: str) -> Dockerfile:
    """The lines that pin a platform, the EXPOSEd ports, and the server's port with its line:
    a ``--port`` in the last CMD or ENTRYPOINT that has one wins over ``ENV PORT`` (the
    server's own precedence), and a later ENV over an earlier one (Docker's)."""
    pins: list[int] = []
    exposed: list[int] = []
    flag: tuple[int, int] | None = None  # (port, line)
    env: tuple[int, int] | None = None
    for number, word, rest in _instructions(text):
        if word == "FROM" and "--platform" in rest:
            pins.append(number)
        elif word == "EXPOSE":
            exposed += [n for p in rest.split() if (n := _port_number(p.split("/")[0])) is not None]
        elif word == "ENV":
            match = re.search(r"(?:^|\s)PORT(?:=|\s+)([0-9]+)", rest)
            port = _port_number(match[1]) if match else None
            if port is not None:
                env = (port, number)
        elif word in ("CMD", "ENTRYPOINT"):
            try:
                words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
            except ValueError:  # json.JSONDecodeError is one
                words = rest.split()
            port = _port_flag([str(w) for w in words])
            if port is not None:
                flag = (port, number)
    listen, line = flag or env or (None, None)
    return Dockerfile(tuple(pins), tuple(exposed), listen, line)


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
_TERMINATES = {"http": "HTTP", "pg_tls": "PostgreSQL's TLS negotiation"}  # the handlers that break raw TCP
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")


def _keys(f: _Findings, table: Any, known: set[str], where: str, misplaced: Mapping[str, str] | None = None) -> None:
    if not isinstance(table, Mapping):
        return  # a value of another type was reported by the type check (bad-type) and left out
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


def _duration(f: _Findings, value: int | float | str, where: str) -> float | None:
    """A bare number as it is (in the key's own unit: seconds for kill_timeout,
    milliseconds in checks); a Go duration string in seconds. The type was checked first."""
    if not isinstance(value, str):
        return float(value)
    if not _DURATION.match(value):
        f.add("bad-duration", Severity.ERROR, where, f"{where} = {value!r} is not a duration",
              'write a number with a unit, such as "500ms", "15s" or "1m"')  # fmt: skip
        return None
    scale = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", value))


# -- types, checked before any rule -------------------------------------------------------
# A spec is a Python type (or a tuple of them), or ("list", spec), or ("table", {key: spec})
# for a table whose known keys have types (unknown keys are left to the rules), or
# ("tables", {key: spec}) for a list of such tables ([[services]]).
Spec = Any
_DURATION_TYPES = (int, float, str)
_CHECK_SPEC: dict[str, Spec] = {
    "interval": _DURATION_TYPES, "timeout": _DURATION_TYPES, "grace_period": _DURATION_TYPES,
    "method": str, "path": str, "protocol": str, "tls_skip_verify": bool, "tls_server_name": str,
    "headers": dict, "type": str, "port": int, "processes": ("list", str),
}  # fmt: skip
_PORT_SPEC: dict[str, Spec] = {
    "port": int, "start_port": int, "end_port": int, "handlers": ("list", str), "force_https": bool,
    "tls_options": ("table", {"alpn": ("list", str), "versions": ("list", str), "default_self_signed": bool}),
    "http_options": dict, "proxy_proto_options": dict,
}  # fmt: skip
_SERVICE_SPEC: dict[str, Spec] = {
    "protocol": str, "internal_port": int, "processes": ("list", str), "auto_stop_machines": (str, bool),
    "auto_start_machines": bool, "min_machines_running": int, "ports": ("tables", _PORT_SPEC),
    "concurrency": ("table", {"type": str, "soft_limit": int, "hard_limit": int}),
    "tcp_checks": ("tables", _CHECK_SPEC), "http_checks": ("tables", _CHECK_SPEC), "machine_checks": list,
}  # fmt: skip
_BUILD_SPEC: dict[str, Spec] = {
    "dockerfile": str, "image": str, "build-target": str, "args": dict, "ignorefile": str, "builder": str,
    "buildpacks": ("list", str), "builtin": str, "settings": dict,
}  # fmt: skip
_VM_SPEC: dict[str, Spec] = {
    "size": str, "memory": (str, int), "memory_mb": int, "cpus": int, "cpu_kind": str, "processes": ("list", str),
}  # fmt: skip
_TOP_SPEC: dict[str, Spec] = {
    "app": str, "primary_region": str, "kill_signal": str, "kill_timeout": _DURATION_TYPES, "swap_size_mb": int,
    "build": ("table", _BUILD_SPEC), "services": ("tables", _SERVICE_SPEC), "http_service": dict,
    "checks": ("table-of", ("table", _CHECK_SPEC)), "vm": ("tables", _VM_SPEC), "env": dict,
    "experimental": dict, "processes": dict, "deploy": dict,
}  # fmt: skip
_KINDS = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a table"}


def _kind(value: Any) -> str:
    for kind, name in _KINDS.items():
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"  # TOML dates and times


def _wanted(spec: Spec) -> str:
    if isinstance(spec, tuple) and spec and isinstance(spec[0], str):
        kind = spec[0]
        if kind == "list":
            return f"a list of {_wanted(spec[1]).removeprefix('a ').removeprefix('an ')}s"
        if kind == "tables":
            return "a list of tables"
        return "a table"
    names = [_KINDS[k] for k in (spec if isinstance(spec, tuple) else (spec,))]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _fits(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    if float in kinds and isinstance(value, int):
        return True
    return isinstance(value, kinds)


def _typed(f: _Findings, value: Any, spec: Spec, where: str) -> Any:
    """``value`` with every wrongly typed part left out, one finding per part."""
    if isinstance(spec, tuple) and spec and isinstance(spec[0], str):
        kind, inner = spec
        if kind in ("list", "tables") and isinstance(value, list):
            items = [_typed(f, item, inner if kind == "list" else ("table", inner), f"{where}[{i}]")
                     for i, item in enumerate(value)]  # fmt: skip
            return [item for item in items if item is not _BAD]
        if kind == "table" and isinstance(value, dict):
            checked = {k: _typed(f, v, inner[k], _join(where, k)) if k in inner else v for k, v in value.items()}
            return {k: v for k, v in checked.items() if v is not _BAD}
        if kind == "table-of" and isinstance(value, dict):
            tables = {k: _typed(f, v, inner, _join(where, k)) for k, v in value.items()}
            return {k: v for k, v in tables.items() if v is not _BAD}
        return _wrong(f, value, spec, where)
    kinds = spec if isinstance(spec, tuple) else (spec,)
    return value if _fits(value, kinds) else _wrong(f, value, spec, where)


def _wrong(f: _Findings, value: Any, spec: Spec, where: str) -> Any:
    fix = ""
    if isinstance(value, str) and spec == ("list", str):
        fix = f"write {where.rsplit('.', 1)[-1]} = [{json.dumps(value)}]"
    elif isinstance(value, str) and spec in (int, (int,)) and value.strip().isdigit():
        fix = f"write {where.rsplit('.', 1)[-1]} = {value.strip()} (a number, without quotes)"
    f.add("bad-type", Severity.ERROR, where, f"{where} must be {_wanted(spec)}, got {_kind(value)}", fix)
    f.invalid.add(where)
    return _BAD


_BAD = object()


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


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


def _tls_ports(config: Mapping[str, Any]) -> set[str]:
    return {
        f"services[{i}].ports[{j}]"
        for i, service in enumerate(config.get("services") or [])
        for j, port in enumerate(service.get("ports") or [])
        if "tls" in (port.get("handlers") or [])
    }


def lint_config(
    config: Mapping[str, Any], dockerfile: Dockerfile | None = None, server_port: int | None = None
) -> list[LintFinding]:
    """Every finding for a parsed fly.toml (and its parsed Dockerfile), errors first.

    Every value's type is checked first (``bad-type``, with the key's path); a value of
    the wrong type is left out of what the rules then see. The server's port is
    ``server_port`` when given, else what the Dockerfile states (``--port N``, ``ENV
    PORT``), else 1848.
    """
    f = _Findings()
    if not isinstance(config, Mapping):
        f.add("bad-type", Severity.ERROR, "", f"a fly.toml must be a table of keys, got {_kind(config)}")
        return f.items
    if isinstance(config.get("vm"), dict):
        config = {**config, "vm": [config["vm"]]}  # [vm] is shorthand for one [[vm]]
    config = _typed(f, config, ("table", _TOP_SPEC), "")
    _keys(f, config, _TOP, "")
    if "http_service" in config:
        f.add("http-service-for-raw-tcp", Severity.ERROR, "http_service",
              "[http_service] puts Fly's HTTP proxy in front: it parses the bytes as HTTP and breaks a raw TCP "
              "protocol (the client sees the connection closed or an HTTP error)",
              'replace it with [[services]] protocol = "tcp", internal_port = 1848, and '
              "[[services.ports]] port = 1848, handlers = []")  # fmt: skip
    _top_level(f, config)
    listen, said_by = DEFAULT_SERVER_PORT, ""
    if server_port:
        listen, said_by = server_port, " (lint --port)"
    elif dockerfile is not None and dockerfile.listen_port is not None:
        listen, said_by = dockerfile.listen_port, f" (Dockerfile:{dockerfile.listen_port_line})"
    services = config.get("services")
    if not services and "http_service" not in config and "services" not in f.invalid:
        f.add("no-services", Severity.ERROR, "services", "no [[services]]: the app accepts no traffic at all",
              f'add [[services]] with protocol = "tcp" and internal_port = {listen}')  # fmt: skip
    for i, service in enumerate(services or []):
        _service(f, service, f"services[{i}]", (listen, said_by), has_top_checks=bool(config.get("checks")))
    if dockerfile is not None:
        _dockerfile(f, config, dockerfile)
    tls_ports = _tls_ports(config)
    for key, port in needs_dedicated_ipv4(config):
        tls_note = (
            " (with the 'tls' handler here, TLS clients that send SNI are the exception: the shared IPv4 routes them)"
            if key in tls_ports
            else ""
        )
        f.add(NEEDS_DEDICATED_IPV4, Severity.INFO, key,
              f"port {port} is not HTTP on 80 or HTTPS on 443, so by flyctl's own rule IPv4 clients need a "
              f"dedicated IPv4. {FLY_SHARED_IPV4_CAUSE}{tls_note}",
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
        seconds = _duration(f, config["kill_timeout"], "kill_timeout")
        if seconds is not None and seconds > 300:
            f.add("bad-duration", Severity.ERROR, "kill_timeout", f"kill_timeout is {seconds:.10g} s; Fly allows 300")
    for name, check in (config.get("checks") or {}).items():
        _keys(f, check, _TOP_CHECK, f"checks.{name}")
        if isinstance(check, Mapping):
            for key in ("interval", "timeout", "grace_period"):
                if key in check:
                    _duration(f, check[key], f"checks.{name}.{key}")
    if "build" in config:
        _keys(f, config["build"], _BUILD, "build")
    for i, vm in enumerate(config.get("vm") or []):
        _keys(f, vm, _VM, f"vm[{i}]")
    experimental = config.get("experimental")
    if isinstance(experimental, Mapping) and "allowed_public_ports" in experimental:
        f.add("ignored-key", Severity.WARNING, "experimental.allowed_public_ports",
              "flyctl ignores [experimental] allowed_public_ports silently",
              "list the ports in [[services.ports]]")  # fmt: skip


def _service(f: _Findings, service: Any, where: str, server: tuple[int, str], has_top_checks: bool) -> None:
    listen, said_by = server  # the server's port, and where that was read (the flag, a Dockerfile line)
    _keys(f, service, _SERVICE | _IGNORED, where)
    if not isinstance(service, Mapping):
        return
    protocol = service.get("protocol")
    if protocol is None and f"{where}.protocol" not in f.invalid:
        f.add("missing-key", Severity.ERROR, f"{where}.protocol", f"{where} has no protocol", 'set protocol = "tcp"')
    elif protocol is not None and protocol not in ("tcp", "udp"):
        f.add("bad-value", Severity.ERROR, f"{where}.protocol", f'protocol must be "tcp" or "udp", got {protocol!r}')
    internal = service.get("internal_port")
    if internal is None and f"{where}.internal_port" not in f.invalid:
        f.add("missing-key", Severity.ERROR, f"{where}.internal_port",
              f"{where} has no internal_port: Fly's proxy would not know where the server listens",
              f"set internal_port = {listen}")  # fmt: skip
    elif internal is not None and internal != listen:
        f.add("port-mismatch", Severity.ERROR, f"{where}.internal_port",
              f"internal_port is {internal} but the server listens on {listen}{said_by}: Fly's proxy would find "
              "nothing there and close every connection without data",
              f"set internal_port = {listen}, or start the server on port {internal} (lint --port N if it "
              "already does)")  # fmt: skip
    stop = service.get("auto_stop_machines")
    if stop is not None and stop not in ("off", "stop", "suspend", True, False):
        f.add("bad-value", Severity.ERROR, f"{where}.auto_stop_machines",
              f'auto_stop_machines must be "off", "stop" or "suspend", got {stop!r}')  # fmt: skip
    ports = service.get("ports")
    if not ports and f"{where}.ports" not in f.invalid:
        f.add("no-ports", Severity.ERROR, f"{where}.ports", "the service has no [[services.ports]]: nothing is public",
              f"add [[services.ports]] with port = {listen} and handlers = []")  # fmt: skip
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
    mistyped = {f"{where}.tcp_checks", f"{where}.http_checks"} & f.invalid
    if not checks and not has_top_checks and not mistyped:
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
                        _duration(f, check[key], f"{path}.{key}")


_TLS_OPTIONS = {"alpn", "versions", "default_self_signed"}
_TLS_VERSIONS = {"TLSv1.2", "TLSv1.3"}


def _port(f: _Findings, port: Any, where: str, protocol: Any) -> None:
    _keys(f, port, _PORT, where)
    if not isinstance(port, Mapping):
        return
    options = port.get("tls_options")
    if options is not None:
        _keys(f, options, _TLS_OPTIONS, f"{where}.tls_options")
        for version in options.get("versions", []):
            if version not in _TLS_VERSIONS:
                f.add("bad-value", Severity.ERROR, f"{where}.tls_options.versions",
                      f"unknown TLS version {version!r}; Fly accepts {sorted(_TLS_VERSIONS)}")  # fmt: skip
        if "tls" not in (port.get("handlers") or []):
            f.add("tls-options-unused", Severity.WARNING, f"{where}.tls_options",
                  "tls_options has no effect without the 'tls' handler on this port",
                  'add "tls" to handlers, or remove tls_options')  # fmt: skip
    if not ({"port", "start_port"} & port.keys()) and not {f"{where}.port", f"{where}.start_port"} & f.invalid:
        f.add("missing-key", Severity.ERROR, where, f"{where} needs port (or start_port and end_port)")
    handlers = port.get("handlers") or []
    for handler in handlers:
        key = f"{where}.handlers"
        if handler not in _HANDLERS:
            f.add("bad-value", Severity.ERROR, key, f"unknown handler {handler!r}; Fly knows {sorted(_HANDLERS)}")
        elif handler == "tls" and protocol == "tcp":
            f.add("tls-handler", Severity.INFO, key,
                  "Fly's proxy terminates TLS on this port and forwards plain TCP to the app: TLS clients that send "
                  "SNI (<app>.fly.dev, or a name added with 'fly certs add') reach it, also over the shared IPv4 "
                  "without a dedicated one; plain-TCP clients fail on this port",
                  "make the clients speak TLS with SNI, and verify with: python -m tcpreach probe <app>.fly.dev "
                  "--port PORT --tls")  # fmt: skip
        elif handler == "proxy_proto":
            f.add("handlers-on-raw-tcp", Severity.WARNING, key,
                  "proxy_proto prepends a PROXY protocol header to each connection: the server must parse it",
                  "remove it unless the server reads the PROXY header")  # fmt: skip
        elif protocol == "tcp":
            f.add("handlers-on-raw-tcp", Severity.ERROR, key,
                  f"the {handler!r} handler makes Fly's proxy terminate {_TERMINATES[handler]} on this port: a raw "
                  "TCP greeting never reaches the client as written",
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


MAX_BYTES = 1 << 20  # a real fly.toml is a few kB; anything this large is not one


def _read(path: Path, what: str) -> bytes:
    try:
        if path.is_dir():
            raise LintInputError(f"{path} is a directory: give the path of {what}")
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise LintInputError(f"cannot read {path}: {exc.strerror}; give the path of {what}") from None
    if len(raw) > MAX_BYTES:
        raise LintInputError(f"{path} is over {MAX_BYTES // 1024} KiB: that is not {what}, and it is not linted")
    return raw


def lint_path(path: Path, server_port: int | None = None) -> tuple[list[LintFinding], Path | None]:
    """Lint a fly.toml and the Dockerfile its ``[build]`` points at (default: beside it).

    Raises ``LintInputError`` (a usage error) for a file that is missing, a directory, not
    UTF-8 or over 1 MiB; everything inside a readable file is a finding.
    """
    raw = _read(path, "a fly.toml")
    try:
        config = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LintInputError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except tomllib.TOMLDecodeError as exc:
        return [parse_error(exc, str(path))], None
    except RecursionError:
        return [LintFinding("toml-syntax", Severity.ERROR, str(path), f"{path} nests arrays or tables too deeply to "
                            "be a fly.toml", "a fly.toml nests a few levels at most")], None  # fmt: skip
    build_table = config.get("build")
    build: Mapping[str, Any] = build_table if isinstance(build_table, Mapping) else {}
    dockerfile_path: Path | None = None
    dockerfile: Dockerfile | None = None
    if not build.get("image"):
        named = build.get("dockerfile", "Dockerfile")
        dockerfile_path = path.parent / (named if isinstance(named, str) else "Dockerfile")
        try:
            dockerfile = parse_dockerfile(_read(dockerfile_path, "a Dockerfile").decode("utf-8"))
        except (LintInputError, UnicodeDecodeError) as exc:
            why = f"{dockerfile_path} is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
            problem = LintFinding("dockerfile-unusable", Severity.ERROR, "build.dockerfile",
                                  f"{why}: the build would fail",
                                  "set [build] dockerfile to the Dockerfile's path, relative to fly.toml")  # fmt: skip
            return [*lint_config(config, None, server_port), problem], None
    return lint_config(config, dockerfile, server_port), dockerfile_path


def grouped(findings: list[LintFinding]) -> list[tuple[LintFinding, int]]:
    """Findings that differ only in an index (``services[3]``) shown once, with a count."""
    groups: dict[tuple[str, Severity, str], list[LintFinding]] = {}
    for finding in findings:
        shape = re.sub(r"\[\d+\]", "[*]", f"{finding.key}|{finding.message}")
        groups.setdefault((finding.code, finding.severity, shape), []).append(finding)
    return [(members[0], len(members)) for members in groups.values()]


def predicts_dedicated_ipv4(findings: list[LintFinding]) -> bool:
    return any(f.code == NEEDS_DEDICATED_IPV4 for f in findings)


def predicts_for(path: Path, host: str) -> bool:
    """The lint of the fly.toml at ``path`` predicts the shared-IPv4 failure, and ``host``
    is its app's ``<app>.fly.dev``. Raises ``LintInputError`` for a file it cannot read."""
    findings, _ = lint_path(path)
    app = app_name(path)
    return app is not None and predicts_dedicated_ipv4(findings) and host.rstrip(".") == f"{app}.fly.dev"


def app_name(path: Path) -> str | None:
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    app = config.get("app")
    return app if isinstance(app, str) else None

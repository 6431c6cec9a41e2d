"""An offline lint of fly.toml (and the Dockerfile it builds) for a raw-TCP service.

``fly config validate`` needs a login and an app; this needs neither, and it knows the
mistakes that break a raw TCP protocol on Fly.io, above all the one that only shows
after a deploy: a port that Fly's shared IPv4 cannot route (flyctl's own rule, from
``DetermineIPType``). Pure functions over the parsed TOML and the Dockerfile's text;
``lint_path`` only reads the files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tcpreach.findings import Finding, FindingCode, Severity
from tcpreach.fly.dockerfile import Dockerfile
from tcpreach.fly.remedies import FLY_DEDICATED_IPV4_REMEDY, FLY_SHARED_IPV4_CAUSE
from tcpreach.fly.schema import TOP_SPEC, Findings, kind_of, typed

__all__ = ["HANDLED_SIGNALS", "lint_config", "needs_dedicated_ipv4"]

HANDLED_SIGNALS = frozenset({"SIGINT", "SIGTERM"})
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
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")


def _keys(f: Findings, table: Any, known: set[str], where: str, misplaced: Mapping[str, str] | None = None) -> None:
    if not isinstance(table, Mapping):
        return  # a value of another type was reported by the type check (bad-type) and left out
    for key in table:
        path = f"{where}.{key}" if where else key
        if key in _IGNORED:
            f.add(FindingCode.IGNORED_KEY, Severity.WARNING, path, f"flyctl ignores {key!r} silently: it has no effect",
                  "remove it; use [[services.tcp_checks]] or top-level [checks] for health checks")  # fmt: skip
        elif misplaced and key in misplaced:
            f.add(
                FindingCode.MISPLACED_KEY, Severity.WARNING, path, f"{key!r} does not belong in {where}", misplaced[key]
            )
        elif key not in known:
            f.add(FindingCode.UNKNOWN_KEY, Severity.WARNING, path, f"unknown key {key!r} in {where or 'the top level'}",
                  "check the spelling against Fly.io's fly.toml reference")  # fmt: skip


def _duration(f: Findings, value: int | float | str, where: str) -> float | None:
    """A bare number as it is (in the key's own unit: seconds for kill_timeout,
    milliseconds in checks); a Go duration string in seconds. The type was checked first."""
    if not isinstance(value, str):
        return float(value)
    if not _DURATION.fullmatch(value):
        f.add(FindingCode.BAD_DURATION, Severity.ERROR, where, f"{where} = {value!r} is not a duration",
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


def _tls_ports(config: Mapping[str, Any]) -> set[str]:
    return {
        f"services[{i}].ports[{j}]"
        for i, service in enumerate(config.get("services") or [])
        for j, port in enumerate(service.get("ports") or [])
        if "tls" in (port.get("handlers") or [])
    }


def lint_config(
    config: Mapping[str, Any], dockerfile: Dockerfile | None = None, server_port: int | None = None
) -> list[Finding]:
    """Every finding for a parsed fly.toml (and its parsed Dockerfile), errors first.

    Every value's type is checked first (``bad-type``, with the key's path); a value of
    the wrong type is left out of what the rules then see. The server's port is
    ``server_port`` when given, else what the Dockerfile states (``--port N``, ``ENV
    PORT``, the hello server's default); else it is unknown, and no rule guesses it.
    """
    f = Findings()
    if not isinstance(config, Mapping):
        f.add(FindingCode.BAD_TYPE, Severity.ERROR, "", f"a fly.toml must be a table of keys, got {kind_of(config)}")
        return f.items
    if isinstance(config.get("vm"), dict):
        config = {**config, "vm": [config["vm"]]}  # [vm] is shorthand for one [[vm]]
    config = typed(f, config, ("table", TOP_SPEC), "")
    _keys(f, config, _TOP, "")
    listen: int | None = None
    said_by = ""
    if server_port:
        listen, said_by = server_port, " (lint --port)"
    elif dockerfile is not None and dockerfile.listen_port is not None:
        listen, said_by = dockerfile.listen_port, f" (Dockerfile:{dockerfile.listen_port_line})"
    if "http_service" in config:
        http = config["http_service"] if isinstance(config["http_service"], Mapping) else {}
        shown = _port_text(http.get("internal_port") if isinstance(http.get("internal_port"), int) else listen)
        f.add(FindingCode.HTTP_SERVICE_FOR_RAW_TCP, Severity.ERROR, "http_service",
              "[http_service] puts Fly's HTTP proxy in front: it parses the bytes as HTTP and breaks a raw TCP "
              "protocol (the client sees the connection closed or an HTTP error)",
              f'replace it with [[services]] protocol = "tcp", internal_port = {shown}, and '
              f"[[services.ports]] port = {shown}, handlers = []")  # fmt: skip
    _top_level(f, config)
    services = config.get("services")
    if not services and "http_service" not in config and "services" not in f.invalid:
        f.add(FindingCode.NO_SERVICES, Severity.ERROR, "services", "no [[services]]: the app accepts no traffic at all",
              f'add [[services]] with protocol = "tcp" and internal_port = {_port_text(listen)}')  # fmt: skip
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
        f.add(FindingCode.NEEDS_DEDICATED_IPV4, Severity.INFO, key,
              f"port {port} is not HTTP on 80 or HTTPS on 443, so by flyctl's own rule IPv4 clients need a "
              f"dedicated IPv4. {FLY_SHARED_IPV4_CAUSE}{tls_note}",
              FLY_DEDICATED_IPV4_REMEDY)  # fmt: skip
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(f.items, key=lambda x: order[x.severity])


def _top_level(f: Findings, config: Mapping[str, Any]) -> None:
    signal = config.get("kill_signal", "SIGINT")
    if str(signal).upper() not in HANDLED_SIGNALS:
        f.add(FindingCode.KILL_SIGNAL_UNHANDLED, Severity.WARNING, "kill_signal",
              f"the server handles SIGINT and SIGTERM, not {signal}: Fly would kill it after kill_timeout",
              'set kill_signal = "SIGINT" (Fly\'s default) or "SIGTERM"')  # fmt: skip
    if "kill_timeout" in config:
        seconds = _duration(f, config["kill_timeout"], "kill_timeout")
        if seconds is not None and seconds > 300:
            f.add(
                FindingCode.BAD_DURATION,
                Severity.ERROR,
                "kill_timeout",
                f"kill_timeout is {seconds:.10g} s; Fly allows 300",
            )
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
        f.add(FindingCode.IGNORED_KEY, Severity.WARNING, "experimental.allowed_public_ports",
              "flyctl ignores [experimental] allowed_public_ports silently",
              "list the ports in [[services.ports]]")  # fmt: skip


def _port_text(port: int | None) -> str:
    """A port for a remedy: the one known, else what the user must put there."""
    return str(port) if port is not None else "<the port your server listens on>"


def _service(f: Findings, service: Any, where: str, server: tuple[int | None, str], has_top_checks: bool) -> None:
    listen, said_by = server  # the server's port, and where that was read (the flag, a Dockerfile line)
    _keys(f, service, _SERVICE | _IGNORED, where)
    if not isinstance(service, Mapping):
        return
    protocol = service.get("protocol")
    if protocol is None and f"{where}.protocol" not in f.invalid:
        f.add(
            FindingCode.MISSING_KEY,
            Severity.ERROR,
            f"{where}.protocol",
            f"{where} has no protocol",
            'set protocol = "tcp"',
        )
    elif protocol is not None and protocol not in ("tcp", "udp"):
        f.add(
            FindingCode.BAD_VALUE,
            Severity.ERROR,
            f"{where}.protocol",
            f'protocol must be "tcp" or "udp", got {protocol!r}',
        )
    internal = service.get("internal_port")
    if internal is None and f"{where}.internal_port" not in f.invalid:
        f.add(FindingCode.MISSING_KEY, Severity.ERROR, f"{where}.internal_port",
              f"{where} has no internal_port: Fly's proxy would not know where the server listens",
              f"set internal_port = {_port_text(listen)}")  # fmt: skip
    elif internal is not None and listen is not None and internal != listen:
        f.add(FindingCode.PORT_MISMATCH, Severity.ERROR, f"{where}.internal_port",
              f"internal_port is {internal} but the server listens on {listen}{said_by}: Fly's proxy would find "
              "nothing there and close every connection without data",
              f"set internal_port = {listen}, or start the server on port {internal} (lint --port N if it "
              "already does)")  # fmt: skip
    stop = service.get("auto_stop_machines")
    if stop is not None and stop not in ("off", "stop", "suspend", True, False):
        f.add(FindingCode.BAD_VALUE, Severity.ERROR, f"{where}.auto_stop_machines",
              f'auto_stop_machines must be "off", "stop" or "suspend", got {stop!r}')  # fmt: skip
    ports = service.get("ports")
    if not ports and f"{where}.ports" not in f.invalid:
        f.add(FindingCode.NO_PORTS, Severity.ERROR, f"{where}.ports",
              "the service has no [[services.ports]]: nothing is public",
              f"add [[services.ports]] with port = {_port_text(internal if isinstance(internal, int) else listen)} "
              "and handlers = []")  # fmt: skip
    for j, port in enumerate(ports or []):
        _port(f, port, f"{where}.ports[{j}]", protocol)
    concurrency = service.get("concurrency")
    if concurrency is not None:
        _keys(f, concurrency, _CONCURRENCY, f"{where}.concurrency")
        kind = concurrency.get("type", "connections") if isinstance(concurrency, Mapping) else "connections"
        if kind not in ("connections", "requests"):
            f.add(FindingCode.BAD_VALUE, Severity.ERROR, f"{where}.concurrency.type",
                  f'concurrency type must be "connections" or "requests", got {kind!r}')  # fmt: skip
    _service_checks(f, service, where, has_top_checks)


def _service_checks(f: Findings, service: Mapping[str, Any], where: str, has_top_checks: bool) -> None:
    checks = list(service.get("tcp_checks") or []) + list(service.get("http_checks") or [])
    mistyped = {f"{where}.tcp_checks", f"{where}.http_checks"} & f.invalid
    if not checks and not has_top_checks and not mistyped:
        f.add(FindingCode.NO_HEALTH_CHECK, Severity.WARNING, f"{where}.tcp_checks",
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


def _port(f: Findings, port: Any, where: str, protocol: Any) -> None:
    _keys(f, port, _PORT, where)
    if not isinstance(port, Mapping):
        return
    options = port.get("tls_options")
    if options is not None:
        _keys(f, options, _TLS_OPTIONS, f"{where}.tls_options")
        for version in options.get("versions", []):
            if version not in _TLS_VERSIONS:
                f.add(FindingCode.BAD_VALUE, Severity.ERROR, f"{where}.tls_options.versions",
                      f"unknown TLS version {version!r}; Fly accepts {sorted(_TLS_VERSIONS)}")  # fmt: skip
        if "tls" not in (port.get("handlers") or []):
            f.add(FindingCode.TLS_OPTIONS_UNUSED, Severity.WARNING, f"{where}.tls_options",
                  "tls_options has no effect without the 'tls' handler on this port",
                  'add "tls" to handlers, or remove tls_options')  # fmt: skip
    if not ({"port", "start_port"} & port.keys()) and not {f"{where}.port", f"{where}.start_port"} & f.invalid:
        f.add(FindingCode.MISSING_KEY, Severity.ERROR, where, f"{where} needs port (or start_port and end_port)")
    handlers = port.get("handlers") or []
    for handler in handlers:
        key = f"{where}.handlers"
        if handler not in _HANDLERS:
            f.add(
                FindingCode.BAD_VALUE,
                Severity.ERROR,
                key,
                f"unknown handler {handler!r}; Fly knows {sorted(_HANDLERS)}",
            )
        elif handler == "tls" and protocol == "tcp":
            f.add(FindingCode.TLS_HANDLER, Severity.INFO, key,
                  "Fly's proxy terminates TLS on this port and forwards plain TCP to the app: TLS clients that send "
                  "SNI (<app>.fly.dev, or a name added with 'fly certs add') reach it, also over the shared IPv4 "
                  "without a dedicated one; plain-TCP clients fail on this port",
                  "make the clients speak TLS with SNI, and verify with: python -m tcpreach probe <app>.fly.dev "
                  "--port PORT --tls")  # fmt: skip
        elif handler == "proxy_proto":
            f.add(FindingCode.HANDLERS_ON_RAW_TCP, Severity.WARNING, key,
                  "proxy_proto prepends a PROXY protocol header to each connection: the server must parse it",
                  "remove it unless the server reads the PROXY header")  # fmt: skip
        elif protocol == "tcp":
            f.add(FindingCode.HANDLERS_ON_RAW_TCP, Severity.ERROR, key,
                  f"the {handler!r} handler makes Fly's proxy terminate {_TERMINATES[handler]} on this port: a raw "
                  "TCP greeting never reaches the client as written",
                  "set handlers = [] so the bytes pass through untouched")  # fmt: skip


def _dockerfile(f: Findings, config: Mapping[str, Any], dockerfile: Dockerfile) -> None:
    for line in dockerfile.platform_pins:
        f.add(FindingCode.PLATFORM_PIN, Severity.INFO, f"Dockerfile:{line}",
              "FROM --platform is unnecessary for Fly.io: flyctl builds linux/amd64 on its remote builders",
              "drop --platform; pass --platform to a local build on Arm only if you need it")  # fmt: skip
    ports = [s.get("internal_port") for s in config.get("services") or [] if isinstance(s, Mapping)]
    for port in ports:
        if dockerfile.exposed and port not in dockerfile.exposed:
            f.add(FindingCode.PORT_MISMATCH, Severity.WARNING, "Dockerfile:EXPOSE",
                  f"the Dockerfile EXPOSEs {list(dockerfile.exposed)} but internal_port is {port}",
                  f"EXPOSE {port}")  # fmt: skip

"""The types of fly.toml's keys, checked before any rule: a value of the wrong type becomes a
``bad-type`` finding and is left out of what the rules see. Also the findings collector
the rules write to."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tcpreach.findings import Finding, FindingCode, Severity

__all__ = ["TOP_SPEC", "Findings", "Spec", "kind_of", "typed"]


@dataclass
class Findings:
    items: list[Finding] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)
    """Keys whose value had the wrong type (left out)."""

    def add(self, code: FindingCode, severity: Severity, key: str, message: str, remedy: str = "") -> None:
        self.items.append(Finding(code, severity, message, remedy, key=key))


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
TOP_SPEC: dict[str, Spec] = {
    "app": str, "primary_region": str, "kill_signal": str, "kill_timeout": _DURATION_TYPES, "swap_size_mb": int,
    "build": ("table", _BUILD_SPEC), "services": ("tables", _SERVICE_SPEC), "http_service": dict,
    "checks": ("table-of", ("table", _CHECK_SPEC)), "vm": ("tables", _VM_SPEC), "env": dict,
    "experimental": dict, "processes": dict, "deploy": dict,
}  # fmt: skip
_KINDS = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a table"}


def kind_of(value: Any) -> str:
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


def typed(f: Findings, value: Any, spec: Spec, where: str) -> Any:
    """``value`` with every wrongly typed part left out, one finding per part."""
    if isinstance(spec, tuple) and spec and isinstance(spec[0], str):
        kind, inner = spec
        if kind in ("list", "tables") and isinstance(value, list):
            items = [typed(f, item, inner if kind == "list" else ("table", inner), f"{where}[{i}]")
                     for i, item in enumerate(value)]  # fmt: skip
            return [item for item in items if item is not _BAD]
        if kind == "table" and isinstance(value, dict):
            checked = {k: typed(f, v, inner[k], _join(where, k)) if k in inner else v for k, v in value.items()}
            return {k: v for k, v in checked.items() if v is not _BAD}
        if kind == "table-of" and isinstance(value, dict):
            tables = {k: typed(f, v, inner, _join(where, k)) for k, v in value.items()}
            return {k: v for k, v in tables.items() if v is not _BAD}
        return _wrong(f, value, spec, where)
    kinds = spec if isinstance(spec, tuple) else (spec,)
    return value if _fits(value, kinds) else _wrong(f, value, spec, where)


def _wrong(f: Findings, value: Any, spec: Spec, where: str) -> Any:
    fix = ""
    if isinstance(value, str) and spec == ("list", str):
        fix = f"write {where.rsplit('.', 1)[-1]} = [{json.dumps(value)}]"
    elif isinstance(value, str) and spec in (int, (int,)) and value.strip().isdigit():
        fix = f"write {where.rsplit('.', 1)[-1]} = {value.strip()} (a number, without quotes)"
    f.add(FindingCode.BAD_TYPE, Severity.ERROR, where, f"{where} must be {_wanted(spec)}, got {kind_of(value)}", fix)
    f.invalid.add(where)
    return _BAD


_BAD = object()


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key

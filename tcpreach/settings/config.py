"""Settings from any source made into one ``CheckOptions``, and the TOML configuration file.

The command line, the pytest plugin and a configuration file each gather the values they
were given (``Given``: the value and where it came from); ``parsed`` turns them into
values, naming the setting and the source in any error, and ``options_from`` combines
them into the ``CheckOptions`` of a check. A configuration file holds the settings' own
names as keys::

    port = 1848
    expect_prefix = "+OK"
    keep_open = true
    probe_timeout = 2.5
    host = ["hello-server.fly.dev"]
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tcpreach.dialogue import dialogue
from tcpreach.errors import UsageError
from tcpreach.expectation import Expectation, Match
from tcpreach.options import CheckOptions, TlsSettings
from tcpreach.settings import BY_NAME, Given, Kind, Setting, Surface
from tcpreach.settings.documents import parse_toml, read_text
from tcpreach.settings.inputs import MAX_FILE_BYTES

__all__ = ["Label", "line_of", "load_config", "options_from", "parsed", "read_toml", "settings_of"]

Label = Callable[[Setting], str]
"""How a setting is named in an error: ``--port``, ``--tcpreach-port``, ``port``."""
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _key(setting: Setting) -> str:
    return setting.key


def _value(setting: Setting, raw: Any) -> Any:
    """One value as given (text, or a TOML value) parsed by its setting."""
    if setting.kind is Kind.FLAG:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower() if isinstance(raw, str) else None
        if word is None or word not in _TRUE | _FALSE:
            raise UsageError(f"takes true or false (1, yes, on / 0, no, off), got {raw!r}")
        return word in _TRUE
    if setting.kind is Kind.LIST:
        if isinstance(raw, str):
            items: Any = _shell_words(raw) if setting.shell_words else raw.replace(",", " ").split()
        else:
            items = raw
        if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
            raise UsageError(f"takes a list of {setting.metavar or 'values'}, got {raw!r}")
        return tuple(setting.parse(item) for item in items)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise UsageError(f"takes {setting.metavar or 'a value'}, got {raw!r}")
    return setting.parse(str(raw))


def _shell_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"cannot split {text!r} into words: {exc}") from None


def parsed(given: Mapping[str, Given], label: Label = _key) -> dict[str, Any]:
    """Every given value parsed by its setting. Raises ``UsageError``: ``--tcpreach-port:
    port must be an integer in 1..65535, got 'abc' (from TCPREACH_PORT)``."""
    values: dict[str, Any] = {}
    _one_of_each_group(given, label)
    for name, item in given.items():
        setting = BY_NAME[name]
        try:
            values[name] = _value(setting, item.value)
        except ValueError as exc:
            where = f" (from {item.source})" if item.source else ""
            raise UsageError(f"{label(setting)}: {exc}{where}") from None
    return values


def _one_of_each_group(given: Mapping[str, Given], label: Label) -> None:
    """Settings of one group exclude each other: two of them from one source is an error,
    never one of them dropped. Raises ``UsageError``."""
    groups: dict[str, list[str]] = {}
    for name in given:
        if BY_NAME[name].group:
            groups.setdefault(BY_NAME[name].group, []).append(name)
    for names in groups.values():
        if len(names) > 1:
            first, second = (BY_NAME[n] for n in names[:2])
            where = given[names[1]].source or given[names[0]].source
            raise UsageError(
                f"{label(first)} and {label(second)} are two expectations: give one"
                + (f" (from {where})" if where else "")
            )


_ONE_STEP = ("expect", "expect_prefix", "expect_regex", "send")


def _one_step(values: Mapping[str, Any]) -> Expectation:
    """The one-step expectation: a regex over a prefix over the exact bytes."""
    send = values.get("send") or b""
    keep_open = bool(values.get("keep_open"))
    if values.get("expect_regex") is not None:
        return Expectation(values["expect_regex"], Match.REGEX, send, keep_open)
    if values.get("expect_prefix") is not None:
        return Expectation(values["expect_prefix"], Match.PREFIX, send, keep_open)
    data = values["expect"] if values.get("expect") is not None else BY_NAME["expect"].typed_default()
    return Expectation(data, Match.EXACT, send, keep_open)


def _expectation(values: Mapping[str, Any], label: Label) -> Expectation:
    """The expectation the values describe: one step, a dialogue's steps, or a protocol's
    STARTTLS followed by either (or by its own polite end)."""
    steps, starttls = values.get("steps") or (), values.get("starttls")
    single = [name for name in _ONE_STEP if values.get(name) is not None]
    if steps and single:
        names = ", ".join(label(BY_NAME[name]) for name in single)
        raise UsageError(f"{label(BY_NAME['steps'])} and {names} exclude each other: write every step as a step")
    if not steps and not starttls:
        return _one_step(values)
    after = steps or (_one_step(values).steps if single else ())
    try:
        return dialogue(after, starttls, bool(values.get("keep_open")))
    except ValueError as exc:
        raise UsageError(f"{label(BY_NAME['steps'])}: {exc}") from None


_TLS_ONLY = ("cert", "key", "insecure", "min_tls")


def _tls(values: Mapping[str, Any], label: Label, starttls: bool = False) -> TlsSettings | None:
    if values.get("tls") and starttls:
        raise UsageError(
            f"{label(BY_NAME['tls'])} speaks TLS from the connect, STARTTLS upgrades in the middle of the "
            f"stream: give one of {label(BY_NAME['tls'])} and {label(BY_NAME['starttls'])}"
        )
    if not values.get("tls") and not starttls:
        if values.get("sni") or values.get("ca"):
            names = (label(BY_NAME["sni"]), label(BY_NAME["ca"]), label(BY_NAME["tls"]))
            raise UsageError("{} and {} go with {} (or {})".format(*names, label(BY_NAME["starttls"])))
        given = [label(BY_NAME[name]) for name in _TLS_ONLY if values.get(name)]
        if given:
            raise UsageError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} with {label(BY_NAME['tls'])}")
        return None
    if values.get("key") and not values.get("cert"):
        raise UsageError(f"{label(BY_NAME['key'])} goes with {label(BY_NAME['cert'])}")
    return TlsSettings(
        server_name=values.get("sni") or None,
        ca_file=values.get("ca") or None,
        cert_file=values.get("cert") or None,
        key_file=values.get("key") or None,
        insecure=bool(values.get("insecure")),
        min_version=values.get("min_tls") or None,
    )


def _sources(addresses: tuple[str, ...], label: Label) -> tuple[str, ...]:
    families = [":" in a for a in addresses]
    if len(set(families)) != len(families):
        raise UsageError(f"{label(BY_NAME['source'])}: one address per family, got {', '.join(addresses)}")
    return tuple(addresses)  # the command line's repeated flag gives a list: CheckOptions holds a tuple


def options_from(values: Mapping[str, Any], label: Label = _key) -> CheckOptions:
    """Parsed values (a setting that is absent takes its default) as one ``CheckOptions``."""

    def value(name: str) -> Any:
        given = values.get(name)
        return BY_NAME[name].typed_default() if given is None else given

    expectation = _expectation(values, label)
    return CheckOptions(
        port=value("port"),
        expectation=expectation,
        families=value("family"),
        timeout=value("probe_timeout"),
        dns_lifetime=value("dns_lifetime"),
        retries=value("retries"),
        resolver=values.get("resolver"),
        tls=_tls(values, label, expectation.starttls),
        sources=_sources(values.get("source") or (), label),
        cert_warn_days=value("cert_warn"),
        cert_crit_days=value("cert_crit"),
        vantage=values.get("vantage") or "",
    )


def line_of(lines: list[str], key: str) -> int | None:
    """The line (from 1) where ``key = ...`` or a table ``[key]``/``[key.sub]`` begins."""
    pattern = re.compile(rf"""^\s*(\[+\s*)?(["']?){re.escape(key)}\2\s*(=|\]|\.)""")
    return next((number for number, line in enumerate(lines, 1) if pattern.match(line)), None)


def read_toml(path: Path, what: str, limit: int = MAX_FILE_BYTES) -> tuple[dict[str, Any], list[str]]:
    """A TOML file's table and its lines. Raises ``UsageError``: unreadable, not UTF-8, not TOML."""
    text = read_text(path, what, limit)
    return parse_toml(text, str(path), what), text.splitlines()


def settings_of(table: Mapping[str, Any], path: Path, lines: list[str]) -> dict[str, Given]:
    """A TOML table's keys as settings, each with its ``FILE:LINE`` as source. Raises
    ``UsageError`` for a key that is no setting (naming the closest one)."""
    given: dict[str, Given] = {}
    for key, value in table.items():
        line = line_of(lines, key)
        where = f"{path}:{line}" if line else str(path)
        setting = BY_NAME.get(key)
        if setting is None or Surface.CONFIG not in setting.surfaces:
            known = [s.key for s in BY_NAME.values() if Surface.CONFIG in s.surfaces]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the settings are {', '.join(known)}"
            raise UsageError(f"{where}: {key!r} is not a setting: {hint}")
        given[key] = Given(value, where)
    return given


def load_config(path: Path) -> dict[str, Given]:
    """The settings of a TOML configuration file, each with its ``FILE:LINE`` as source.

    Raises ``UsageError`` for a file that cannot be read or parsed and for a key that is
    no setting (naming the closest one)."""
    table, lines = read_toml(path, "a TOML configuration file")
    return settings_of(table, path, lines)

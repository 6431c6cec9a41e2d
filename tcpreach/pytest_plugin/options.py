"""The pytest plugin's options, ini keys and environment variables, made from the settings
table (``tcpreach.settings``), each under the plugin's own prefix; aliases for a project's
own ``conftest.py``; and what a run was given, with where.

Light on purpose: the plugin loads this in every pytest run of the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tcpreach.settings import CONFIG, PREFIX, SETTINGS, Given, Kind, Setting, Surface

__all__ = ["JSON_FLAG", "PLUGIN_SETTINGS", "add_aliases", "add_options", "anything_set", "given", "value_of"]

PLUGIN_SETTINGS: tuple[Setting, ...] = tuple(s for s in SETTINGS if Surface.PLUGIN in s.surfaces)
_BY_NAME = {s.name: s for s in (*PLUGIN_SETTINGS, CONFIG)}
JSON_FLAG = f"--{PREFIX}-json"
_JSON_DEST = f"{PREFIX}_json"


def _add(adder: Callable[..., Any], flag: str, setting: Setting, help_text: str | None = None) -> None:
    text = help_text or setting.help
    if setting.kind is Kind.FLAG:
        adder(flag, action="store_true", default=None, dest=setting.dest, help=f"{text}; env {setting.env}=1")
    else:
        action = "append" if setting.kind is Kind.LIST else "store"
        adder(flag, action=action, default=None, dest=setting.dest, metavar=setting.metavar,
              help=f"{text}; env {setting.env}")  # fmt: skip


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(PREFIX, "reachability of a TCP service over every address (pytest-tcpreach)")
    for setting in (*PLUGIN_SETTINGS, CONFIG):
        _add(group.addoption, setting.plugin_flag, setting)
        if setting.kind is Kind.LIST:
            parser.addini(setting.ini, setting.help, type="args", default=[])
        else:
            parser.addini(setting.ini, setting.help, default="")
    group.addoption(JSON_FLAG, dest=_JSON_DEST, default=None, metavar="PATH", help="write every report as JSON")


def add_aliases(parser: pytest.Parser, aliases: Mapping[str, str]) -> None:
    """Short spellings for a project's own ``conftest.py``: ``{"--host": "host", ...}``.

    Each alias behaves as ``--tcpreach-NAME``; ``"json"`` names ``--tcpreach-json``.
    Raises ``ValueError`` for a name that is no setting of the plugin.
    """
    group = parser.getgroup(PREFIX)
    for flag, name in aliases.items():
        if name == "json":
            group.addoption(flag, dest=_JSON_DEST, default=None, metavar="PATH", help=f"alias of {JSON_FLAG}")
        elif name in _BY_NAME:
            setting = _BY_NAME[name]
            _add(group.addoption, flag, setting, help_text=f"alias of {setting.plugin_flag}")
        else:
            known = ", ".join([*_BY_NAME, "json"])
            raise ValueError(f"add_aliases: {flag} names no setting {name!r}; the settings are {known}")


def value_of(config: pytest.Config, name: str) -> Given | None:
    """A setting as given to this run (command line > environment > ini), or ``None``."""
    setting = _BY_NAME[name]
    cli = config.getoption(setting.dest)
    if cli not in (None, [], ""):
        return Given(cli, "the command line")
    env = os.environ.get(setting.env)
    if env:
        return Given(env, setting.env)
    try:
        ini = config.getini(setting.ini)  # a flag's text is judged by its setting, naming the key
    except (ValueError, pytest.UsageError) as exc:  # pytest's own word splitting ("No closing quotation")
        raise pytest.UsageError(f"{PREFIX}: ini key {setting.ini}: {exc}") from None
    if ini not in ("", []):
        return Given(ini, f"ini key {setting.ini}")
    return None


def given(config: pytest.Config) -> dict[str, Given]:
    """Every setting given to this run, with where (not the configuration file's)."""
    return {s.name: item for s in PLUGIN_SETTINGS if (item := value_of(config, s.name)) is not None}


def anything_set(config: pytest.Config) -> bool:
    """Any setting of ours given at all: otherwise the plugin has nothing to check yet."""
    return bool(given(config)) or value_of(config, CONFIG.name) is not None or config.getoption(_JSON_DEST) is not None

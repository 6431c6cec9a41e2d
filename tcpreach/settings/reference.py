"""The settings reference, written from the settings table (never by hand):
``python -m tcpreach.settings.reference > docs/settings.md``. A test holds the page
against the table, so a setting added without regenerating it fails the suite."""

from __future__ import annotations

import sys

from tcpreach.settings import CONFIG, SETTINGS, Kind, Setting, Surface

__all__ = ["render"]

_HEAD = """# Settings

Every setting of a check, from one table (`tcpreach/settings/__init__.py`): the same
name on every surface. `probe` takes the flag; the pytest plugin takes its option, its
environment variable or its ini key (command line over environment over ini); a TOML
configuration file (`probe --config`, `--tcpreach-config`, an exporter module) takes the
key. This repository's `conftest.py` also gives the plugin's options the short spellings
of `probe` (`--port`), for its own suite only.

This page is generated: `python -m tcpreach.settings.reference > docs/settings.md`.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(setting: Setting) -> str:
    if setting.kind is Kind.FLAG:
        return "off"
    if setting.kind is Kind.LIST:
        return "none" if not setting.default else ", ".join(setting.default)  # type: ignore[arg-type]
    return f"`{_cell(str(setting.default))}`" if setting.default != "" else "none"


def _row(setting: Setting) -> str:
    value = f" {setting.metavar}" if setting.metavar and setting.kind is not Kind.FLAG else ""
    cli = ", ".join(f"`{flag}{value}`" for flag in setting.cli) if Surface.CLI in setting.surfaces else "-"
    plugin = Surface.PLUGIN in setting.surfaces
    option = f"`{setting.plugin_flag}`" if plugin else "-"
    env = f"`{setting.env}`" if plugin else "-"
    ini = f"`{setting.ini}`" if plugin else "-"
    key = f"`{setting.key}`" if Surface.CONFIG in setting.surfaces else "-"
    repeat = " (repeatable)" if setting.kind is Kind.LIST or setting.ordered else ""
    cells = [key, cli + repeat, option, env, ini, _default(setting), _cell(setting.help)]
    return "| " + " | ".join(cells) + " |"


def render() -> str:
    """The whole page, as ``docs/settings.md`` holds it."""
    lines = [
        _HEAD,
        "| key | probe | plugin option | environment | ini | default | meaning |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [_row(setting) for setting in (*SETTINGS, CONFIG)]
    groups = sorted({s.group for s in SETTINGS if s.group})
    for group in groups:
        members = ", ".join(f"`{s.key}`" for s in SETTINGS if s.group == group)
        lines += ["", f"{members}: one of them at most from one source ({group}); two are an error, never one dropped."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())

"""docs/settings.md is the settings table's own page: written from it, and held against it."""

from __future__ import annotations

from pathlib import Path

from tcpreach.settings import SETTINGS, Surface
from tcpreach.settings.reference import render

PAGE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_the_settings_page_is_the_table_as_it_is_now():
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "docs/settings.md is stale: python -m tcpreach.settings.reference > docs/settings.md"
    )


def test_every_setting_has_its_row_with_each_of_its_spellings():
    rows = [line for line in render().splitlines() if line.startswith("| `")]
    for setting in SETTINGS:
        (row,) = [r for r in rows if r.startswith(f"| `{setting.key}` |")]
        spellings = [setting.plugin_flag, setting.env, setting.ini] if Surface.PLUGIN in setting.surfaces else []
        spellings += list(setting.cli) if Surface.CLI in setting.surfaces else []
        assert [s for s in spellings if f"`{s}" not in row] == []

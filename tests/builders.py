"""Helpers the tests build with, beside the fixtures of conftest.py: plain functions a
test file imports."""

from __future__ import annotations

import re

__all__ = ["parse_plugin_output"]

# The monitoring-plugins development guidelines, as a parser: one line of text, then after
# "|" the performance data, space-separated 'label'=value[UOM];[warn];[crit];[min];[max]: a
# label with a space or a quote is single-quoted (a quote in it doubled), the UOM one of
# the guidelines' own, warn and crit ranges ([@][start:][end], ~ for minus infinity).
_LABEL = r"(?:'(?:[^'=]|'')+'|[^'= ]+)"
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
_RANGE = rf"(?:@?(?:(?:~|{_NUMBER}):)?(?:{_NUMBER})?)"
_PERF = re.compile(
    rf"^(?P<label>{_LABEL})=(?P<value>{_NUMBER}|U)(?P<uom>s|ms|us|%|B|KB|MB|TB|c)?"
    rf"(?:;(?P<warn>{_RANGE})(?:;(?P<crit>{_RANGE})(?:;(?P<min>{_NUMBER})?(?:;(?P<max>{_NUMBER})?)?)?)?)?$"
)
_STATES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


def parse_plugin_output(text: str) -> tuple[int, str, list[dict[str, str | None]]]:
    """The state's exit code, the status text and each performance datum; raises
    AssertionError where the output breaks the guidelines."""
    assert text.endswith("\n") and text.count("\n") == 1, f"one line of output, got {text!r}"
    status, bar, perfdata = text[:-1].partition(" | ")
    assert "|" not in status, "a '|' in the text would start the performance data"
    service, _, rest = status.partition(" ")
    state = rest.split(" ", 1)[0]
    assert service.isupper() and state in _STATES, f"'SERVICE STATE - text', got {status!r}"
    data = []
    for item in re.findall(r"(?:'(?:[^']|'')*'|[^ '])+", perfdata) if bar else []:
        found = _PERF.match(item)
        assert found is not None, f"performance data {item!r} is not label=value[UOM];warn;crit;min;max"
        data.append(found.groupdict())
    return _STATES[state], status, data

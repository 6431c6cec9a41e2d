"""The one reading layer for documents: whatever a file holds, it is read or refused in one
line naming it (and its line where there is one), never a traceback or a half-read."""

from __future__ import annotations

import io
import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpreach.errors import UsageError
from tcpreach.report.document import load_reports
from tcpreach.settings.documents import MAX_DEPTH, parse_json, parse_toml, read_document, read_text


def refusal(call, *args) -> str:
    with pytest.raises(UsageError) as raised:
        call(*args)
    return str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, f"r.json:1: nested over {MAX_DEPTH} levels deep: that is not a report"),
        ('{"a": ' * 70 + "1" + "}" * 70, f"r.json:1: nested over {MAX_DEPTH} levels deep: that is not a report"),
        ("1" * 5000, "r.json: not a report: a number of 5,000 digits"),
        ('{"port": NaN}', "r.json: not a report: NaN is no JSON value"),
        ('{"a": 1,\n "b": }', "r.json:2: not JSON: Expecting value (column 7)"),
    ],
    ids=["deep-arrays", "deep-objects", "huge-integer", "nan", "broken"],
)
def test_a_hostile_json_document_is_one_line(text, message):
    assert refusal(parse_json, text, "r.json", "a report") == message


def test_brackets_inside_strings_are_no_nesting():  # the look-alike of the deep document
    text = json.dumps({"data": "[" * 1000})
    assert parse_json(text, "r.json", "a report") == {"data": "[" * 1000}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a = " + "[" * 3000, f"c.toml:1: nested over {MAX_DEPTH} levels deep: that is not a configuration"),
        ("a = 1" + "0" * 5000 + ".5", "c.toml: not a configuration: a number of 5,003 characters"),
        ("[a\n", "c.toml: not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 3)"),
    ],
    ids=["deep-arrays", "huge-number", "broken"],
)
def test_a_hostile_toml_document_is_one_line(text, message):
    assert refusal(parse_toml, text, "c.toml", "a configuration") == message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe{}", "{path} is not UTF-8 text: invalid start byte at byte 0"),
        (b'{"a": "\x00"}', "{path} holds a NUL byte at byte 7: that is not a report"),
        (b"x" * 2_000_000, "{path} is over 1024 KiB: that is not a report, and it is not read"),
    ],
    ids=["not-utf8", "nul", "too-big"],
)
def test_a_file_that_is_not_text_is_one_line(tmp_path, content, message):
    path = tmp_path / "r.json"
    path.write_bytes(content)
    assert refusal(read_text, path, "a report") == message.format(path=path)


def test_a_folder_or_a_missing_file_is_one_line(tmp_path):
    assert refusal(read_text, tmp_path, "a report") == f"{tmp_path} is a directory: give the path of a report"
    missing = tmp_path / "gone.json"
    assert refusal(read_text, missing, "a report") == (
        f"cannot read {missing}: No such file or directory; give the path of a report"
    )


def test_dash_is_standard_input(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"schema": 1, "reports": []}')))
    from pathlib import Path

    assert read_document(Path("-"), "a report") == {"schema": 1, "reports": []}


@settings(max_examples=60)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20),
       st.integers(0, 40))  # fmt: skip
def test_any_json_value_or_a_cut_of_it_is_a_report_or_one_usage_error(value, cut):
    text = json.dumps(value)
    text = text[: len(text) - cut] if cut < len(text) else text
    problems: list[str] = []
    try:
        load_reports(parse_json(text, "r.json", "a report"))
    except UsageError as exc:
        problems.append(str(exc))
    assert [line for line in problems if "\n" in line] == []

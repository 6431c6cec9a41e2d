"""Golden files: the whole expected output of a corpus, kept in ``golden/NAME.json``.

A corpus module names its file (``GOLDEN = "lint.json"``) and its cases (``CASES``), and
checks each case with ``golden.check(name, found)``. After a deliberate change, regenerate
with ``TCPREACH_UPDATE_GOLDEN=1 pytest tests/unit/test_<corpus>.py`` and read the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

UPDATE = os.environ.get("TCPREACH_UPDATE_GOLDEN") == "1"


class Golden:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.stored: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        self.found: dict[str, Any] = {}

    def check(self, name: str, found: Any) -> None:
        self.found[name] = found
        expected = found if UPDATE else self.stored.get(name)
        assert found == expected, (
            f"{name}: regenerate {self.path.name} (TCPREACH_UPDATE_GOLDEN=1) if the change is meant"
        )

    def assert_holds(self, cases: Any) -> None:
        """The file holds exactly these cases: none stale, none missing."""
        if UPDATE:
            pytest.skip("TCPREACH_UPDATE_GOLDEN=1: the file is being written")
        assert sorted(self.stored) == sorted(cases)

    def write(self) -> None:
        """The cases checked in this run, and only those (a case removed leaves the file)."""
        self.path.parent.mkdir(exist_ok=True)
        self.path.write_text(json.dumps(dict(sorted(self.found.items())), indent=1, ensure_ascii=False) + "\n",
                             encoding="utf-8")  # fmt: skip


@pytest.fixture(scope="module")
def golden(request: pytest.FixtureRequest) -> Iterator[Golden]:
    kept = Golden(Path(request.path).parent / "golden" / request.module.GOLDEN)
    yield kept
    if UPDATE and set(kept.found) == set(request.module.CASES):  # a whole run, not a -k selection
        kept.write()


# Property tests: 200 random examples each under CI=true, where a change lands; 25 at a
# developer's desk, where the unit tests answer in a few seconds (``CI=true pytest
# tests/unit`` runs the landing count anywhere). The examples that matter most are
# written out as their own tests beside each property.
settings.register_profile("ci", max_examples=200, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=int(os.environ.get("TCPREACH_DEV_EXAMPLES", "25")))
settings.load_profile("ci" if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else "dev")


@pytest.fixture(scope="session")
def report_schema() -> Any:
    """A validator of docs/report.schema.json, the JSON Schema of a report document."""
    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "report.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return _Named(validator, "docs/report.schema.json")


class _Named:
    """An object with a short repr: hypothesis prints a failing test's arguments."""

    def __init__(self, wrapped: Any, name: str) -> None:
        self._wrapped, self._name = wrapped, name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._wrapped, attribute)

    def __repr__(self) -> str:
        return f"<{self._name}>"

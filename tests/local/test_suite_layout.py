"""How this repository's conftest.py runs the suite: ``pytest -m local`` imports no other
tier's modules (safe because a test carries its own folder's tier marker), and ``-n auto``
starts one worker more than there are CPUs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.local

CONFTEST = (Path(__file__).resolve().parents[2] / "conftest.py").read_text()
NOT_IMPORTED = 'raise RuntimeError("this tier was imported")\n'


@pytest.fixture
def tree(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    local: l\n    docker: d\n    edge: e\n    remote: r\n")
    for folder, text in {
        "unit": "def test_u():\n    pass\n",
        "local": "import pytest\n\n\n@pytest.mark.local\ndef test_l():\n    pass\n",
        "docker": "import pytest\n\npytestmark = pytest.mark.docker\n\n\ndef test_d():\n    pass\n",
    }.items():
        (pytester.path / "tests" / folder).mkdir(parents=True)
        (pytester.path / "tests" / folder / f"test_{folder}.py").write_text(text)
    return pytester


def collected(inner_pytest, *args: str) -> list[str]:
    result = inner_pytest("--co", "-q", *args)
    return [line for line in result.stdout.lines if "::" in line]


def test_one_tier_marker_imports_that_tier_alone(tree, inner_pytest):
    for folder in ("unit", "docker"):
        (tree.path / "tests" / folder / f"test_{folder}.py").write_text(NOT_IMPORTED)
    assert collected(inner_pytest, "-m", "local") == ["tests/local/test_local.py::test_l"]


def test_any_other_expression_collects_every_tier(tree, inner_pytest):
    assert collected(inner_pytest, "-m", "not docker") == [
        "tests/local/test_local.py::test_l",
        "tests/unit/test_unit.py::test_u",
    ]
    assert collected(inner_pytest, "-m", "local or docker") == [
        "tests/docker/test_docker.py::test_d",
        "tests/local/test_local.py::test_l",
    ]


def test_each_test_outside_its_tier_is_named_in_one_usage_error(tree, inner_pytest):
    for folder, marks in [
        ("local", "@pytest.mark.docker"),
        ("local", ""),
        ("unit", "@pytest.mark.local"),
        ("docker", "@pytest.mark.docker\n@pytest.mark.local"),
    ]:
        stray = tree.path / "tests" / folder / f"test_stray_{folder}.py"
        tests = stray.read_text() if stray.exists() else "import pytest\n"
        stray.write_text(f"{tests}\n\n{marks}\ndef test_{len(tests)}():\n    pass\n")
    result = inner_pytest("--co", "-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[:5] == [
        "ERROR: each folder of tests/ holds one tier, marked with its name (tests/unit: no tier marker):",
        "  tests/docker/test_stray_docker.py::test_14: docker and local, in tests/docker",
        "  tests/local/test_stray_local.py::test_14: docker, in tests/local",
        "  tests/local/test_stray_local.py::test_60: no tier marker, in tests/local",
        "  tests/unit/test_stray_unit.py::test_14: local, in tests/unit",
    ]


def test_n_auto_is_one_worker_more_than_the_cpus_unless_the_count_is_set(request, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    monkeypatch.setitem(sys.modules, "psutil", None)  # xdist's count without psutil
    assert request.config.hook.pytest_xdist_auto_num_workers(config=request.config) == 4
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "5")
    assert request.config.hook.pytest_xdist_auto_num_workers(config=request.config) == 5

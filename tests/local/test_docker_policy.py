"""Without an engine the docker tests skip with the reason; under CI they fail instead."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.local

DOCKER_SUITE = Path(__file__).resolve().parents[1] / "docker"


@pytest.fixture(scope="session")
def _docker_client_library():
    """Imported once per process, before pytester: it forgets what each test imported."""
    for name in ("docker", "testcontainers.core.container", "tcpreach.testing.container", "tcpreach.check", "filelock"):
        importlib.import_module(name)


@pytest.fixture
def no_engine(_docker_client_library, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("REQUIRE_DOCKER", raising=False)


def test_without_an_engine_the_docker_tests_skip_with_the_reason(inner_pytest, no_engine):
    result = inner_pytest("-m", "docker", "-rs", str(DOCKER_SUITE))
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) >= 10
    assert "passed" not in outcomes
    assert "failed" not in outcomes
    result.stdout.fnmatch_lines(["*no Docker engine answers*docker/engine.sh start*"])


@pytest.mark.parametrize("variable", ["CI", "REQUIRE_DOCKER"])
def test_under_ci_they_fail_instead(inner_pytest, no_engine, monkeypatch, variable):
    monkeypatch.setenv(variable, "true" if variable == "CI" else "1")
    result = inner_pytest("-m", "docker", str(DOCKER_SUITE))
    assert result.ret != 0
    assert "skipped" not in result.parseoutcomes()
    result.stdout.fnmatch_lines(["*the docker tests must run, not skip*"])

"""Without an engine the docker tests skip with the reason; under CI they fail instead."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.local

DOCKER_SUITE = Path(__file__).resolve().parents[1] / "docker"


@pytest.fixture
def no_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("REQUIRE_DOCKER", raising=False)


def test_without_an_engine_the_docker_tests_skip_with_the_reason(pytester, no_engine):
    result = pytester.runpytest_inprocess(
        "-m", "docker", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--timeout=0", "-rs", str(DOCKER_SUITE)
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) >= 10
    assert "passed" not in outcomes
    assert "failed" not in outcomes
    result.stdout.fnmatch_lines(["*no Docker engine answers*docker/engine.sh start*"])


@pytest.mark.parametrize("variable", ["CI", "REQUIRE_DOCKER"])
def test_under_ci_they_fail_instead(pytester, no_engine, monkeypatch, variable):
    monkeypatch.setenv(variable, "true" if variable == "CI" else "1")
    result = pytester.runpytest_inprocess(
        "-m", "docker", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--timeout=0", str(DOCKER_SUITE)
    )
    assert result.ret != 0
    assert "skipped" not in result.parseoutcomes()
    result.stdout.fnmatch_lines(["*the docker tests must run, not skip*"])

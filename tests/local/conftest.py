"""What the local tier's namespace tests need: root, ``ip`` and ``unshare``."""

from __future__ import annotations

import os
import shutil
import sys

import pytest


def namespaces_problem() -> str | None:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs Linux, unshare (util-linux) and ip (iproute2) for network namespaces"
    if os.geteuid() != 0:
        return "needs root to create a network namespace"
    return None


@pytest.fixture(scope="session")
def namespaces() -> None:
    """Skip without root locally; under CI=true, which runs as root, fail instead."""
    problem = namespaces_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{problem} (CI=true: this test must run, not skip)", pytrace=False)
        pytest.skip(problem)

"""The edge tier's lab: three network namespaces with HAProxy as Fly's edge, Knot as the
``fly.dev`` DNS, the hello server as the app, blackhole/prohibit/ICMP routes and a lossy
link (``netlab``). One lab per xdist worker; torn down at the end, also on failure.

Without root or the Debian daemons the tier skips with the reason; under ``CI=true`` it
fails instead, since CI installs everything it needs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from netlab.lab import EdgeLab, lab_problem

REQUIRED = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(problem: str) -> None:
    """Skip with the reason; under CI=true fail instead, since CI installs what is needed."""
    if REQUIRED:
        pytest.fail(f"{problem} (CI=true: the edge tier must run, not skip)", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="session")
def edge_unavailable() -> Callable[[str], None]:
    """What a test calls when a daemon or tool it needs is missing (``unavailable``)."""
    return unavailable


@pytest.fixture(scope="session")
def lab() -> Iterator[EdgeLab]:
    problem = lab_problem()
    if problem is not None:
        unavailable(problem)
    # The lossy path drops the first packet of every flow from the client, and delays by
    # 100 ms each way: deterministic loss, so a test can say what must survive it.
    with EdgeLab(drop_first=True, delay=0.1) as built:
        yield built

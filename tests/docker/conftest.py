"""The image, built once per run (also under xdist), and the engine policy: without an
engine the docker tests skip with the reason, and fail under CI=true or REQUIRE_DOCKER=1."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from tcpreach.testing.container import ServiceContainer, build_image, engine_problem, image_exists, remove_image

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = os.environ.get("HELLO_BASE_IMAGE", "hello-server-base:bookworm")
REQUIRED = os.environ.get("CI", "").lower() in {"1", "true", "yes"} or os.environ.get("REQUIRE_DOCKER") == "1"


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (CI=true or REQUIRE_DOCKER=1: the docker tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def unavailable_here() -> Callable[[str], None]:
    """What a test calls when the engine lacks something it needs (say, IPv6): skip, or
    fail under CI=true or REQUIRE_DOCKER=1, where our engine.sh gives every container one."""
    return unavailable


@pytest.fixture(scope="session")
def docker_engine() -> None:
    problem = engine_problem()
    if problem is not None:
        unavailable(problem)
    if not image_exists(BASE_IMAGE):
        unavailable(
            f"base image {BASE_IMAGE} is not on this engine and none can be pulled: make it with "
            "docker/make-base-image.sh (root), or set HELLO_BASE_IMAGE to a local image with python3"
        )


@pytest.fixture(scope="session")
def base_image(docker_engine: None) -> str:
    """The base every image of the tier is built from (made offline by docker/make-base-image.sh)."""
    return BASE_IMAGE


@pytest.fixture(scope="session")
def hello_image(docker_engine: None, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    """The linux/amd64 image, built once for all xdist workers and removed by the last one."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent
    tag = f"hello-server:test-{hashlib.sha256(str(shared).encode()).hexdigest()[:12]}"
    users = shared / "hello-image.users"
    lock = FileLock(str(shared / "hello-image.lock"))
    with lock:
        if not image_exists(tag):
            build_image(ROOT, "docker/Dockerfile", tag, {"BASE_IMAGE": BASE_IMAGE})
        users.write_text(str(int(users.read_text() if users.exists() else "0") + 1))
    yield tag
    with lock:
        left = int(users.read_text()) - 1
        users.write_text(str(left))
        if left == 0:
            remove_image(tag)


@pytest.fixture(scope="session")
def hello_container(hello_image: str) -> Iterator[ServiceContainer]:
    """One container of the hello image for the session, greeting on every binding."""
    with ServiceContainer(hello_image) as service:
        service.wait_for_greeting(b"hello\n")
        yield service

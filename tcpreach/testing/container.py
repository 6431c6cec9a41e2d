"""Gathering from a container: build a service's image, run it, and list every address a
client can reach it at, with testcontainers (a test extra, imported when used).

    with ServiceContainer("hello-server:test", port=1848) as service:
        service.wait_for_greeting(b"hello\\n")
        for target in service.targets():        # published IPv4/IPv6 bindings, the
            ...                                 # container's own IPv4/IPv6 addresses

Offline, nothing is pulled and the Ryuk reaper (itself a pulled image) is off; every
container is removed by ``stop``.
"""

from __future__ import annotations

import contextlib
import gc
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tcpreach.errors import TcpreachError
from tcpreach.expectation import Expectation, as_expectation
from tcpreach.model import Family, Target, TargetOutcome, Verdict
from tcpreach.options import DEFAULT_PORT, CheckOptions

__all__ = [
    "PLATFORM",
    "ContainerNotReadyError",
    "EngineUnavailableError",
    "Reachable",
    "ServiceContainer",
    "build_image",
    "engine_problem",
    "image_exists",
    "reachable_from_inspect",
    "remove_image",
]

PLATFORM = "linux/amd64"  # what Fly.io runs


class EngineUnavailableError(TcpreachError, RuntimeError):
    """No Docker engine answers; the message says where it looked and what to do."""


class ContainerNotReadyError(TcpreachError, RuntimeError):
    """The container never greeted; the message carries its state and logs."""


def _testcontainers() -> Any:
    try:
        from testcontainers.core.config import testcontainers_config
    except ImportError as exc:
        raise EngineUnavailableError(
            f"testcontainers is not installed ({exc}): pip install 'pytest-tcpreach[test]'"
        ) from exc
    testcontainers_config.ryuk_disabled = True  # the reaper's image cannot be pulled offline
    return testcontainers_config


def engine_problem() -> str | None:
    """Why no Docker engine can be used from here, or ``None`` when one answers."""
    try:
        import docker
    except ImportError as exc:
        return f"the docker package is missing ({exc}): pip install 'pytest-tcpreach[test]'"
    problem = None
    try:
        client = docker.from_env(timeout=10)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        problem = (
            f"no Docker engine answers ({type(exc).__name__}: {exc}); start one (as root: docker/engine.sh start) "
            "or point DOCKER_HOST at it"
        )
    if problem is not None:
        # docker-py leaves a failed connection's socket to the garbage collector: collect
        # it here, quietly, rather than at a random later point as a ResourceWarning.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    return problem


def image_exists(name: str) -> bool:
    import docker

    client = docker.from_env()
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    finally:
        client.close()
    return True


def build_image(context: Path, dockerfile: str, tag: str, buildargs: dict[str, str], target: str | None = None) -> Any:
    """Build ``tag`` (the stage ``target``, else the last) for linux/amd64 with
    testcontainers' ``DockerImage``; never pulls."""
    _testcontainers()
    from testcontainers.core.image import DockerImage

    extra = {} if target is None else {"target": target}
    return DockerImage(
        path=str(context), dockerfile_path=dockerfile, tag=tag, buildargs=buildargs, platform=PLATFORM, rm=True, **extra
    ).build()


def remove_image(tag: str) -> None:
    import docker

    client = docker.from_env()
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.remove(tag, force=True)
    client.close()


@dataclass(frozen=True)
class Reachable:
    """Where a container can be reached from this machine; ``None`` where the engine gives no such address."""

    published_ipv4: Target | None
    published_ipv6: Target | None
    container_ipv4: Target | None
    container_ipv6: Target | None

    def all(self) -> list[Target]:
        return [t for t in (self.published_ipv4, self.published_ipv6, self.container_ipv4, self.container_ipv6) if t]


_LOOPBACK_FOR = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


def reachable_from_inspect(attrs: dict[str, Any], port: int) -> Reachable:
    """Every binding of ``port`` from ``docker inspect``'s NetworkSettings (pure: tested
    without an engine). testcontainers' own ``get_exposed_port`` returns the first
    binding only, whatever its family."""
    network = attrs.get("NetworkSettings") or {}
    bindings = (network.get("Ports") or {}).get(f"{port}/tcp") or []
    published: dict[Family, Target] = {}
    for binding in bindings:
        host_ip = _LOOPBACK_FOR.get(binding.get("HostIp", ""), binding.get("HostIp", ""))
        family = Family.of(host_ip)
        published.setdefault(family, Target(family, host_ip, int(binding["HostPort"])))
    v4 = network.get("IPAddress") or ""
    v6 = network.get("GlobalIPv6Address") or ""
    for net in (network.get("Networks") or {}).values():
        v4 = v4 or net.get("IPAddress") or ""
        v6 = v6 or net.get("GlobalIPv6Address") or ""
    return Reachable(
        published.get(Family.IPV4),
        published.get(Family.IPV6),
        Target(Family.IPV4, v4, port) if v4 else None,
        Target(Family.IPV6, v6, port) if v6 else None,
    )


class ServiceContainer:
    """One running container of a TCP greeting service."""

    def __init__(
        self,
        image: str,
        port: int = DEFAULT_PORT,
        command: list[str] | None = None,
        read_only: bool = False,
    ) -> None:
        _testcontainers()
        from testcontainers.core.container import DockerContainer

        self.port = port
        self.container = DockerContainer(image).with_exposed_ports(port)
        if command is not None:
            self.container.with_command(command)
        if read_only:
            self.container.with_kwargs(read_only=True)

    def start(self) -> ServiceContainer:
        self.container.start()
        return self

    @property
    def wrapped(self) -> Any:
        return self.container.get_wrapped_container()

    def inspect(self) -> dict[str, Any]:
        self.wrapped.reload()
        attrs: dict[str, Any] = self.wrapped.attrs
        return attrs

    def reachable(self) -> Reachable:
        return reachable_from_inspect(self.inspect(), self.port)

    def exec(self, *command: str) -> tuple[int, str]:
        """Run ``command`` in the container (``docker exec``): its exit status and output."""
        code, output = self.wrapped.exec_run(list(command))
        return int(code), output.decode("utf-8", "replace")

    def logs(self) -> str:
        out, err = self.container.get_logs()
        return bytes(out + err).decode("utf-8", "replace")

    def wait_for_greeting(
        self, expect: Expectation | bytes, timeout: float = 30.0, every_binding: bool = True
    ) -> TargetOutcome:
        """Probe until the greeting arrives (a verdict ``ok``) on every binding, published and
        the container's own, IPv4 and IPv6 (``every_binding=False``: the first published one).

        Connecting is not enough: docker-proxy accepts before the app listens, then closes
        without data, the very symptom of Fly's shared IPv4. Returns the outcome of the
        published IPv4 (or the first binding) once all answered.
        """
        from tcpreach.check import probe_all  # the probing half of the library, only where it probes

        deadline = time.monotonic() + timeout
        options = CheckOptions(expectation=as_expectation(expect), timeout=2.0, retries=0)
        last: TargetOutcome | None = None
        while time.monotonic() < deadline:
            state = self.inspect().get("State") or {}
            if not state.get("Running"):
                code = state.get("ExitCode")
                raise ContainerNotReadyError(
                    f"the container stopped before greeting (exit code {code}); its logs:\n{self.logs()}"
                )
            reach = self.reachable()
            first = reach.published_ipv4 or reach.published_ipv6
            targets = reach.all() if every_binding else [first] if first else []
            if targets:
                outcomes = probe_all(targets, options)
                waiting = [o for o in outcomes if o.verdict is not Verdict.OK]
                if not waiting:
                    return outcomes[0]
                last = waiting[0]
            time.sleep(0.05)
        seen = f"last probe: {last.target.endpoint} {last.verdict}, {last.explanation}" if last else "no binding"
        raise ContainerNotReadyError(f"no greeting within {timeout:g} s ({seen}); the container's logs:\n{self.logs()}")

    def stop_gracefully(self, timeout: int) -> int:
        """``docker stop -t timeout`` (SIGTERM to PID 1, SIGKILL after timeout); the exit code."""
        self.wrapped.stop(timeout=timeout)
        code: int = self.wrapped.wait(timeout=timeout + 30)["StatusCode"]
        return code

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.container.stop()

    def __enter__(self) -> ServiceContainer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

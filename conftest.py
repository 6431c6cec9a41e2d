"""This repository's own fixtures: the hello server in-process and as a subprocess, and
the short option spellings its README documents.

The installed pytest plugin (``tcpreach.pytest_plugin``) owns only ``--tcpreach-*``
names; this repository gives itself ``--host``, ``--port``, ... as aliases, which no
other project gets by installing the plugin.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from server import HelloServer
from tcpreach.pytest_plugin import add_aliases

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent
_LISTENING = re.compile(r"^listening on (?P<host>\[[^\]]+\]|[^:]+):(?P<port>\d+) \((?P<scope>[^)]*)\)")


SHORT_OPTIONS = {
    "--host": "host",
    "--port": "port",
    "--expect": "expect",
    "--expect-prefix": "expect_prefix",
    "--expect-regex": "expect_regex",
    "--send": "send",
    "--step": "steps",
    "--starttls": "starttls",
    "--keep-open": "keep_open",
    "--tls": "tls",
    "--sni": "sni",
    "--ca": "ca",
    "--cert": "cert",
    "--key": "key",
    "--insecure": "insecure",
    "--min-tls": "min_tls",
    "--cert-warn": "cert_warn",
    "--cert-crit": "cert_crit",
    "--resolver": "resolver",
    "--source": "source",
    "--family": "family",
    "--probe-timeout": "probe_timeout",
    "--dns-lifetime": "dns_lifetime",
    "--retries": "retries",
    "--fly-toml": "fly_toml",
    "--accept-shared-ipv4": "accept_shared_ipv4",
    "--local-interfaces": "local_interfaces",
    "--vantage": "vantage",
    "--connectivity-json": "json",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_aliases(parser, SHORT_OPTIONS)


# Libraries that ship a pytest plugin, whose own modules gain nothing from assertion
# rewriting: hypothesis, and pytest-tcpreach itself (its library has no assert).
_NOT_REWRITTEN = ("hypothesis", "tcpreach")


def pytest_configure(config: pytest.Config) -> None:
    """Leave those libraries' modules to the ordinary import system.

    pytest marks every module of a distribution with a ``pytest11`` entry point for
    assertion rewriting. Where ``PYTHONDONTWRITEBYTECODE`` is set (these machines), the
    rewrite is redone in every pytest process: 1.5 s for hypothesis's hundred modules (0.1 s
    for ours), in each xdist worker and each nested run. Our tests' asserts are still
    rewritten. The hook's set is private; if a pytest release renames it, this does nothing.
    """
    must_rewrite = getattr(config.pluginmanager.rewrite_hook, "_must_rewrite", None)
    cache = getattr(config.pluginmanager.rewrite_hook, "_marked_for_rewrite_cache", None)
    if isinstance(must_rewrite, set) and isinstance(cache, dict):
        must_rewrite.difference_update(_NOT_REWRITTEN)
        cache.clear()


@pytest.hookimpl(wrapper=True, optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> Generator[None, int, int]:
    """``-n auto``: one worker more than xdist's count of CPUs. A good part of this suite
    waits (on subprocesses, sockets, timers, containers) while its worker holds no CPU.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still sets the count exactly."""
    count = yield
    return count if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") else count + 1


# Each folder of tests/ is one tier and its tests carry its marker (tests/unit: none).
TIERS = {"unit": None, "local": "local", "docker": "docker", "edge": "edge", "remote": "remote"}


def _tier_of(path: Path, root: Path) -> str | None:
    """The tier folder of tests/ that ``path`` is in (or is), if any."""
    try:
        parts = path.relative_to(root / "tests").parts
    except ValueError:
        return None
    return parts[0] if parts and parts[0] in TIERS else None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``pytest -m local`` (one tier's marker alone) does not import the other tiers'
    modules: none of their tests could be selected. Any other marker expression collects
    everything, as pytest does."""
    wanted = (config.option.markexpr or "").strip()
    if wanted not in TIERS.values():
        return None
    tier = _tier_of(collection_path, config.rootpath)
    return True if tier is not None and TIERS[tier] != wanted else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """What makes skipping the other tiers safe: a test carries its own folder's tier marker
    and no other's. Every test that does not is named, then the run stops."""
    strays = []
    for item in items:
        tier = _tier_of(item.path, config.rootpath)
        if tier is None:
            continue
        carried = sorted(m for m in TIERS.values() if m is not None and item.get_closest_marker(m) is not None)
        expected = [TIERS[tier]] if TIERS[tier] else []
        if carried != expected:
            strays.append(f"{item.nodeid}: {' and '.join(carried) or 'no tier marker'}, in tests/{tier}")
    if strays:
        raise pytest.UsageError(
            "each folder of tests/ holds one tier, marked with its name (tests/unit: no tier marker):\n  "
            + "\n  ".join(strays)
        )


@dataclass
class ServerProcess:
    """``python -m server`` running in a subprocess, as a user would start it."""

    proc: subprocess.Popen[str]
    banner: str
    port: int

    def stop(self, timeout: float = 5.0) -> tuple[int, str, str]:
        if self.proc.poll() is None:
            self.proc.terminate()
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, self.banner + out, err


def start_server_process(
    *args: str, env: dict[str, str] | None = None, port: int | None = 0, **popen: Any
) -> ServerProcess:
    """Start ``python -m server --port PORT ARGS`` (``port=None``: no ``--port``) and wait
    for its start-up line."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    full_env.pop("PORT", None)
    full_env.update(env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", *([] if port is None else ["--port", str(port)]), *args],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()
    match = _LISTENING.match(banner)
    if match is None:
        _, err = proc.communicate(timeout=5)
        raise RuntimeError(f"server did not start: stdout {banner!r}, stderr {err!r}")
    return ServerProcess(proc, banner, int(match["port"]))


def run_tcpreach(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m tcpreach ARGS`` run in this process: milliseconds, not an interpreter's
    start-up and imports. A few tests run the real command as a subprocess."""
    from tcpreach.cli import run_captured  # the whole library: only for tests that use it

    with contextlib.chdir(cwd or os.getcwd()):
        code, out, err = run_captured(args)
    return subprocess.CompletedProcess(["python", "-m", "tcpreach", *args], code, out, err)


_FINDING_LINE = re.compile(r"^(?:ERROR|WARNING|INFO)\s+([a-z0-9-]+)(?::| at )", re.MULTILINE)


# A pytest run inside a test: without the cache, and without hypothesis's plugin, unused
# there and costly to import where bytecode is not cached. In this process also without
# the unraisable-exception plugin, whose two full garbage collections per session cost
# 0.1 s in a worker's heap (the outer run's plugin still reports such an exception), and
# without pytest-timeout, whose alarm would cancel the outer test's.
INNER_PYTEST = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
INNER_IN_PROCESS = (*INNER_PYTEST, "-p", "no:unraisableexception", "--timeout=0")


@pytest.fixture(scope="session")
def _plugin_library() -> None:
    """The plugin's library, imported once per process before any pytester: pytester
    forgets the modules a test imported, and each test's inner runs would import (and,
    uncached, compile) them again."""
    importlib.import_module("tcpreach.pytest_plugin.state")
    importlib.import_module("tcpreach.net.resolve")


@pytest.fixture
def inner_pytest(_plugin_library: None, pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """``inner_pytest(*args)``: pytest in ``pytester.path``, in this process (milliseconds
    instead of an interpreter's start-up) unless xdist (``-n``) is part of it."""

    def run(*args: str) -> pytest.RunResult:
        if "-n" in args:
            return pytester.runpytest_subprocess(*INNER_PYTEST, *args)
        return pytester.runpytest_inprocess(*INNER_IN_PROCESS, *args)

    return run


@pytest.fixture
def finding_codes() -> Callable[[str], list[str]]:
    """The finding codes a report or lint printed as text, in order, every one of them."""
    return _FINDING_LINE.findall


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The command line in-process (``run_tcpreach``)."""
    return run_tcpreach


@pytest.fixture(scope="session")
def hello_server() -> Iterator[HelloServer]:
    """The server in-process on a kernel-chosen port, dual-stack; one per xdist worker."""
    with HelloServer(host="::", port=0) as srv:
        yield srv


@pytest.fixture(scope="session")
def hello_server_process() -> Iterator[ServerProcess]:
    """The server as ``python -m server`` in a subprocess."""
    spawned = start_server_process()
    yield spawned
    spawned.stop()


@pytest.fixture
def spawn_server() -> Iterator[Any]:
    """A factory for ``python -m server`` subprocesses, all stopped after the test."""
    started: list[ServerProcess] = []

    def spawn(*args: str, env: dict[str, str] | None = None, port: int | None = 0, **popen: Any) -> ServerProcess:
        started.append(start_server_process(*args, env=env, port=port, **popen))
        return started[-1]

    yield spawn
    for spawned in started:
        if spawned.proc.poll() is None:
            spawned.proc.kill()
        spawned.proc.communicate()  # also closes the pipes


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line that says how many container tests really ran (CI must not go green by skipping them)."""
    outcomes: dict[str, int] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) is None or "docker" not in getattr(report, "keywords", {}):
                continue
            if report.when == "call" or (report.when == "setup" and not report.passed):
                outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if outcomes:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
        terminalreporter.write_line(f"docker tests: {counts}")

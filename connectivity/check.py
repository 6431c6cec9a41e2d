"""Resolve, probe every target concurrently (with optional retries), judge, diagnose.

The one place where gathering and judging meet: the CLI, the pytest plugin and the
benchmarks all call ``check_host`` or ``check_targets``.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from connectivity.diagnosis import diagnose
from connectivity.model import Family, HostReport, Resolution, Target, TargetOutcome, Verdict
from connectivity.probe import DEFAULT_TIMEOUT, probe
from connectivity.resolve import DEFAULT_LIFETIME, resolve
from connectivity.targets import targets_of
from connectivity.verdict import judge

DEFAULT_EXPECT = b"hello\n"
BOTH = (Family.IPV4, Family.IPV6)
_RETRY_BASE = 0.5
_RETRY_CAP = 8.0


def probe_and_judge(
    target: Target,
    expect: bytes,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = 0,
    sleep: Callable[[float], None] = time.sleep,
) -> TargetOutcome:
    """Probe until ``ok`` or ``retries`` are spent, with exponential backoff and jitter.

    A missing route is a fact about this client: it is not retried.
    """
    cap = max(4096, 4 * len(expect))
    attempt = 0
    while True:
        attempt += 1
        result = dataclasses.replace(probe(target, timeout=timeout, read_cap=cap), attempts=attempt)
        outcome = judge(result, expect)
        if outcome.verdict is Verdict.OK or result.no_route or attempt > retries:
            if attempt > 1 and outcome.verdict is Verdict.OK:
                outcome = dataclasses.replace(outcome, explanation=f"{outcome.explanation} (after {attempt} attempts)")
            return outcome
        delay = min(_RETRY_CAP, _RETRY_BASE * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)  # noqa: S311
        sleep(delay)


def probe_all(
    targets: Sequence[Target],
    expect: bytes = DEFAULT_EXPECT,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = 0,
) -> tuple[TargetOutcome, ...]:
    """All targets at once: a host's verdict takes about one probe's time, not the sum."""
    if not targets:
        return ()
    with ThreadPoolExecutor(max_workers=min(64, len(targets))) as pool:
        return tuple(pool.map(lambda t: probe_and_judge(t, expect, timeout, retries), targets))


def check_targets(
    label: str,
    targets: Sequence[Target],
    *,
    expect: bytes = DEFAULT_EXPECT,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = 0,
) -> HostReport:
    """Probe given literal targets (say, every local address of an in-process server)."""
    port = targets[0].port if targets else 0
    outcomes = probe_all(targets, expect, timeout, retries)
    resolution = Resolution(label, literal=False, resolver="none")
    return HostReport(label, port, expect, resolution, outcomes, diagnose(resolution, outcomes))


def check_host(
    host: str,
    port: int,
    *,
    expect: bytes = DEFAULT_EXPECT,
    families: Sequence[Family] = BOTH,
    resolver: tuple[str, int] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    lifetime: float = DEFAULT_LIFETIME,
    retries: int = 0,
    predicted_dedicated_ipv4: bool = False,
) -> HostReport:
    """Resolve ``host`` (A and AAAA; a literal needs no DNS), probe every address, judge,
    diagnose."""
    resolution = resolve(host, tuple(families), resolver, lifetime)
    return check_resolved(
        resolution,
        port,
        expect=expect,
        families=families,
        timeout=timeout,
        retries=retries,
        predicted_dedicated_ipv4=predicted_dedicated_ipv4,
    )


def check_resolved(
    resolution: Resolution,
    port: int,
    *,
    expect: bytes = DEFAULT_EXPECT,
    families: Sequence[Family] = BOTH,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = 0,
    predicted_dedicated_ipv4: bool = False,
) -> HostReport:
    """Probe every target of an existing resolution (the pytest plugin resolves at
    collection time, so the tests and the probes see the same addresses)."""
    targets = targets_of(resolution, port, families)
    outcomes = probe_all(targets, expect, timeout, retries)
    findings = diagnose(resolution, outcomes, predicted_dedicated_ipv4)
    return HostReport(resolution.host, port, expect, resolution, outcomes, findings)

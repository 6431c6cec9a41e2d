"""Resolve, probe every target concurrently (with optional retries), judge, diagnose.

The one place where gathering and judging meet: the CLI, the pytest plugin and the
benchmarks all call ``check_host`` or ``check_targets`` with one ``CheckOptions``.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from tcpreach.diagnosis import diagnose
from tcpreach.fly.remedies import is_fly_name
from tcpreach.host.vantage import this_vantage
from tcpreach.model import Family, HostReport, Resolution, Target, TargetOutcome, Verdict
from tcpreach.net.probe import probe
from tcpreach.options import CheckOptions
from tcpreach.targets import targets_of
from tcpreach.verdict import judge

__all__ = ["check_host", "check_resolved", "check_targets", "probe_all", "probe_and_judge", "probe_jobs"]

_RETRY_BASE = 0.5
_RETRY_CAP = 8.0


def probe_and_judge(
    target: Target,
    options: CheckOptions | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> TargetOutcome:
    """Probe until ``ok`` or ``options.retries`` are spent, with exponential backoff and
    jitter. A missing route is a fact about this client: it is not retried."""
    opts = CheckOptions() if options is None else options
    start = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        observed = probe(target, opts)
        outcome = judge(observed, opts.expectation)
        if observed.no_route or attempt > opts.retries or outcome.verdict is Verdict.OK:
            final = dataclasses.replace(observed, attempts=attempt, elapsed_s=time.monotonic() - start)
            outcome = dataclasses.replace(outcome, result=final)
            if attempt > 1 and outcome.verdict is Verdict.OK:
                outcome = dataclasses.replace(outcome, explanation=f"{outcome.explanation} (after {attempt} attempts)")
            return outcome
        delay = min(_RETRY_CAP, _RETRY_BASE * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)  # noqa: S311
        sleep(delay)


def probe_all(targets: Sequence[Target], options: CheckOptions | None = None) -> tuple[TargetOutcome, ...]:
    """All targets at once: a host's verdict takes about one probe's time, not the sum."""
    return probe_jobs([(target, options) for target in targets])


def probe_jobs(jobs: Sequence[tuple[Target, CheckOptions | None]]) -> tuple[TargetOutcome, ...]:
    """Each target with its own options, all at once; outcomes in the order given."""
    if not jobs:
        return ()
    with ThreadPoolExecutor(max_workers=min(64, len(jobs))) as pool:
        return tuple(pool.map(lambda job: probe_and_judge(*job), jobs))


def check_targets(label: str, targets: Sequence[Target], options: CheckOptions | None = None) -> HostReport:
    """Probe given literal targets (say, every local address of an in-process server).

    Each target carries its own port; ``options.port`` is not used here.
    """
    opts = CheckOptions() if options is None else options
    started = datetime.now(UTC)
    port = targets[0].port if targets else 0
    outcomes = probe_all(targets, opts)
    resolution = Resolution(label, literal=False, resolver="none")
    findings = diagnose(resolution, outcomes)
    return HostReport(
        label, port, opts.expectation, resolution, outcomes, findings, started, this_vantage(opts.vantage)
    )


def check_host(host: str, options: CheckOptions | None = None, *, predicted_dedicated_ipv4: bool = False) -> HostReport:
    """Resolve ``host`` (A and AAAA, through ``options.resolver`` alone when given; a
    literal needs no DNS), probe every address on ``options.port``, judge, diagnose."""
    from tcpreach.net.resolve import resolve  # dnspython only when a name is checked

    opts = CheckOptions() if options is None else options
    started = datetime.now(UTC)
    resolution = resolve(host, opts)
    return check_resolved(resolution, opts, predicted_dedicated_ipv4=predicted_dedicated_ipv4, started_at=started)


def check_resolved(
    resolution: Resolution,
    options: CheckOptions | None = None,
    *,
    predicted_dedicated_ipv4: bool = False,
    started_at: datetime | None = None,
) -> HostReport:
    """Probe every target of an existing resolution (the pytest plugin resolves at
    collection time, so the tests and the probes see the same addresses)."""
    opts = CheckOptions() if options is None else options
    started = started_at or datetime.now(UTC)
    if opts.tls is not None and opts.tls.server_name is None and not resolution.literal:
        # Every address of a name is asked for that name: what a shared edge routes by.
        opts = dataclasses.replace(opts, tls=dataclasses.replace(opts.tls, server_name=resolution.host.rstrip(".")))
    targets = targets_of(resolution, opts.port, opts.families)
    jobs: list[tuple[Target, CheckOptions | None]] = [(target, opts) for target in targets]
    if opts.tls is not None and is_fly_name(resolution.host):
        # On a Fly name, plain TCP beside TLS tells whether TLS with SNI is the only way in;
        # probed at the same time as the TLS targets.
        plain_opts = dataclasses.replace(opts, tls=None, retries=0)
        jobs += [(target, plain_opts) for target in targets if target.family is Family.IPV4]
    probed = probe_jobs(jobs)
    outcomes, plain = probed[: len(targets)], probed[len(targets) :]
    findings = diagnose(resolution, outcomes, predicted_dedicated_ipv4, plain_ipv4=plain)
    vantage = this_vantage(opts.vantage)
    return HostReport(resolution.host, opts.port, opts.expectation, resolution, outcomes, findings, started, vantage)

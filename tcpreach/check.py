"""Resolve, probe every target of every host at once, judge, diagnose.

The one place where gathering and judging meet: the CLI, the pytest plugin and the
benchmarks all call ``check_hosts``, ``check_host`` or ``check_targets`` with
``CheckOptions``. However many hosts a run has, their names are resolved concurrently and
all their targets share one engine (``tcpreach.engine``), so the run takes about one
probe's time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from tcpreach.engine import Job, probe_jobs
from tcpreach.fly.remedies import fly_name
from tcpreach.judging.diagnosis import diagnose
from tcpreach.judging.targets import targets_of
from tcpreach.machine.vantage import this_vantage
from tcpreach.model import Family, HostReport, Resolution, Target, TargetOutcome
from tcpreach.options import CheckOptions
from tcpreach.settings.inputs import is_literal

__all__ = [
    "HostCheck",
    "check_host",
    "check_hosts",
    "check_resolutions",
    "check_resolved",
    "check_targets",
    "probe_all",
    "probe_and_judge",
    "resolve_all",
]

MAX_RESOLVING = 32
"""Names resolved at once, at most (each asks A and AAAA at the same time)."""


@dataclass(frozen=True)
class HostCheck:
    """One host of a run: its resolution, the options it is probed with, and whether the
    fly.toml lint predicted the shared-IPv4 failure for it."""

    resolution: Resolution
    options: CheckOptions
    predicted_dedicated_ipv4: bool = False
    started_at: datetime | None = None


def probe_and_judge(target: Target, options: CheckOptions | None = None) -> TargetOutcome:
    """One target, with hedged attempts up to ``options.retries`` (see ``tcpreach.engine``)."""
    return probe_jobs([Job(target, CheckOptions() if options is None else options)])[0]


def probe_all(targets: Sequence[Target], options: CheckOptions | None = None) -> tuple[TargetOutcome, ...]:
    """All targets at once: a host's verdict takes about one probe's time, not the sum."""
    opts = CheckOptions() if options is None else options
    return probe_jobs([Job(target, opts) for target in targets])


def check_targets(label: str, targets: Sequence[Target], options: CheckOptions | None = None) -> HostReport:
    """Probe given literal targets (say, every local address of an in-process server).

    Each target carries its own port; ``options.port`` is not used here.
    """
    opts = CheckOptions() if options is None else options
    started = datetime.now(UTC)
    port = targets[0].port if targets else 0
    outcomes = probe_all(targets, opts)
    resolution = Resolution(label, literal=False, resolver="none")
    findings = diagnose(
        resolution, outcomes, sent=opts.expectation.sends, cert_days=(opts.cert_warn_days, opts.cert_crit_days)
    )
    return HostReport(
        label, port, opts.expectation, resolution, outcomes, findings, started, this_vantage(opts.vantage, targets)
    )


def resolve_all(hosts: Sequence[tuple[str, CheckOptions]]) -> list[Resolution]:
    """Each host's resolution, names resolved concurrently (bounded); a literal address asks
    no DNS and loads no DNS library."""
    if all(is_literal(host) for host, _ in hosts):
        return [Resolution(host, literal=True, resolver=_resolver_label(o)) for host, o in hosts]
    from tcpreach.net.resolve import resolve  # dnspython only when a name is checked

    if len(hosts) == 1:
        return [resolve(*hosts[0])]
    with ThreadPoolExecutor(max_workers=min(MAX_RESOLVING, len(hosts))) as pool:
        return list(pool.map(lambda item: resolve(*item), hosts))


def _resolver_label(options: CheckOptions) -> str:
    if options.resolver is None:
        return "system"
    host, port = options.resolver
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _jobs(check: HostCheck) -> tuple[CheckOptions, list[Job], int]:
    """A host's jobs: its targets, then on a Fly name with TLS from the connect its IPv4 targets in plain TCP
    (whether TLS with SNI is the only way in). Also the options used, and the target count."""
    opts, resolution = check.options, check.resolution
    if opts.tls is not None and opts.tls.server_name is None and not resolution.literal:
        # Every address of a name is asked for that name: what a shared edge routes by.
        opts = dataclasses.replace(opts, tls=dataclasses.replace(opts.tls, server_name=resolution.host.rstrip(".")))
    targets = targets_of(resolution, opts.port, opts.families)
    jobs = [Job(target, opts) for target in targets]
    if opts.tls is not None and not opts.expectation.starttls and fly_name(resolution.names):
        # (a STARTTLS check is already plain TCP to the edge: nothing to compare it with)
        plain = dataclasses.replace(opts, tls=None, retries=0)
        jobs += [Job(target, plain) for target in targets if target.family is Family.IPV4]
    return opts, jobs, len(targets)


def check_resolutions(
    checks: Sequence[HostCheck], on_done: Callable[[TargetOutcome], None] | None = None
) -> list[HostReport]:
    """Every target of every host probed in one engine run, then each host diagnosed."""
    now = datetime.now(UTC)
    planned = [_jobs(check) for check in checks]
    outcomes = probe_jobs([job for _, jobs, _ in planned for job in jobs], on_done=on_done)
    towards = [job.target for _, jobs, _ in planned for job in jobs]
    vantage = this_vantage(checks[0].options.vantage, towards) if checks else None
    reports: list[HostReport] = []
    at = 0
    for check, (opts, jobs, count) in zip(checks, planned, strict=True):
        probed, plain = outcomes[at : at + count], outcomes[at + count : at + len(jobs)]
        at += len(jobs)
        resolution = check.resolution
        findings = diagnose(
            resolution,
            probed,
            check.predicted_dedicated_ipv4,
            plain_ipv4=plain,
            sent=opts.expectation.sends,
            cert_days=(opts.cert_warn_days, opts.cert_crit_days),
        )
        started = check.started_at or now
        reports.append(
            HostReport(resolution.host, opts.port, opts.expectation, resolution, probed, findings, started, vantage)
        )
    return reports


def check_hosts(
    hosts: Sequence[tuple[str, CheckOptions]],
    predicted: Callable[[str], bool] = lambda host: False,
    on_done: Callable[[TargetOutcome], None] | None = None,
) -> list[HostReport]:
    """Resolve every host concurrently, then probe all their targets at once; reports in
    the order given. ``predicted(host)``: the fly.toml lint predicts its shared-IPv4 failure."""
    started = datetime.now(UTC)
    resolutions = resolve_all(hosts)
    checks = [
        HostCheck(resolution, options, predicted(host), started)
        for (host, options), resolution in zip(hosts, resolutions, strict=True)
    ]
    return check_resolutions(checks, on_done)


def check_host(host: str, options: CheckOptions | None = None, *, predicted_dedicated_ipv4: bool = False) -> HostReport:
    """Resolve ``host`` (A and AAAA, through ``options.resolver`` alone when given; a
    literal needs no DNS), probe every address on ``options.port``, judge, diagnose."""
    opts = CheckOptions() if options is None else options
    return check_hosts([(host, opts)], lambda _: predicted_dedicated_ipv4)[0]


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
    return check_resolutions([HostCheck(resolution, opts, predicted_dedicated_ipv4, started_at)])[0]

"""Resolve, probe every target of every host, judge, diagnose: on one event loop.

The one place where gathering and judging meet: the CLI, the pytest plugin, the exporter
and the benchmarks all call ``check_hosts`` (or its coroutine, ``check_hosts_async``),
``check_host`` or ``check_targets`` with ``CheckOptions``. Each host goes its own way
through the run: its probes start as soon as its own names are answered, so a slow or
dead DNS name delays itself alone, and all hosts' targets share one engine
(``tcpreach.engine``): a fleet takes about its slowest host's time. Reports can be handed
over as hosts finish (``on_report``), so that a fleet's output streams and its memory is
what is in flight, never the fleet.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tcpreach.engine import MAX_SLOTS, Engine, Job, probe_jobs
from tcpreach.fly.remedies import fly_name
from tcpreach.judging.diagnosis import diagnose
from tcpreach.judging.targets import targets_of
from tcpreach.machine.vantage import this_vantage
from tcpreach.model import Family, HostReport, Resolution, Target, TargetOutcome
from tcpreach.net.loop import run_sync
from tcpreach.options import CheckOptions
from tcpreach.settings.inputs import is_literal

__all__ = [
    "HostCheck",
    "check_host",
    "check_hosts",
    "check_hosts_async",
    "check_resolutions",
    "check_targets",
    "probe_all",
    "probe_and_judge",
    "resolve_all",
    "resolve_one",
]

MAX_RESOLVING = 256
"""Names resolved at once, at most (each asks A and AAAA at the same time)."""
HOSTS_IN_FLIGHT = 1024
"""Hosts between their first DNS question and their report at once, at most: what a fleet
holds in memory is bounded by this, not by its size (each host's own time is its DNS and
one probe's, so a fleet's is about its slowest host's, plus its size over this many)."""

OnDone = Callable[[TargetOutcome], None]
OnReport = Callable[[int, HostReport], None]


@dataclass(frozen=True)
class HostCheck:
    """One host of a run: its resolution, the options it is probed with, and whether the
    fly.toml lint predicted the shared-IPv4 failure for it."""

    resolution: Resolution
    options: CheckOptions
    predicted_dedicated_ipv4: bool = False
    started_at: datetime | None = None
    skipped: frozenset[str] = frozenset()
    """Addresses not to probe (the exporter's policy forbids them)."""


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


def _resolver_label(options: CheckOptions) -> str:
    if options.resolver is None:
        return "system"
    host, port = options.resolver
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def resolve_one(host: str, options: CheckOptions) -> Resolution:
    """``host``'s resolution within its DNS lifetime; a literal address asks no DNS and
    loads no DNS library."""
    if is_literal(host):
        return Resolution(host, literal=True, resolver=_resolver_label(options))
    from tcpreach.net.resolve import resolve_async  # dnspython only when a name is checked

    return await resolve_async(host, options)


def resolve_all(hosts: Sequence[tuple[str, CheckOptions]]) -> list[Resolution]:
    """Each host's resolution, names resolved concurrently (bounded)."""

    async def every() -> list[Resolution]:
        names = asyncio.Semaphore(MAX_RESOLVING)

        async def one(host: str, options: CheckOptions) -> Resolution:
            async with names:
                return await resolve_one(host, options)

        return list(await asyncio.gather(*(one(host, options) for host, options in hosts)))

    return run_sync(every())


def _jobs(check: HostCheck) -> tuple[CheckOptions, list[Job], int]:
    """A host's jobs: its targets, then on a Fly name with TLS from the connect its IPv4 targets in plain TCP
    (whether TLS with SNI is the only way in). Also the options used, and the target count."""
    opts, resolution = check.options, check.resolution
    if opts.tls is not None and opts.tls.server_name is None and not resolution.literal:
        # Every address of a name is asked for that name: what a shared edge routes by.
        opts = dataclasses.replace(opts, tls=dataclasses.replace(opts.tls, server_name=resolution.host.rstrip(".")))
    targets = tuple(t for t in targets_of(resolution, opts.port, opts.families) if t.address not in check.skipped)
    jobs = [Job(target, opts) for target in targets]
    if opts.tls is not None and not opts.expectation.starttls and fly_name(resolution.names):
        # (a STARTTLS check is already plain TCP to the edge: nothing to compare it with)
        plain = dataclasses.replace(opts, tls=None, retries=0)
        jobs += [Job(target, plain) for target in targets if target.family is Family.IPV4]
    return opts, jobs, len(targets)


async def check_resolution_async(check: HostCheck, engine: Engine, on_done: OnDone | None = None) -> HostReport:
    """One host's targets probed on ``engine``, then the host diagnosed."""
    started = check.started_at or datetime.now(UTC)
    opts, jobs, count = _jobs(check)
    outcomes = await engine.run(jobs, on_done)
    probed, plain = outcomes[:count], outcomes[count:]
    resolution = check.resolution
    findings = diagnose(
        resolution,
        probed,
        check.predicted_dedicated_ipv4,
        plain_ipv4=plain,
        sent=opts.expectation.sends,
        cert_days=(opts.cert_warn_days, opts.cert_crit_days),
    )
    vantage = this_vantage(opts.vantage, [job.target for job in jobs])
    return HostReport(resolution.host, opts.port, opts.expectation, resolution, probed, findings, started, vantage)


def _wanted(options: Iterable[CheckOptions]) -> int:
    """The slots a run may want: two families of a few addresses, every attempt at once."""
    return sum(4 * (max(0, o.retries) + 1) for o in options)


def check_resolutions(checks: Sequence[HostCheck], on_done: OnDone | None = None) -> list[HostReport]:
    """Every target of every given resolution probed on one engine, each host diagnosed."""

    async def every() -> list[HostReport]:
        engine = Engine(_wanted(c.options for c in checks))
        return list(await asyncio.gather(*(check_resolution_async(c, engine, on_done) for c in checks)))

    return run_sync(every()) if checks else []


async def check_hosts_async(
    hosts: Sequence[tuple[str, CheckOptions]],
    predicted: Callable[[str], bool] = lambda host: False,
    on_done: OnDone | None = None,
    on_report: OnReport | None = None,
    engine: Engine | None = None,
) -> list[HostReport]:
    """Every host resolved and probed, each on its own way through one engine (``engine``,
    or one made for the run: a caller that gives its own can read its loop's lateness after,
    ``engine.gate.worst``); reports in
    the order given. With ``on_report`` each report is handed over with its index as soon
    as its host is done (in the order hosts finish), and none is kept: the list returned
    is empty. ``predicted(host)``: the fly.toml lint predicts its shared-IPv4 failure
    (asked before anything is probed)."""
    started = datetime.now(UTC)
    flags = [predicted(host) for host, _ in hosts]
    engine = engine or Engine(min(MAX_SLOTS, _wanted(o for _, o in hosts)))
    names = asyncio.Semaphore(MAX_RESOLVING)
    reports: dict[int, HostReport] = {}
    pending = iter(enumerate(hosts))

    async def worker() -> None:
        for index, (host, options) in pending:
            async with names:
                resolution = await resolve_one(host, options)
            check = HostCheck(resolution, options, flags[index], started)
            report = await check_resolution_async(check, engine, on_done)
            if on_report is not None:
                on_report(index, report)
            else:
                reports[index] = report

    # The collector stays on: what is alive is what is in flight (bounded), and a fleet
    # paused for its whole run kept every cycle it made (its memory grew with its size).
    await asyncio.gather(*(worker() for _ in range(min(len(hosts), HOSTS_IN_FLIGHT))))
    return [reports[i] for i in range(len(hosts))] if on_report is None else []


def check_hosts(
    hosts: Sequence[tuple[str, CheckOptions]],
    predicted: Callable[[str], bool] = lambda host: False,
    on_done: OnDone | None = None,
    on_report: OnReport | None = None,
) -> list[HostReport]:
    """``check_hosts_async`` from synchronous code."""
    return run_sync(check_hosts_async(hosts, predicted, on_done, on_report))


def check_host(host: str, options: CheckOptions | None = None, *, predicted_dedicated_ipv4: bool = False) -> HostReport:
    """Resolve ``host`` (A and AAAA, through ``options.resolver`` alone when given; a
    literal needs no DNS), probe every address on ``options.port``, judge, diagnose."""
    opts = CheckOptions() if options is None else options
    return check_hosts([(host, opts)], lambda _: predicted_dedicated_ipv4)[0]

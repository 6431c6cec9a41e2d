"""One scrape's probe: the query checked against the configuration, the name resolved
afresh, every address probed within the scrape's deadline, on the exporter's event loop.

``TargetRefusedError`` (403), ``UsageError`` (400) and ``DeadlineError`` (504) carry one
line for the client; nothing else a request can cause is raised.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping, Sequence

from tcpreach.check import HostCheck, check_resolution_async, resolve_one
from tcpreach.engine import Engine
from tcpreach.errors import TcpreachError, UsageError
from tcpreach.exporter.budget import budget_for, parse_scrape_timeout
from tcpreach.exporter.config import ExporterConfig
from tcpreach.exporter.policy import address_refusal, target_refusal
from tcpreach.exporter.record import ProbeRecord
from tcpreach.settings.inputs import HostSpec, parse_target

__all__ = [
    "MAX_QUERY_CHARS",
    "DeadlineError",
    "ProbeQuery",
    "TargetRefusedError",
    "admit",
    "parse_query",
    "run_probe",
]

MAX_QUERY_CHARS = 2048


class TargetRefusedError(TcpreachError):
    """The configuration does not allow this target (403)."""


class DeadlineError(TcpreachError):
    """The probe would have outlived the scrape's deadline (504): a bound kept, never met in
    practice, since the budget fits the probe inside it."""


@dataclasses.dataclass(frozen=True)
class ProbeQuery:
    target: str
    module: str
    debug: bool = False


def _one(query: Mapping[str, Sequence[str]], key: str) -> str | None:
    values = query.get(key, [])
    if len(values) > 1:
        raise UsageError(f"{key} given {len(values)} times: give it once")
    return values[0] if values else None


def parse_query(query: Mapping[str, Sequence[str]], config: ExporterConfig) -> ProbeQuery:
    """``target``, ``module`` (optional when the configuration has one module, or one named
    ``default``) and ``debug``. Raises ``UsageError``."""
    unknown = sorted(set(query) - {"target", "module", "debug"})
    if unknown:
        raise UsageError(f"unknown parameter {unknown[0]!r}: /probe takes target, module and debug")
    target = _one(query, "target")
    if not target:
        raise UsageError("target is missing: /probe?target=HOST[:PORT]&module=NAME")
    module = _one(query, "module")
    if module is None:
        names = list(config.modules)
        module = "default" if "default" in names else names[0] if len(names) == 1 else None
        if module is None:
            raise UsageError(f"module is missing: one of {', '.join(names)}")
    elif module not in config.modules:
        raise UsageError(f"unknown module {module!r}: the modules are {', '.join(config.modules)}")
    debug = (_one(query, "debug") or "false").lower()
    if debug not in ("true", "false"):
        raise UsageError(f"debug takes true or false, got {debug!r}")
    return ProbeQuery(target, module, debug == "true")


def admit(config: ExporterConfig, query: ProbeQuery) -> HostSpec:
    """The target, parsed and checked against the configuration before anything waits for a
    slot. Raises ``TargetRefusedError`` and ``UsageError``."""
    spec = parse_target(query.target)
    refusal = target_refusal(spec.host, spec.literal, config.allowance)
    if refusal is not None:
        raise TargetRefusedError(refusal)
    return spec


async def run_probe(
    config: ExporterConfig,
    query: ProbeQuery,
    spec: HostSpec,
    scrape_timeout: str | None,
    *,
    engine: Engine,
    arrived: float | None = None,
) -> ProbeRecord:
    """Resolve ``spec`` afresh and probe every address with the module's settings on
    ``engine``, fitted to the scrape's deadline counted from ``arrived`` (monotonic; the
    request's arrival, so that time spent waiting counts). Raises ``TargetRefusedError``,
    ``UsageError`` and ``DeadlineError``."""
    started = time.monotonic() if arrived is None else arrived
    options = config.modules[query.module]
    if query.debug:  # the transcript under the report
        options = dataclasses.replace(options, transcript=True)
    if spec.port is not None:
        options = dataclasses.replace(options, port=spec.port)
    waited = time.monotonic() - started
    budget = budget_for(options, parse_scrape_timeout(scrape_timeout), config.timeout_offset, spec.literal, waited)
    try:
        async with asyncio.timeout(None if budget.deadline_s is None else budget.deadline_s - waited):
            resolution = await resolve_one(spec.host, budget.options)
            dns_s = None if spec.literal else time.monotonic() - started
            addresses = tuple(dict.fromkeys((*resolution.dns_addresses, *(resolution.system or ()))))
            refused = {a: r for a in addresses if (r := address_refusal(a, config.allowance)) is not None}
            if refused and len(refused) == len(addresses):  # nothing left to probe
                raise TargetRefusedError(f"{spec.host} resolves to {next(iter(refused.values()))}")
            check = HostCheck(resolution, budget.options, skipped=frozenset(refused))
            report = await check_resolution_async(check, engine)
    except TimeoutError:
        raise DeadlineError(f"the probe did not end within the scrape's deadline of {budget.deadline_s:g} s") from None
    reasons = tuple((address, why.split(": ", 1)[0].removeprefix(f"{address} is ")) for address, why in refused.items())
    return ProbeRecord(
        query.module, query.target, report, budget, dns_s, time.monotonic() - started, time.time(), reasons
    )

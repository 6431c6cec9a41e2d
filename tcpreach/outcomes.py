"""Questions asked of a set of target outcomes: which family, do all or any hold a verdict,
their addresses, does a host's report pass. Pure, shared by the diagnosis, the Fly
findings, the CLI's exit status and the exporter's success series."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tcpreach.findings import FindingCode, errors
from tcpreach.model import Family, HostReport, TargetOutcome, Verdict

__all__ = ["addresses_of", "all_are", "any_is", "by_family", "listing", "passes"]


def by_family(outcomes: Sequence[TargetOutcome], family: Family) -> list[TargetOutcome]:
    return [o for o in outcomes if o.target.family is family]


def all_are(outcomes: Sequence[TargetOutcome], *verdicts: Verdict) -> bool:
    return bool(outcomes) and all(o.verdict in verdicts for o in outcomes)


def any_is(outcomes: Sequence[TargetOutcome], *verdicts: Verdict) -> bool:
    return any(o.verdict in verdicts for o in outcomes)


def addresses_of(outcomes: Iterable[TargetOutcome]) -> tuple[str, ...]:
    return tuple(o.target.address for o in outcomes)


def listing(outcomes: Iterable[TargetOutcome]) -> str:
    return ", ".join(f"{o.target.address} {o.verdict}" for o in outcomes)


def passes(report: HostReport, accept_shared_ipv4: bool = False) -> bool:
    """Every target this client could test ``ok`` (and at least one tested) and no finding an
    error: a target this client has no route to is a fact about the client (its
    ``client-without-*`` note), not the service's failure. With ``accept_shared_ipv4`` the
    shared-IPv4 finding and the targets it explains are accepted."""
    shared = [f for f in report.findings if f.code is FindingCode.FLY_SHARED_IPV4] if accept_shared_ipv4 else []
    accepted = {a for f in shared for a in f.addresses}
    tested = [o for o in report.outcomes if not o.result.no_route]
    failing = [o for o in tested if o.verdict is not Verdict.OK and o.target.address not in accepted]
    blocking = [f for f in errors(report.findings) if f not in shared]
    return bool(tested) and not failing and not blocking

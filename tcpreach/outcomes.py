"""Questions asked of a set of target outcomes: which family, do all or any hold a verdict,
their addresses. Pure, shared by the diagnosis and the Fly findings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tcpreach.model import Family, TargetOutcome, Verdict

__all__ = ["addresses_of", "all_are", "any_is", "by_family", "listing"]


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

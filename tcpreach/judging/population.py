"""Which clients can reach a service, judged from what several vantage points saw. Pure.

Five kinds of client, each judged only from the vantages that could test what it uses:

- IPv4-only, and IPv6-only (the name's own addresses of that family);
- IPv6-only behind NAT64: the name's own IPv6 when it has any (DNS64 makes nothing up
  then), else the addresses DNS64 made up, from a vantage behind a NAT64;
- dual-stack, preferring IPv6 (RFC 6724, RFC 8305 Happy Eyeballs): IPv6 first, IPv4 only
  when the IPv6 *connect* fails (refused, no answer). An IPv6 connection that opens and
  then closes without data is no reason to try IPv4: such a client gets nothing;
- dual-stack whose IPv6 path is broken: its IPv6 connects never complete, so it falls back
  to IPv4 and gets what an IPv4-only client gets. Fly's shared IPv4, which accepts and
  then closes, defeats that fallback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from tcpreach.model import DnsStatus, Family, HostReport, Source, TargetOutcome, Verdict

__all__ = ["KNOWN", "Answer", "ClientKind", "Population", "Row", "broken_ipv6_vantages", "populations", "tested"]

CONNECT_FAILURES = frozenset({Verdict.REFUSED, Verdict.TIMEOUT, Verdict.UNREACHABLE})
"""Failures before a connection opens: the ones Happy Eyeballs falls back on."""


@dataclass(frozen=True)
class Row:
    """One address: what each vantage saw of it (``None``: that vantage did not probe it)."""

    family: Family
    address: str
    source: Source
    cells: tuple[TargetOutcome | None, ...]


def tested(cell: TargetOutcome | None) -> bool:
    """Probed, from a client with a route to the address."""
    return cell is not None and not cell.result.no_route


class ClientKind(StrEnum):
    IPV4_ONLY = "IPv4-only"
    IPV6_ONLY = "IPv6-only"
    NAT64 = "IPv6-only behind NAT64"
    DUAL_STACK = "dual-stack (prefers IPv6)"
    BROKEN_IPV6 = "dual-stack, IPv6 path broken"


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    PARTLY = "partly"
    """Some addresses work and some do not: the clients that pick a failing one fail."""
    UNTESTED = "not tested"


@dataclass(frozen=True)
class Population:
    kind: ClientKind
    answer: Answer
    why: str
    judged_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Seen:
    """A family's (or a source's) tested cells: each (vantage label, address, outcome)."""

    cells: tuple[tuple[str, str, TargetOutcome], ...]

    @property
    def answer(self) -> Answer:
        if not self.cells:
            return Answer.UNTESTED
        good = [c for c in self.cells if c[2].verdict is Verdict.OK]
        return Answer.YES if len(good) == len(self.cells) else Answer.NO if not good else Answer.PARTLY

    @property
    def vantages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(label for label, _, _ in self.cells))

    def failures(self) -> str:
        failing = dict.fromkeys(f"{address} {o.verdict}" for _, address, o in self.cells if o.verdict is not Verdict.OK)
        return ", ".join(failing)


def _seen(
    rows: Sequence[Row],
    labels: Sequence[str],
    family: Family,
    dns64: bool = False,
    without: frozenset[str] = frozenset(),
) -> _Seen:
    return _Seen(tuple(
        (label, row.address, cell)
        for row in rows if row.family is family and (row.source is Source.DNS64) == dns64
        for label, cell in zip(labels, row.cells, strict=True)
        if cell is not None and tested(cell) and label not in without
    ))  # fmt: skip


KNOWN = frozenset({DnsStatus.OK, DnsStatus.NO_ANSWER, DnsStatus.NXDOMAIN})
"""Answers that say what the name has: a failed query (SERVFAIL, refused, no answer in time,
no server) says nothing of its records."""


def _has_records(reports: Sequence[HostReport], rows: Sequence[Row], family: Family) -> bool | None:
    """Whether the name has addresses of its own in ``family``: ``None`` when no query of that
    type was answered anywhere (nothing is known)."""
    if any(r.family is family and r.source is not Source.DNS64 for r in rows):
        return True
    answered = [a for r in reports for a in r.resolution.dns if a.family is family and a.status in KNOWN]
    return False if answered else None


LOST = frozenset({Verdict.TIMEOUT, Verdict.SILENT})
"""What a path that drops IPv6 gives each IPv6 address: no answer at all."""


def broken_ipv6_vantages(rows: Sequence[Row], labels: Sequence[str]) -> frozenset[str]:
    """The vantages whose IPv6 is broken, by their own evidence: a route to IPv6, yet not
    one IPv6 address answered, every one lost, while another vantage reached at least one of
    them. Such a vantage speaks for the "IPv6 path broken" row alone, not for clients whose
    IPv6 works."""
    reached = {row.address for row in rows if row.family is Family.IPV6
               for cell in row.cells if cell is not None and cell.verdict is Verdict.OK}  # fmt: skip
    broken = set()
    for index, label in enumerate(labels):
        mine = [(row.address, row.cells[index]) for row in rows if row.family is Family.IPV6]
        tried = [(address, cell) for address, cell in mine if tested(cell)]
        lost = tried and all(cell is not None and cell.verdict in LOST for _, cell in tried)
        if lost and any(address in reached for address, _ in tried):
            broken.add(label)
    return frozenset(broken)


def _judged(seen: _Seen) -> tuple[Answer, str, tuple[str, ...]]:
    """What the tested cells of some addresses say: the answer, why, and from where."""
    if seen.answer is Answer.UNTESTED:
        return Answer.UNTESTED, "not tested from any vantage", ()
    why = "every address answered" if seen.answer is Answer.YES else seen.failures()
    return seen.answer, why, seen.vantages


def _by_family(kind: ClientKind, seen: _Seen, has: bool | None, record: str) -> Population:
    if has is False:
        return Population(kind, Answer.NO, f"the name has no {record} record")
    return Population(kind, *_judged(seen))


def _nat64(v6: Population, seen: _Seen, has_v6: bool | None) -> Population:
    kind = ClientKind.NAT64
    if has_v6:
        return Population(kind, v6.answer, f"uses the name's own IPv6: {v6.why}", v6.judged_from)
    if seen.answer is Answer.UNTESTED:
        return Population(kind, Answer.UNTESTED, "not tested from any vantage behind a NAT64")
    why = "every address DNS64 made up answered" if seen.answer is Answer.YES else seen.failures()
    return Population(kind, seen.answer, f"through NAT64 to the IPv4: {why}", seen.vantages)


def _dual_stack(v6: _Seen, v4: Population, has_v6: bool | None) -> Population:
    kind = ClientKind.DUAL_STACK
    if has_v6 is False:
        return Population(kind, v4.answer, f"no AAAA record: uses IPv4, {v4.why}", v4.judged_from)
    if v6.answer is Answer.UNTESTED:
        return Population(kind, Answer.UNTESTED, "IPv6, which it tries first, was not tested from any vantage")
    opened = [(a, o) for _, a, o in v6.cells if o.verdict is not Verdict.OK and o.verdict not in CONNECT_FAILURES]
    refused = [(a, o) for _, a, o in v6.cells if o.verdict in CONNECT_FAILURES]
    if v6.answer is Answer.YES:
        return Population(kind, Answer.YES, "IPv6 answered", v6.vantages)
    if opened:
        shown = ", ".join(dict.fromkeys(f"{a} {o.verdict}" for a, o in opened))
        answer = Answer.NO if v6.answer is Answer.NO and len(opened) == len(v6.cells) else Answer.PARTLY
        return Population(
            kind, answer, f"IPv6 connects, then {shown}: no fallback to IPv4 after a connect", v6.vantages
        )
    shown = ", ".join(dict.fromkeys(f"{a} {o.verdict}" for a, o in refused))
    if v4.answer is Answer.UNTESTED:
        return Population(kind, Answer.UNTESTED, f"IPv6 {shown}; the IPv4 it falls back to was not tested")
    answer = v4.answer if v6.answer is Answer.NO else Answer.YES if v4.answer is Answer.YES else Answer.PARTLY
    judged = tuple(dict.fromkeys((*v6.vantages, *v4.judged_from)))  # each vantage named once
    return Population(kind, answer, f"IPv6 {shown}, falls back to IPv4: {v4.why}", judged)


def _broken_ipv6(v4: Population) -> Population:
    kind = ClientKind.BROKEN_IPV6
    if v4.answer is Answer.UNTESTED:
        return Population(kind, Answer.UNTESTED, "falls back to IPv4, which was not tested from any vantage")
    if v4.answer is Answer.YES:
        return Population(
            kind, Answer.YES, "its IPv6 connects fail, it falls back to IPv4, which answers", v4.judged_from
        )
    return Population(kind, v4.answer, f"falls back to IPv4, which gets nothing either: {v4.why}", v4.judged_from)


def _literal(host: str, seen: _Seen) -> tuple[Population, ...]:
    """A literal address: only its own family's clients can use it, dual-stack ones alike."""
    family = Family.of(host)
    own = _judged(seen)
    other = f"the target is an {family} address"
    answers = {
        ClientKind.IPV4_ONLY: own if family is Family.IPV4 else None,
        ClientKind.IPV6_ONLY: own if family is Family.IPV6 else None,
        ClientKind.NAT64: own if family is Family.IPV6 else None,
        ClientKind.DUAL_STACK: own,
        ClientKind.BROKEN_IPV6: own if family is Family.IPV4 else None,
    }
    return tuple(
        Population(kind, Answer.UNTESTED, other) if found is None else Population(kind, *found)
        for kind, found in answers.items()
    )


def populations(rows: Sequence[Row], reports: Sequence[HostReport]) -> tuple[Population, ...]:
    """What each kind of client gets, from the merged rows of ``reports``."""
    labels = [r.vantage.label if r.vantage else "?" for r in reports]
    broken = broken_ipv6_vantages(rows, labels)
    seen4, seen6 = _seen(rows, labels, Family.IPV4), _seen(rows, labels, Family.IPV6, without=broken)
    if reports and reports[0].resolution.literal:
        return _literal(reports[0].host, seen4 if Family.of(reports[0].host) is Family.IPV4 else seen6)
    has4, has6 = _has_records(reports, rows, Family.IPV4), _has_records(reports, rows, Family.IPV6)
    v4 = _by_family(ClientKind.IPV4_ONLY, seen4, has4, "A")
    v6 = _by_family(ClientKind.IPV6_ONLY, seen6, has6, "AAAA")
    return (
        v4,
        v6,
        _nat64(v6, _seen(rows, labels, Family.IPV6, dns64=True, without=broken), has6),
        _dual_stack(seen6, v4, has6),
        _broken_ipv6(v4),
    )

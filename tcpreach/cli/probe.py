"""``python -m tcpreach probe``: resolve a host, probe every address, judge and diagnose."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tcpreach.check import check_host
from tcpreach.cli.args import EXIT_FAILED, EXIT_OK, seconds, typed
from tcpreach.errors import UsageError
from tcpreach.expectation import Expectation, Match, expected_bytes, regex_bytes, request_bytes
from tcpreach.findings import errors
from tcpreach.fly.files import LintInputError, predicts_for
from tcpreach.inputs import (
    hostname_problem,
    parse_ca_file,
    parse_count,
    parse_host,
    parse_port,
    parse_resolver,
    parse_server_name,
    to_ascii,
)
from tcpreach.model import Family, Verdict
from tcpreach.options import (
    BOTH,
    DEFAULT_LIFETIME,
    DEFAULT_PORT,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    CheckOptions,
    TlsSettings,
)
from tcpreach.report.document import report_json
from tcpreach.report.text import format_report


def add_parser(commands: Any) -> None:
    probe = commands.add_parser("probe", help="resolve a host, probe every address, judge and diagnose")
    probe.add_argument("host", help="a name or an address: name, name:port, 1.2.3.4, ::1, [::1]:1848")
    probe.add_argument("--port", type=typed(parse_port), default=None, help=f"TCP port (default {DEFAULT_PORT})")
    expect = probe.add_mutually_exclusive_group()
    expect.add_argument(
        "--expect",
        type=typed(expected_bytes),
        default=None,
        metavar="TEXT",
        help=r"exactly these bytes, escapes \n \r \t \\ \0 \xHH (default 'hello\n')",
    )
    expect.add_argument(
        "--expect-prefix",
        type=typed(expected_bytes),
        default=None,
        metavar="TEXT",
        help="bytes that start with TEXT (a banner such as '+OK')",
    )
    expect.add_argument(
        "--expect-regex",
        type=typed(regex_bytes),
        default=None,
        metavar="REGEX",
        help="bytes in which the regular expression REGEX (Python re) is found",
    )
    probe.add_argument(
        "--send",
        type=typed(request_bytes),
        default=b"",
        metavar="TEXT",
        help="write TEXT (escapes as for --expect) right after connecting: a request",
    )
    probe.add_argument(
        "--keep-open", action="store_true", help="the server need not close: ok as soon as the expectation is met"
    )
    probe.add_argument(
        "--tls",
        action="store_true",
        help="speak TLS after connecting (SNI: the host name, or --sni); judge the decrypted bytes",
    )
    probe.add_argument(
        "--sni",
        type=typed(parse_server_name),
        default=None,
        metavar="NAME",
        help="with --tls: the name sent as SNI and checked on the certificate",
    )
    probe.add_argument(
        "--ca",
        type=typed(parse_ca_file),
        default=None,
        metavar="FILE",
        help="with --tls: trust the CAs in this PEM file instead of the system's",
    )
    family = probe.add_mutually_exclusive_group()
    family.add_argument("-4", dest="families", action="store_const", const=(Family.IPV4,), help="IPv4 only")
    family.add_argument("-6", dest="families", action="store_const", const=(Family.IPV6,), help="IPv6 only")
    probe.add_argument(
        "--resolver",
        type=typed(parse_resolver),
        default=None,
        metavar="IP[:PORT]",
        help="ask this DNS server alone (no system resolver, no getaddrinfo)",
    )
    probe.add_argument(
        "--timeout",
        type=typed(seconds),
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"connect timeout and read deadline, each (default {DEFAULT_TIMEOUT:g})",
    )
    probe.add_argument(
        "--dns-lifetime",
        type=typed(seconds),
        default=DEFAULT_LIFETIME,
        metavar="S",
        help=f"bound on each DNS query, retries included (default {DEFAULT_LIFETIME:g})",
    )
    probe.add_argument(
        "--retries",
        type=typed(parse_count),
        default=DEFAULT_RETRIES,
        metavar="N",
        help=f"retry a failing target N times, with backoff, and resend lost DNS queries (default {DEFAULT_RETRIES})",
    )
    probe.add_argument(
        "--fly-toml",
        type=Path,
        default=None,
        metavar="PATH",
        help="lint this fly.toml too: a live shared-IPv4 failure then confirms its prediction",
    )
    probe.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    probe.set_defaults(func=run_probe)


def tls_of(args: argparse.Namespace, parser: argparse.ArgumentParser) -> TlsSettings | None:
    if not args.tls:
        if args.sni or args.ca:
            parser.error("--sni and --ca go with --tls")
        return None
    return TlsSettings(server_name=args.sni, ca_file=args.ca)


def expectation_of(args: argparse.Namespace) -> Expectation:
    """The one ``Expectation`` the flags describe (``--expect`` by default)."""
    if args.expect_regex is not None:
        data, match = args.expect_regex, Match.REGEX
    elif args.expect_prefix is not None:
        data, match = args.expect_prefix, Match.PREFIX
    else:
        data, match = args.expect if args.expect is not None else Expectation().data, Match.EXACT
    return Expectation(data, match, send=args.send, keep_open=args.keep_open)


def _predicts_dedicated_ipv4(fly_toml: Path | None, host: str, parser: argparse.ArgumentParser) -> bool:
    """True when the lint of ``fly_toml`` predicts the shared-IPv4 failure for ``host``."""
    if fly_toml is None:
        return False
    try:
        return predicts_for(fly_toml, host)
    except LintInputError as exc:
        parser.error(str(exc))


def run_probe(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        spec = parse_host(args.host)
    except UsageError as exc:
        parser.error(str(exc))
    if not spec.literal:
        try:
            ascii_host = to_ascii(spec.host)
        except UsageError as exc:
            parser.error(str(exc))
        if (problem := hostname_problem(ascii_host)) is not None:
            parser.error(f"{spec.host!r} is not a valid host name: {problem}")
    if spec.port is not None and args.port is not None and spec.port != args.port:
        parser.error(f"two ports given: {spec.port} in {args.host!r} and --port {args.port}")
    port = args.port or spec.port or DEFAULT_PORT
    options = CheckOptions(
        port=port,
        expectation=expectation_of(args),
        families=args.families or BOTH,
        timeout=args.timeout,
        dns_lifetime=args.dns_lifetime,
        retries=args.retries,
        resolver=args.resolver,
        tls=tls_of(args, parser),
    )
    report = check_host(
        spec.host, options, predicted_dedicated_ipv4=_predicts_dedicated_ipv4(args.fly_toml, spec.host, parser)
    )
    if args.json:
        print(json.dumps(report_json(report), indent=2))
    else:
        print(format_report(report))
    all_ok = bool(report.outcomes) and all(o.verdict is Verdict.OK for o in report.outcomes)
    return EXIT_OK if all_ok and not errors(report.findings) else EXIT_FAILED

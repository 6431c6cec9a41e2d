"""``python -m tcpreach``: probe a host's every address, or lint a fly.toml.

    python -m tcpreach probe hello-server.fly.dev
    python -m tcpreach probe [::1]:1848 --json
    python -m tcpreach probe hello-server.fly.dev --resolver 127.0.0.1:5353
    python -m tcpreach probe mail.example:110 --expect-prefix '+OK' --keep-open
    python -m tcpreach probe cache.example:6379 --send 'PING\r\n' --expect '+PONG\r\n' --keep-open
    python -m tcpreach lint fly.toml

Exit status: probe, 0 when every probed target is ``ok``, 1 otherwise; lint, 1 on any
error finding; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

from tcpreach import __version__
from tcpreach.check import check_host
from tcpreach.diagnosis import errors
from tcpreach.expectation import Expectation, Match, expected_bytes, regex_bytes, request_bytes
from tcpreach.flylint import LintInputError, grouped, lint_path, predicts_for
from tcpreach.model import Family, Severity, Verdict
from tcpreach.options import (
    BOTH,
    DEFAULT_LIFETIME,
    DEFAULT_PORT,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    CheckOptions,
    TlsSettings,
)
from tcpreach.report import format_report, report_json
from tcpreach.targets import (
    UsageError,
    hostname_problem,
    parse_ca_file,
    parse_count,
    parse_host,
    parse_port,
    parse_resolver,
    parse_seconds,
    parse_server_name,
    to_ascii,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
T = TypeVar("T")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _typed(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser that raises ``UsageError``/``ValueError``."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def _seconds(text: str) -> float:
    return parse_seconds(text, "the value")


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m tcpreach", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    probe = commands.add_parser("probe", help="resolve a host, probe every address, judge and diagnose")
    probe.add_argument("host", help="a name or an address: name, name:port, 1.2.3.4, ::1, [::1]:1848")
    probe.add_argument("--port", type=_typed(parse_port), default=None, help=f"TCP port (default {DEFAULT_PORT})")
    expect = probe.add_mutually_exclusive_group()
    expect.add_argument(
        "--expect",
        type=_typed(expected_bytes),
        default=None,
        metavar="TEXT",
        help=r"exactly these bytes, escapes \n \r \t \\ \0 \xHH (default 'hello\n')",
    )
    expect.add_argument(
        "--expect-prefix",
        type=_typed(expected_bytes),
        default=None,
        metavar="TEXT",
        help="bytes that start with TEXT (a banner such as '+OK')",
    )
    expect.add_argument(
        "--expect-regex",
        type=_typed(regex_bytes),
        default=None,
        metavar="REGEX",
        help="bytes in which the regular expression REGEX (Python re) is found",
    )
    probe.add_argument(
        "--send",
        type=_typed(request_bytes),
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
        type=_typed(parse_server_name),
        default=None,
        metavar="NAME",
        help="with --tls: the name sent as SNI and checked on the certificate",
    )
    probe.add_argument(
        "--ca",
        type=_typed(parse_ca_file),
        default=None,
        metavar="FILE",
        help="with --tls: trust the CAs in this PEM file instead of the system's",
    )
    family = probe.add_mutually_exclusive_group()
    family.add_argument("-4", dest="families", action="store_const", const=(Family.IPV4,), help="IPv4 only")
    family.add_argument("-6", dest="families", action="store_const", const=(Family.IPV6,), help="IPv6 only")
    probe.add_argument(
        "--resolver",
        type=_typed(parse_resolver),
        default=None,
        metavar="IP[:PORT]",
        help="ask this DNS server alone (no system resolver, no getaddrinfo)",
    )
    probe.add_argument(
        "--timeout",
        type=_typed(_seconds),
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"connect timeout and read deadline, each (default {DEFAULT_TIMEOUT:g})",
    )
    probe.add_argument(
        "--dns-lifetime",
        type=_typed(_seconds),
        default=DEFAULT_LIFETIME,
        metavar="S",
        help=f"bound on each DNS query, retries included (default {DEFAULT_LIFETIME:g})",
    )
    probe.add_argument(
        "--retries",
        type=_typed(parse_count),
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

    lint = commands.add_parser("lint", help="check a fly.toml (and its Dockerfile) offline, before any deploy")
    lint.add_argument("path", nargs="?", type=Path, default=Path("fly.toml"), help="default ./fly.toml")
    lint.add_argument(
        "--port",
        type=_typed(parse_port),
        default=None,
        help=f"the port the server listens on (default: the Dockerfile's --port or ENV PORT, else {DEFAULT_PORT})",
    )
    lint.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    lint.set_defaults(func=run_lint)
    return parser


def run_lint(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        findings, dockerfile = lint_path(args.path, args.port)
    except LintInputError as exc:
        parser.error(str(exc))
    if args.json:
        doc = {
            "path": str(args.path),
            "dockerfile": None if dockerfile is None else str(dockerfile),
            "findings": [
                {"code": f.code, "severity": str(f.severity), "key": f.key, "message": f.message, "remedy": f.remedy}
                for f in findings
            ],
        }
        print(json.dumps(doc, indent=2))
    else:
        print(f"{args.path}" + (f" (and {dockerfile})" if dockerfile else ""))
        for f, count in grouped(findings):
            more = f" (and {count - 1} more like it)" if count > 1 else ""
            print(f"{f.severity.upper():7}  {f.code} at {f.key}: {f.message}{more}")
            if f.remedy:
                print(f"         fix: {f.remedy}")
        if not findings:
            print("no findings")
    return EXIT_FAILED if any(f.severity is Severity.ERROR for f in findings) else EXIT_OK


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args, parser)
    return code


def run_captured(argv: Sequence[str]) -> tuple[int, str, str]:
    """``main(argv)`` with its exit status, standard output and standard error captured:
    the command line from Python, without a new interpreter."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exited:  # argparse's usage errors
            code = exited.code if isinstance(exited.code, int) else 1 if exited.code else 0
    return code, out.getvalue(), err.getvalue()

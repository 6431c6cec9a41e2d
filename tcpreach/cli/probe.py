"""``python -m tcpreach probe``: resolve a host, probe every address, judge and diagnose."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import IO, Any

from tcpreach.check import check_host
from tcpreach.cli.args import EXIT_FAILED, EXIT_OK, add_settings, typed
from tcpreach.config import load_config, options_from, parsed
from tcpreach.errors import UsageError
from tcpreach.findings import FindingCode, errors
from tcpreach.fly.files import LintInputError, predicts_for
from tcpreach.inputs import hostname_problem, parse_host, to_ascii
from tcpreach.model import Family, HostReport, Verdict
from tcpreach.report.document import dump_report
from tcpreach.report.text import format_report
from tcpreach.settings import BY_NAME, CONFIG, SETTINGS, Setting, Surface

__all__ = ["add_parser", "exit_status", "run_probe"]

_FLAGS = tuple(s for s in SETTINGS if Surface.CLI in s.surfaces and s.name != "host")


def add_parser(commands: Any) -> None:
    probe = commands.add_parser("probe", help="resolve a host, probe every address, judge and diagnose")
    probe.add_argument(
        "host", type=typed(BY_NAME["host"].parse), help="a name or an address: name, name:port, ::1, [::1]:1848"
    )
    add_settings(probe, _FLAGS)
    family = probe.add_mutually_exclusive_group()
    family.add_argument("-4", dest="family", action="store_const", const=(Family.IPV4,), help="IPv4 only")
    family.add_argument("-6", dest="family", action="store_const", const=(Family.IPV6,), help="IPv6 only")
    probe.add_argument(*CONFIG.cli, type=Path, default=None, metavar=CONFIG.metavar, help=CONFIG.help)
    probe.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    probe.set_defaults(func=run_probe)


def _flag(setting: Setting) -> str:
    return setting.cli[0]


def _values(args: argparse.Namespace) -> dict[str, Any]:
    """What the flags gave, over what the configuration file gives."""
    given = {s.name: value for s in _FLAGS if (value := getattr(args, s.name)) is not None}
    if args.config is None:
        return given
    from_file = {k: v for k, v in load_config(args.config).items() if Surface.CLI in BY_NAME[k].surfaces}
    return {**parsed(from_file), **given}


def _host(text: str, port: int | None) -> tuple[str, int | None]:
    """The host to resolve and the port it names; a name that cannot be one is refused."""
    spec = parse_host(text)
    if not spec.literal and (problem := hostname_problem(to_ascii(spec.host))) is not None:
        raise UsageError(f"{spec.host!r} is not a valid host name: {problem}")
    if spec.port is not None and port is not None and spec.port != port:
        raise UsageError(f"two ports given: {spec.port} in {text!r} and --port {port}")
    return spec.host, spec.port


def _predicted(values: dict[str, Any], host: str) -> bool:
    """The fly.toml lint predicts the shared-IPv4 failure for ``host``: the file given, or
    ./fly.toml when there is one."""
    given = values.get("fly_toml")
    path = Path(given or str(BY_NAME["fly_toml"].default))
    if given is None and not path.is_file():
        return False
    try:
        return predicts_for(path, host)
    except LintInputError as exc:
        raise UsageError(str(exc)) from None


def exit_status(report: HostReport, accept_shared_ipv4: bool = False) -> int:
    """0 when every target is ``ok`` and no finding is an error; with ``accept_shared_ipv4``
    the shared-IPv4 finding and the targets it explains are accepted."""
    accepted = {a for f in report.findings if f.code == FindingCode.FLY_SHARED_IPV4 for a in f.addresses}
    if not accept_shared_ipv4:
        accepted = set()
    failing = [o for o in report.outcomes if o.verdict is not Verdict.OK and o.target.address not in accepted]
    blocking = [f for f in errors(report.findings) if not (accepted and f.code == FindingCode.FLY_SHARED_IPV4)]
    return EXIT_OK if report.outcomes and not failing and not blocking else EXIT_FAILED


def run_probe(args: argparse.Namespace, out: IO[str]) -> int:
    values = _values(args)
    host, port = _host(args.host, values.get("port"))
    if port is not None:
        values["port"] = port
    options = options_from(values, _flag)
    report = check_host(host, options, predicted_dedicated_ipv4=_predicted(values, host))
    if args.json:
        out.write(json.dumps(dump_report(report), indent=2) + "\n")
    else:
        out.write(format_report(report) + "\n")
    return exit_status(report, bool(values.get("accept_shared_ipv4")))

"""``python -m tcpreach probe``: resolve hosts, probe every address of every one at once,
judge and diagnose."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import IO, Any

from tcpreach.check import check_hosts_async
from tcpreach.cli.args import EXIT_FAILED, EXIT_OK, ORDERED, add_settings, typed
from tcpreach.cli.output import ReportWriter, signal_name
from tcpreach.cli.progress import Progress
from tcpreach.dialogue import ordered_steps
from tcpreach.engine import LAG_LIMIT_S, MAX_SLOTS, Engine
from tcpreach.errors import UsageError
from tcpreach.fly.remedies import is_fly_name
from tcpreach.model import Family, HostReport
from tcpreach.net.loop import run_until_signalled
from tcpreach.options import CheckOptions
from tcpreach.outcomes import passes
from tcpreach.settings import BY_NAME, CONFIG, SETTINGS, Given, Setting, Surface
from tcpreach.settings.config import load_config, options_from, parsed
from tcpreach.settings.hosts_file import read_hosts_file
from tcpreach.settings.inputs import canonical_host, host_note, parse_seconds, parse_target

__all__ = ["add_parser", "exit_status", "run_probe"]

_FLAGS = tuple(s for s in SETTINGS if Surface.CLI in s.surfaces and s.name != "host")


def add_parser(commands: Any, name: str, help_text: str) -> None:
    probe = commands.add_parser(name, help=help_text)
    probe.add_argument("host", nargs="*", help="names or addresses: name, name:port, ::1, [::1]:1848 (or --hosts-file)")
    probe.add_argument(
        "--hosts-file",
        type=Path,
        default=None,
        metavar="FILE",
        help='more hosts: one host[:port] a line (# comments), or a .toml of settings with [hosts."NAME"] tables',
    )
    add_settings(probe, _FLAGS)
    family = probe.add_mutually_exclusive_group()
    family.add_argument("-4", dest="family", action="store_const", const=(Family.IPV4,), help="IPv4 only")
    family.add_argument("-6", dest="family", action="store_const", const=(Family.IPV6,), help="IPv6 only")
    probe.add_argument(*CONFIG.cli, type=Path, default=None, metavar=CONFIG.metavar, help=CONFIG.help)
    probe.add_argument(
        "--json",
        action="store_true",
        help='print one JSON document (one report; several as {"schema": 1, "reports": [...]})',
    )
    probe.add_argument("--format", choices=("text", "json", "nagios"), default=None,
                       help="the output: the table (default), --json's document or --plugin's status line")  # fmt: skip
    plugin = probe.add_argument_group("monitoring plugin (Nagios, Icinga, Naemon, Sensu, Zabbix)")
    plugin.add_argument(
        "--plugin", action="store_true",
        help="one status line with performance data, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
    )  # fmt: skip
    plugin.add_argument("-w", "--warning", type=typed(_seconds), metavar="S",
                        help="with --plugin: WARNING when an address takes longer than S to its verdict")  # fmt: skip
    plugin.add_argument("-c", "--critical", type=typed(_seconds), metavar="S",
                        help="with --plugin: CRITICAL when an address takes longer than S to its verdict")  # fmt: skip
    for timing, what in (("connect", "to connect"), ("first-byte", "to the first byte")):
        for level in ("warning", "critical"):
            plugin.add_argument(f"--{timing}-{level}", type=typed(_seconds), metavar="S",
                                help=f"with --plugin: {level.upper()} when an address takes over S {what}")  # fmt: skip
    states = ["ok", "warning", "critical", "unknown"]
    plugin.add_argument("-r", "--refused-state", choices=states, default="critical",
                        help="with --plugin: the state a refused address stands for (default critical)")  # fmt: skip
    plugin.add_argument("-M", "--mismatch-state", choices=states, default="critical",
                        help="with --plugin: the state of an unexpected answer (wrong greeting, truncated, extra data; "
                             "default critical)")  # fmt: skip
    probe.add_argument(
        "-v", "--verbose", action="store_true",
        help="after each table, what happened on the wire at every target: connect, sent, received, the end",
    )  # fmt: skip
    probe.set_defaults(func=run_probe)


def _seconds(text: str) -> float:
    return parse_seconds(text, "the threshold")


def _flag(setting: Setting) -> str:
    return setting.cli[0]


def _values(args: argparse.Namespace, common: dict[str, Given]) -> dict[str, Any]:
    """What the flags gave, over a hosts file's common settings, over the config file's.
    Repeated ``--send``/``--expect*`` flags, or ``--step``, are one dialogue, in order."""
    given = {s.name: value for s in _FLAGS if (value := getattr(args, s.name)) is not None}
    try:
        steps = ordered_steps(getattr(args, ORDERED, None) or ())
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if steps is not None:
        given = {name: value for name, value in given.items() if not BY_NAME[name].ordered}
        given["steps"] = steps
    from_file = load_config(args.config) if args.config is not None else {}
    below = {k: v for k, v in {**from_file, **common}.items() if Surface.CLI in BY_NAME[k].surfaces}
    return {**parsed(below), **given}


def _host(text: str, port: int | None) -> tuple[str, int | None]:
    """The host to resolve and the port it names; a name that cannot be one is refused."""
    spec = parse_target(text)
    if spec.port is not None and port is not None and spec.port != port:
        raise UsageError(f"two ports given: {spec.port} in {text!r} and --port {port}")
    return spec.host, spec.port


def _requests(args: argparse.Namespace) -> tuple[list[tuple[str, CheckOptions]], dict[str, Any]]:
    """Each host with its options: the command line's hosts, then the hosts file's (each
    with its own settings over the common ones), else the config file's ``host`` list; and
    the settings common to all."""
    common: dict[str, Given] = {}
    listed: list[tuple[str, dict[str, Given]]] = [(host, {}) for host in args.host]
    if args.hosts_file is not None:
        common, from_file = read_hosts_file(args.hosts_file)
        listed += from_file
    values = _values(args, common)
    if not listed:
        listed = [(host, {}) for host in values.get("host", ())]
    if not listed:
        raise UsageError("give a HOST, or --hosts-file FILE")
    requests = []
    for text, own in listed:
        host_values = {**values, **parsed(own)}
        host, port = _host(text, args.port)  # a port in the host wins over any default, never over --port
        if port is not None:
            host_values["port"] = port
        options = options_from(host_values, _flag)
        requests.append((host, dataclasses.replace(options, transcript=True) if args.verbose else options))
    # one target however it is spelled (name. and NAME, host and host:PORT with PORT the port): probed once
    unique: dict[tuple[str, CheckOptions], tuple[str, CheckOptions]] = {}
    for host, options in requests:
        unique.setdefault((canonical_host(host), options), (host, options))
    return list(unique.values()), values


def _predicted(values: dict[str, Any], host: str) -> bool:
    """The fly.toml lint predicts the shared-IPv4 failure for ``host``: the file given, or
    ./fly.toml when there is one. Only a Fly name can be predicted (and only then is the
    lint loaded)."""
    given = values.get("fly_toml")
    if not is_fly_name(host):
        if given is not None and not Path(given).is_file():
            raise UsageError(f"--fly-toml: no file at {given!r}")
        return False
    from tcpreach.fly.files import LintInputError, predicts_for

    path = Path(given or str(BY_NAME["fly_toml"].default))
    if given is None and not path.is_file():
        return False
    try:
        return predicts_for(path, host)
    except LintInputError as exc:
        raise UsageError(str(exc)) from None


def exit_status(report: HostReport, accept_shared_ipv4: bool = False) -> int:
    """0 when the report passes (``tcpreach.outcomes.passes``), 1 otherwise."""
    return EXIT_OK if passes(report, accept_shared_ipv4) else EXIT_FAILED


def _output(args: argparse.Namespace) -> None:
    """``--format`` as ``--json`` or ``--plugin``; a second, different output is refused."""
    if args.format is None:
        return
    chosen = {"text": (False, False), "json": (True, False), "nagios": (False, True)}[args.format]
    if (args.json and not chosen[0]) or (args.plugin and not chosen[1]):
        other = "--json" if args.json else "--plugin"
        raise UsageError(f"--format {args.format} and {other} are two outputs: give one")
    args.json, args.plugin = chosen


def run_probe(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    _output(args)
    thresholds = (args.warning, args.critical, args.connect_warning, args.connect_critical, args.first_byte_warning,
                  args.first_byte_critical)  # fmt: skip
    if any(limit is not None for limit in thresholds) and not args.plugin:
        raise UsageError("--warning and --critical go with --plugin")
    if args.plugin and args.json:
        raise UsageError("--plugin and --json are two outputs: give one")
    requests, values = _requests(args)
    for note in filter(None, map(host_note, args.host)):
        err.write(f"note: {note} (probing it as written)\n")
    accept = bool(values.get("accept_shared_ipv4"))
    piped_json = args.json and not getattr(out, "isatty", lambda: False)()
    writer = None if args.plugin else ReportWriter(out, len(requests), as_json=args.json, verbose=args.verbose)
    kept: list[tuple[int, HostReport]] = []
    failed = False

    def handed(index: int, report: HostReport) -> None:
        nonlocal failed
        progress.host_done()
        if writer is None:
            kept.append((index, report))
            return
        status = exit_status(report, accept)
        failed = failed or status != EXIT_OK
        writer.write(report, status)

    started = time.monotonic()
    engine = Engine(MAX_SLOTS)
    with Progress(err, hosts=len(requests), quiet=piped_json) as progress:
        work = check_hosts_async(requests, lambda host: _predicted(values, host), progress.done, handed, engine)
        _, interrupted = run_until_signalled(work)
    if args.verbose and engine.gate.worst > LAG_LIMIT_S:  # said of the run (with -v), never made into a verdict
        late = f"{engine.gate.worst * 1000:.0f} ms"
        err.write(f"note: this machine was busy: the event loop ran up to {late} late; each verdict was judged "
                  "by its socket's own state, and the times include the lateness\n")  # fmt: skip
    if interrupted is not None:
        if writer is not None:
            writer.finish(interrupted, time.monotonic() - started)
        else:
            out.write(f"TCPREACH UNKNOWN - interrupted by {signal_name(interrupted)}: "
                      f"{len(kept)} of {len(requests)} hosts judged\n")  # fmt: skip
        return 128 + interrupted
    if writer is None:
        from tcpreach.report.nagios import State, Thresholds, plugin_status

        mapped = (State[args.refused_state.upper()], State[args.mismatch_state.upper()])
        limits = Thresholds(args.warning, args.critical, *mapped, connect=(args.connect_warning, args.connect_critical),
                            first_byte=(args.first_byte_warning, args.first_byte_critical))  # fmt: skip
        state, line = plugin_status([report for _, report in sorted(kept, key=lambda pair: pair[0])], limits)
        out.write(line + "\n")
        return int(state)
    writer.finish()
    return EXIT_FAILED if failed else EXIT_OK

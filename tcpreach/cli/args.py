"""What every subcommand's parser shares: usage errors with exit status 2 written to the
given stream, argparse types made from the library's parsers, and the flags of the
settings table (``tcpreach.settings``)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

from tcpreach.settings import Kind, Setting

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "ORDERED",
    "Parser",
    "add_settings",
    "bind_streams",
    "terminal_width",
    "typed",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 128 + 2
"""SIGINT's status, as a shell gives it (SIGTERM's is 143)."""
T = TypeVar("T")
_NEGATIVE = re.compile(r"^-[0-9.]")


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (status 2), writing to ``stdout``/``stderr``."""

    stdout: IO[str] | None = None
    stderr: IO[str] | None = None

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """As argparse, but a value that looks like a negative number (``--timeout -1``) is
        the option's value: with ``-4`` and ``-6`` among the flags argparse would take it
        for an option and say "expected one argument" instead of what is wrong with it."""
        words = list(sys.argv[1:] if args is None else args)
        valued = {flag for action in self._actions if action.nargs is None for flag in action.option_strings}
        joined: list[str] = []
        for word in words:
            if joined and joined[-1] in valued and _NEGATIVE.match(word):
                joined[-1] = f"{joined[-1]}={word}"
            else:
                joined.append(word)
        return super().parse_known_args(joined, namespace)

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            stream = self.stderr if file is sys.stderr else self.stdout
            (stream or file or sys.stdout).write(message)


def bind_streams(parser: argparse.ArgumentParser, stdout: IO[str], stderr: IO[str]) -> None:
    """Send ``parser``'s and its subcommands' output and usage errors to these streams."""
    if isinstance(parser, Parser):
        parser.stdout, parser.stderr = stdout, stderr
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                bind_streams(sub, stdout, stderr)


def typed(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser that raises ``UsageError``/``ValueError``."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


ORDERED = "_ordered"
"""Where the ordered flags (a dialogue's steps) gather, as ``(setting name, value)`` pairs."""


class _InOrder(argparse.Action):
    """Keep the last value under the setting's own name (a list's values all), and every
    value in the order given under ``ORDERED``, shared by all ordered flags."""

    def __init__(self, *args: Any, listed: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listed = listed

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:  # fmt: skip
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), values] if self.listed else values)
        setattr(namespace, ORDERED, [*(getattr(namespace, ORDERED, None) or []), (self.dest, values)])


def add_settings(parser: argparse.ArgumentParser, settings: Iterable[Setting]) -> None:
    """A flag for each setting, its value parsed by the setting's own parser. Nothing given
    leaves ``None``, so what was given can be told from a default. The ordered settings (a
    dialogue's steps) are repeatable, and their values in order are kept under ``ORDERED``."""
    groups: dict[str, Any] = {}
    for setting in settings:
        target: Any = parser
        if setting.ordered:
            parser.add_argument(*setting.cli, dest=setting.name, action=_InOrder, type=typed(setting.parse),
                                default=None, metavar=setting.metavar, listed=setting.kind is Kind.LIST,
                                help=setting.help)  # fmt: skip
            continue
        if setting.group:
            if setting.group not in groups:
                groups[setting.group] = parser.add_mutually_exclusive_group()
            target = groups[setting.group]
        if setting.kind is Kind.FLAG:
            target.add_argument(*setting.cli, dest=setting.name, action="store_true", default=None, help=setting.help)
        else:
            action = "append" if setting.kind is Kind.LIST else "store"
            target.add_argument(*setting.cli, dest=setting.name, action=action, type=typed(setting.parse),
                                default=None, metavar=setting.metavar, help=setting.help)  # fmt: skip


def terminal_width(out: IO[str]) -> int | None:
    """The width to wrap findings at: ``COLUMNS`` when set, else the terminal's when ``out``
    is one; ``None`` (no wrapping) for a pipe or a file."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= 40:
        return int(columns)
    isatty = getattr(out, "isatty", None)
    return shutil.get_terminal_size().columns if isatty is not None and isatty() else None

"""What every subcommand's parser shares: usage errors with exit status 2, and argparse
types made from the library's parsers."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn, TypeVar

from tcpreach.inputs import parse_seconds

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
T = TypeVar("T")


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def typed(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser that raises ``UsageError``/``ValueError``."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def seconds(text: str) -> float:
    return parse_seconds(text, "the value")

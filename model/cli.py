"""The `labor-stocks` command line: it parses, calls the library, prints.

A user's mistake (a bad file, a bad argument) is one line on stderr and exit code 2, never a
traceback. Everything here is callable from Python through the library modules.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import InputError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the argument, and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{self.prog}: {message}")


def _simulate(args: argparse.Namespace) -> int:
    """One replicate of the shared history with default parameters: yearly stocks per province."""
    import datetime as dt

    from .history import HISTORY_START
    from .parameters import with_overrides
    from .sim import LaborModel

    try:
        end = dt.date.fromisoformat(args.end)
    except ValueError:
        raise InputError(f"--end: not a date (YYYY-MM-DD): {args.end!r}") from None
    if end < HISTORY_START:
        raise InputError(f"--end: {end} is before the start of the history, {HISTORY_START}")
    model = LaborModel(with_overrides({}), None, HISTORY_START, end, args.seed).run()
    table = model.results("provinces")
    table = table[table.date.dt.is_year_end | (table.date == table.date.max())]
    print(table.pivot(index="date", columns="place", values="stock").to_string())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="labor-stocks", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    simulate = commands.add_parser("simulate", help="one replicate of the shared history, stocks per year")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    simulate.add_argument("--end", default="2030-12-31", help="last day, YYYY-MM-DD (default 2030-12-31)")
    simulate.set_defaults(handler=_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `labor-stocks` and `python -m model`; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args) or 0)
    except InputError as error:
        print(f"labor-stocks: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("labor-stocks: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

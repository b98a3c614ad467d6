"""The shared history: the dated events of the articles, read from `history.toml` beside this module.

It is data, not code: every scenario extends it, and an analyst can read (and, with a new
article, correct) it without touching Python.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from ..errors import InputError
from ..world.calendar import HISTORY_END, HISTORY_START
from ..world.events import Event, parse_date, parse_events

HISTORY_PATH = Path(__file__).with_name("history.toml")


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[Event, ...]:
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"{path}: cannot read the history: {error}") from None
    for key in ("start", "end"):
        if key in table:
            parse_date(table[key], f"{path}: key {key}")
    return tuple(parse_events(table.get("events", []), str(path)))


def load_history(path: Path | str = HISTORY_PATH) -> list[Event]:
    """The history's events in date order."""
    return list(_load(Path(path)))

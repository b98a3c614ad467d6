"""Ranged assumptions: an event field known only within bounds, drawn anew for each replicate.

Where the articles are vague ("since last winter", "recently") or a level is a choice, a
scenario file gives a range instead of a point:

    date = { earliest = 2022-11-01, latest = 2023-02-28 }
    level = { low = 0.8, high = 1.0 }
    level = { low = 0.2, high = 0.6, distribution = "triangular", mode = 0.3 }

Each replicate draws every ranged field from a generator of its own, seeded from the
replicate's seed and the event's identity (its `id`, or else its whole definition). So the
same seed gives the same values in any process, and replicate i of two scenarios that share
an event (the history's, or a common parent's) draws the same value for it: paired
comparisons stay paired.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError

DISTRIBUTIONS = ("uniform", "triangular")


@dataclass(frozen=True)
class Range:
    """Bounds of one field (numbers, or dates as ordinals), and how values are drawn between them."""

    low: float
    high: float
    distribution: str = "uniform"
    mode: float | None = None
    dates: bool = False
    whole: bool = False
    """Draws are rounded to whole numbers (counts of workers)."""

    def draw(self, rng: np.random.Generator) -> Any:
        """One value: a date (dates), a whole number (whole) or a float."""
        if self.dates:
            return dt.date.fromordinal(int(rng.integers(int(self.low), int(self.high) + 1)))
        if self.high == self.low:
            value = self.low
        elif self.distribution == "triangular":
            value = float(rng.triangular(self.low, self.mode, self.high))
        else:
            value = float(rng.uniform(self.low, self.high))
        return int(round(value)) if self.whole else value

    def as_dict(self) -> dict[str, Any]:
        """The range as a scenario file writes it."""
        if self.dates:
            return {"earliest": dt.date.fromordinal(int(self.low)).isoformat(),
                    "latest": dt.date.fromordinal(int(self.high)).isoformat()}
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.distribution != "uniform":
            out.update(distribution=self.distribution, mode=self.mode)
        return out


def parse_date_range(table: dict[str, Any], where: str, parse_date: Any) -> Range:
    """`{ earliest = ..., latest = ... }`; InputError naming `where` otherwise."""
    unknown = sorted(set(table) - {"earliest", "latest"})
    if unknown or not {"earliest", "latest"} <= set(table):
        raise InputError(f"{where}: a date range is {{ earliest = YYYY-MM-DD, latest = YYYY-MM-DD }}, "
                         f"got keys {', '.join(map(str, table)) or 'none'}")
    earliest = parse_date(table["earliest"], f"{where}.earliest")
    latest = parse_date(table["latest"], f"{where}.latest")
    if earliest > latest:
        raise InputError(f"{where}: earliest ({earliest}) is after latest ({latest})")
    return Range(float(earliest.toordinal()), float(latest.toordinal()), dates=True)


def parse_number_range(table: dict[str, Any], where: str, whole: bool) -> Range:
    """`{ low = ..., high = ... }` with an optional `distribution` (and `mode` for triangular)."""
    unknown = sorted(set(table) - {"low", "high", "distribution", "mode"})
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} in a range (known: low, high, distribution, mode)")
    numbers = {}
    for key in ("low", "high", "mode"):
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise InputError(f"{where}.{key}: must be a finite number, got {value!r}")
        numbers[key] = float(value)
    if "low" not in numbers or "high" not in numbers:
        raise InputError(f"{where}: a range needs both low and high")
    low, high = numbers["low"], numbers["high"]
    if low > high:
        raise InputError(f"{where}: low ({low:g}) is above high ({high:g})")
    distribution = table.get("distribution", "uniform")
    if distribution not in DISTRIBUTIONS:
        raise InputError(f"{where}.distribution: {distribution!r} is not one of {', '.join(DISTRIBUTIONS)}")
    mode = numbers.get("mode")
    if distribution == "triangular":
        if mode is None or not low <= mode <= high:
            raise InputError(f"{where}.mode: a triangular range needs a mode between low and high")
    elif mode is not None:
        raise InputError(f"{where}.mode: only a triangular range has a mode")
    return Range(low, high, distribution, mode, whole=whole)


def identity(definition: dict[str, Any]) -> int:
    """A stable number for an event: the same table gives the same number in every scenario and process."""
    text = definition.get("id") or json.dumps(definition, sort_keys=True, default=str)
    return zlib.crc32(str(text).encode("utf-8"))


def generator(seed: int, event_identity: int) -> np.random.Generator:
    """The generator of one event's draws in the replicate with simulation seed `seed`."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, int(event_identity), 0x7A6E])

"""The projection table: each replicate's daily records per period, then quantiles across replicates.

`projection.csv` has exactly the columns of `COLUMNS`. For each quantity (stock, inflow,
outflow, defections), place and period: `date` is the last day of the period that the run
covers (a first or last period cut by the scenario's `start` or `end` is a partial period),
stocks are counted at the end of that day, flows are summed over the period's days, and
`mean`, `p05` .. `p95` are taken across replicates (and posterior draws) in workers.
Rows come in a fixed order: quantity, then place (the four provinces and China first, then
the cities), then date; so the same replicates always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..world.geography import CHINA, CITIES, PROVINCES
from ..world.records import PROJECTED

QUANTITIES: tuple[str, ...] = PROJECTED
COLUMNS: tuple[str, ...] = ("scenario", "quantity", "place", "date", "mean", "p05", "p25", "median", "p75", "p95")
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
REQUIRED_PLACES: tuple[str, ...] = (*PROVINCES, CHINA)
PLACES: tuple[str, ...] = (*REQUIRED_PLACES, *(c.name for c in CITIES if c.name not in REQUIRED_PLACES))
"""Provinces and China, then every city (the single-city province Heilongjiang appears once)."""

_PANDAS_FREQ = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q-DEC", "year": "Y-DEC"}


@dataclass(frozen=True)
class Periods:
    """How the simulated days fold into output periods.

    `first` is the day index (from the simulation's first day) of the scenario's `start`;
    `starts` and `ends` are each period's first and last day, counted from `first`; `dates`
    the last day of each period.
    """

    first: int
    starts: np.ndarray
    ends: np.ndarray
    dates: tuple[dt.date, ...]

    @property
    def days(self) -> np.ndarray:
        """Length of each period in days."""
        return self.ends - self.starts + 1


def periods(simulation_start: dt.date, start: dt.date, end: dt.date, freq: str) -> Periods:
    """The periods of `freq` (day, week, month, quarter, year) between `start` and `end`, inclusive.

    Weeks end on Sunday; quarters and years on the calendar's.
    """
    days = pd.date_range(start, end, freq="D")
    labels = days.to_period(_PANDAS_FREQ[freq]).asi8
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    ends = np.concatenate([change - 1, [len(days) - 1]]).astype(np.int64)
    dates = tuple(d.date() for d in days[ends])
    return Periods((start - simulation_start).days, starts, ends, dates)


def period_values(daily: dict[str, dict[str, np.ndarray]], periods: Periods) -> np.ndarray:
    """One replicate's daily series folded into periods: array (quantity, place, period), in workers.

    `daily[quantity][place]` is a daily series from the simulation's first day, as
    `DailyRecords.by_place` gives it (times the scale). Stocks are taken on each period's last
    day, flows summed over its days.
    """
    out = np.zeros((len(QUANTITIES), len(PLACES), len(periods.dates)), dtype=np.int64)
    window = slice(periods.first, periods.first + int(periods.ends[-1]) + 1)
    for q, quantity in enumerate(QUANTITIES):
        for p, place in enumerate(PLACES):
            series = np.asarray(daily[quantity][place][window], dtype=np.int64)
            if quantity == "stock":
                out[q, p] = series[periods.ends]
            else:
                out[q, p] = np.add.reduceat(series, periods.starts)
    return out


def summarise(scenario: str, replicates: Sequence[np.ndarray], periods: Periods) -> pd.DataFrame:
    """The projection table: mean and quantiles across `replicates` (each from `period_values`)."""
    values = np.stack(list(replicates)).astype(np.float64)
    mean = values.mean(axis=0)
    quantiles = np.quantile(values, QUANTILES, axis=0)
    shape = mean.shape
    q_index, p_index, t_index = (axis.ravel() for axis in np.indices(shape))
    table = pd.DataFrame({
        "scenario": scenario,
        "quantity": np.asarray(QUANTITIES, dtype=object)[q_index],
        "place": np.asarray(PLACES, dtype=object)[p_index],
        "date": np.asarray([d.isoformat() for d in periods.dates], dtype=object)[t_index],
        "mean": mean.ravel(),
    })
    for name, level in zip(COLUMNS[5:], quantiles):
        table[name] = level.ravel()
    return table[list(COLUMNS)]


def write_projection(table: pd.DataFrame, path: Path) -> None:
    """Write the table as projection.csv: fixed columns, one decimal, Unix newlines."""
    table[list(COLUMNS)].to_csv(path, index=False, float_format="%.1f", lineterminator="\n")


def read_projection(path: str | Path) -> pd.DataFrame:
    """Read a projection.csv back (dates as dates), e.g. for plotting or comparing scenarios."""
    table = pd.read_csv(path, keep_default_na=False)
    table["date"] = pd.to_datetime(table["date"])
    return table


REPLICATES_FILE = "replicates.npz"
"""Each replicate's period values, beside projection.csv, for comparisons that need pairs."""


@dataclass(frozen=True)
class Replicates:
    """Every replicate's values per quantity, place and period, as a run wrote them (replicates.npz).

    `values[quantity]` is an int64 array [replicate, place, period] in workers; `seeds` the
    simulation seed of each replicate, `places` and `dates` label the other two axes. A
    comparison of two runs subtracts replicate i from replicate i, which is only meaningful
    when both runs gave replicate i the same seed and the same posterior draw.
    """

    values: dict[str, np.ndarray]
    seeds: np.ndarray
    places: tuple[str, ...]
    dates: tuple[dt.date, ...]


def write_replicates(values: np.ndarray, seeds: Sequence[int], periods: Periods, path: Path,
                     ranged: tuple[Sequence[str], np.ndarray] | None = None) -> None:
    """Write `values` (replicate, quantity, place, period), as stacked from `period_values`, to an .npz file.

    One array per quantity, plus `seeds`, `places` and `dates` (ISO text): plain arrays, so
    that numpy reads the file back without pickle, and so does any other tool that reads .npz.
    `ranged` adds `ranged_fields` (labels such as "liaoning-2024.level") and `ranged_values`
    [replicate, field]: what each replicate drew for each ranged event field (a date as days
    since 1970-01-01, `np.datetime64(int(v), "D")` reads it back).
    """
    arrays = {quantity: np.ascontiguousarray(values[:, q], dtype=np.int64) for q, quantity in enumerate(QUANTITIES)}
    if ranged is not None and len(ranged[0]):
        arrays["ranged_fields"] = np.asarray(list(ranged[0]), dtype=str)
        arrays["ranged_values"] = np.asarray(ranged[1], dtype=np.float64)
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays, seeds=np.asarray(seeds, dtype=np.uint64),
                            places=np.asarray(PLACES, dtype=str),
                            dates=np.asarray([d.isoformat() for d in periods.dates], dtype=str))


def read_replicates(path: str | Path) -> Replicates:
    """Read a replicates.npz back; raises OSError, KeyError or ValueError for a damaged file (callers name it)."""
    with np.load(path, allow_pickle=False) as data:
        values = {quantity: data[quantity] for quantity in QUANTITIES if quantity in data.files}
        return Replicates(values, data["seeds"], tuple(str(p) for p in data["places"]),
                          tuple(dt.date.fromisoformat(str(d)) for d in data["dates"]))

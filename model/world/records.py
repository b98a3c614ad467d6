"""Daily records per city, and their sums per province and for China.

For each day and city the model records the stock at the end of the day (workers present),
the inflow (arrivals), the outflow (repatriations), defections and the number confined.
Flows are counted where they happen; the stock is carried from day to day by those same
flows, so that stock(t) = stock(t-1) + inflow(t) - outflow(t) - defections(t) holds by
construction, and `recount_stock` checks it independently from the worker rows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..world.geography import CHINA, CITIES, CROSSINGS, PROVINCES, city_crossing_index, city_province_index
from ..world.workers import NEVER, Workers

QUANTITIES = ("stock", "inflow", "outflow", "defections", "confined")
FLOWS = ("inflow", "outflow", "defections")
PROJECTED: tuple[str, ...] = ("stock", *FLOWS)
"""The quantities of a projection (`confined` is a state, kept in the daily records only)."""


class DailyRecords:
    """Arrays of shape (days, cities) for every quantity, counted in agents and read in workers.

    `scale` is the number of workers one agent stands for: the counts are multiplied by it
    once, when a series is read (`by_place`, `frame`), never where they are counted.
    """

    def __init__(self, days: int, initial_stock: np.ndarray, scale: int = 1) -> None:
        cities = len(CITIES)
        self.days = days
        self.scale = int(scale)
        self.initial_stock = initial_stock.astype(np.int64)
        self.stock_now = self.initial_stock.copy()
        self.confined_now = np.zeros(cities, dtype=np.int64)
        self.data = {name: np.zeros((days, cities), dtype=np.int64) for name in QUANTITIES}

    def count(self, quantity: str, day: int, cities: np.ndarray) -> None:
        """Add one flow event per entry of `cities` (city indices) on `day`."""
        if cities.size == 0:
            return
        counts = np.bincount(cities, minlength=len(CITIES))
        self.data[quantity][day] += counts
        if quantity == "inflow":
            self.stock_now += counts
        else:
            self.stock_now -= counts

    def confine(self, cities: np.ndarray, sign: int) -> None:
        """Workers confined (+1) or leaving confinement by repatriation (-1)."""
        if cities.size:
            self.confined_now += sign * np.bincount(cities, minlength=len(CITIES))

    def close_day(self, day: int) -> None:
        """Write the end-of-day stock and confined count."""
        self.data["stock"][day] = self.stock_now
        self.data["confined"][day] = self.confined_now

    def by_place(self, quantity: str, crossings: bool = False) -> dict[str, np.ndarray]:
        """One daily series per city, per province and for China (days,) in workers.

        With `crossings`, also one per border crossing: the sum over the cities it serves.
        """
        values = self.data[quantity] * self.scale if self.scale != 1 else self.data[quantity]
        out = {city.name: values[:, c] for c, city in enumerate(CITIES)}
        province_of = np.asarray(city_province_index())
        for p, province in enumerate(PROVINCES):
            out[province] = values[:, province_of == p].sum(axis=1)
        out[CHINA] = values.sum(axis=1)
        if crossings:
            crossing_of = np.asarray(city_crossing_index())
            for c, crossing in enumerate(CROSSINGS):
                out[crossing.name] = values[:, crossing_of == c].sum(axis=1)
        return out

    def frame(self, start: dt.date, places: str = "all") -> pd.DataFrame:
        """A long table: date, place, and one column per quantity, in workers.

        `places` is "all" (cities, provinces and China) or "provinces" (provinces and China).
        """
        dates = pd.date_range(start, periods=self.days, freq="D")
        names = list(PROVINCES) + [CHINA] if places == "provinces" else None
        series = {q: self.by_place(q) for q in QUANTITIES}
        keys = names if names is not None else list(series["stock"])
        parts = []
        for place in keys:
            part = pd.DataFrame({"date": dates, "place": place})
            for q in QUANTITIES:
                part[q] = series[q][place]
            parts.append(part)
        return pd.concat(parts, ignore_index=True)


def recount_stock(workers: Workers, day: int, cities: int) -> np.ndarray:
    """Stock per city at the end of `day`, counted afresh from the worker rows.

    A row is present on `day` when it arrived on or before it and has not left by then.
    Used by tests to check the running counts; it does not depend on any flow record.
    """
    arrival = workers.column("arrival")
    departure = workers.column("departure")
    present = (arrival <= day) & (departure > day)
    return np.bincount(workers.column("city")[present], minlength=cities)


__all__ = ["DailyRecords", "QUANTITIES", "FLOWS", "PROJECTED", "recount_stock", "NEVER"]

"""Border crossings over time: which are open to workers, and how many can cross per day.

A crossing is closed (nobody crosses), freight only (goods, no workers) or open (workers up
to its daily capacity in each direction). Capacity starts at `open_capacity` and is changed
by events: a number of persons per day, "limited" (the `limited_capacity` of the first
months after trains resumed, 000) or a number of chartered vehicles times
`seats_per_vehicle` (000: seven minibuses a day out of Dandong).

When one agent stands for `scale` workers, capacity is counted in agents; the fraction of an
agent left over each day carries to the next so that, over time, the flow matches the
capacity. Unused whole places are not carried: a bus that leaves half empty is gone.
"""

from __future__ import annotations

import numpy as np

from .geography import CROSSING_INDEX, CROSSINGS
from .parameters import Parameters

CLOSED, FREIGHT, OPEN = "closed", "freight", "open"


class Border:
    """Status and daily capacity (persons per direction) of every crossing."""

    def __init__(self, params: Parameters) -> None:
        self.params = params
        count = len(CROSSINGS)
        self.status = [OPEN] * count
        self.capacity = np.full(count, float(params.open_capacity))
        self._fraction = np.zeros(count)
        self.left = {"out": np.zeros(count, dtype=np.int64), "in": np.zeros(count, dtype=np.int64)}
        self.is_open = np.ones(count, dtype=bool)
        self._whole = np.zeros(count)
        self._steady = False  # True while each day's refill is yesterday's (nothing carried over)

    def _targets(self, name: str) -> list[int]:
        return list(range(len(CROSSINGS))) if name == "all" else [CROSSING_INDEX[name]]

    def set_status(self, name: str, status: str, capacity: float | str | None = None) -> None:
        """Open, close or restrict a crossing (or "all"); `capacity` persons per day, or "limited".

        A crossing opened without a capacity gets `open_capacity`.
        """
        for crossing in self._targets(name):
            self.status[crossing] = status
            if capacity == "limited":
                self.capacity[crossing] = self.params.limited_capacity
            elif capacity is not None:
                self.capacity[crossing] = float(capacity)
            elif status == OPEN:
                self.capacity[crossing] = self.params.open_capacity
            self._refresh(crossing)

    def set_capacity(self, name: str, persons: float | None = None, vehicles: float | None = None) -> None:
        """A new daily capacity: persons, or chartered vehicles of `seats_per_vehicle` seats (000)."""
        for crossing in self._targets(name):
            self.capacity[crossing] = float(persons) if persons is not None else \
                float(vehicles) * self.params.seats_per_vehicle
            self._refresh(crossing)

    def _refresh(self, crossing: int) -> None:
        self.is_open[crossing] = self.status[crossing] == OPEN and self.capacity[crossing] > 0
        self._steady = False

    def contact_cut(self) -> np.ndarray:
        """Per crossing, 1.0 where workers cannot cross (their families are out of reach, 001)."""
        return (~self.is_open).astype(float)

    def new_day(self) -> None:
        """Refill today's capacity, in agents, in both directions.

        While no fraction carries over from day to day (whole capacities, the usual case
        at full scale), today's refill is yesterday's and is not recomputed.
        """
        if not self._steady:
            total = np.where(self.is_open, self.capacity / self.params.scale + self._fraction, 0.0)
            self._whole = np.floor(total)
            fraction = total - self._whole
            self._steady = not self._fraction.any() and not fraction.any()
            self._fraction = fraction
        self.left["out"][:] = self._whole
        self.left["in"][:] = self._whole

    def use(self, direction: str, crossing: int, count: int) -> None:
        """Record that `count` agents crossed today in `direction` ("in" or "out")."""
        self.left[direction][crossing] -= count

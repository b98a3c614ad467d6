"""The workers: every North Korean worker in China as one row of named, typed arrays.

A row is one stint in China of one person: a worker sent home and later sent back (002:
"some of the very same workers are coming back") gets a new row with the same `person`.
Rows are never removed, so a worker's whole history (arrival, contract end, status, the
day and the way they left) stays readable after the run, and stocks can be recounted
from the rows to check the model's running counts.

Columns are numpy arrays sized to a capacity that doubles when full; `n` rows are in use.
Always slice with `[:n]` (or index with ids) and never keep an array across `add`, which may
reallocate.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

NEVER = np.iinfo(np.int32).max // 2
"""Day index meaning "has not happened" (departure of a worker still in China)."""


class Status(IntEnum):
    """Where a worker stands. WORKING, SICK and CONFINED count in the stock; the others have left."""

    WORKING = 0
    SICK = 1  # sick, injured or mentally ill: cannot work (004)
    CONFINED = 2  # caught attempting to defect, held by State Security (004)
    DEFECTED = 3
    REPATRIATED = 4


class Condition(IntEnum):
    """Why a SICK worker cannot work (003: "got sick or showed signs of mental illness")."""

    NONE = 0
    SICK_OR_INJURED = 1
    MENTALLY_ILL = 2


WORKING, SICK, CONFINED, DEFECTED, REPATRIATED = (int(s) for s in Status)
"""Plain-int copies of the statuses, for hot loops (an IntEnum attribute costs a lookup)."""

PRESENT_MAX = CONFINED
"""Statuses up to this value are present in China (in the stock)."""

COLUMNS: dict[str, tuple[type, object]] = {
    "person": (np.int32, -1),  # the individual; shared by a returning worker's stints
    "city": (np.int16, -1),
    "factory": (np.int32, -1),
    "sector": (np.int8, -1),
    "male": (np.bool_, False),
    "arrival": (np.int32, 0),  # day index of arrival (negative: before the run)
    "contract_end": (np.int32, 0),  # day index when rotation is due (arrival + rotation_years)
    "departure": (np.int32, NEVER),  # day index of repatriation or defection
    "status": (np.int8, 0),  # Status
    "condition": (np.int8, 0),  # Condition
    "troublemaker": (np.bool_, False),  # caused problems in group living (003)
    "listed": (np.bool_, False),  # on the North Korean side's lists (004)
    "experienced": (np.bool_, False),  # had an earlier stint in China (002)
    "log_debt0": (np.float32, 0.0),  # log of bribe debt at dispatch, relative to the median (001)
    "clock": (np.float32, 0.0),  # Exp(1) threshold of cumulative defection hazard
    "hazard": (np.float32, 0.0),  # cumulative defection hazard since the clock was drawn
    "queued": (np.int8, -1),  # rank of the repatriation class the worker is queued in, -1 if none
    "exit_class": (np.int8, -1),  # rank of the class the worker was repatriated in
    "replace": (np.bool_, False),  # to be replaced by a new worker when repatriated
}


class Workers:
    """Columnar state of all worker rows, owned by the model."""

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        self._capacity = max(int(capacity), 1)
        for name, (dtype, fill) in COLUMNS.items():
            setattr(self, name, np.full(self._capacity, fill, dtype=dtype))
        self.next_person = 0

    def __len__(self) -> int:
        return self.n

    def _grow(self, needed: int) -> None:
        capacity = self._capacity
        while capacity < needed:
            capacity *= 2
        if capacity == self._capacity:
            return
        for name, (dtype, fill) in COLUMNS.items():
            old = getattr(self, name)
            new = np.full(capacity, fill, dtype=dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self._capacity = capacity

    def add(self, count: int, person: np.ndarray | None = None, **columns: np.ndarray | int | float) -> np.ndarray:
        """Append `count` rows and return their ids. New persons get fresh ids unless `person` is given."""
        self._grow(self.n + count)
        rows = slice(self.n, self.n + count)
        if person is None:
            person = np.arange(self.next_person, self.next_person + count, dtype=np.int32)
            self.next_person += count
        self.person[rows] = person
        for name, values in columns.items():
            if name not in COLUMNS:
                raise KeyError(name)
            getattr(self, name)[rows] = values
        self.n += count
        return np.arange(rows.start, rows.stop, dtype=np.int64)

    def present_ids(self, where: np.ndarray | None = None) -> np.ndarray:
        """Ids of all workers in China now, in id order; only rows where `where` is True when given.

        `where` is a mask over the rows in use (`[:n]`, from `column`): one pass over whole
        columns costs less than gathering the present workers first and filtering them.
        """
        present = self.status[: self.n] <= PRESENT_MAX
        return np.flatnonzero(present if where is None else present & where)

    def column(self, name: str) -> np.ndarray:
        """The used part of one column (a view)."""
        return getattr(self, name)[: self.n]


def distinct(values: np.ndarray) -> list[int]:
    """The distinct values of an integer array, ascending, as `np.unique(values).tolist()`.

    Most calls come from a day's few events (three workers fall ill); for those a Python
    set costs a tenth of `np.unique`.
    """
    if values.size <= 64:
        return sorted(set(values.tolist()))
    return np.unique(values).tolist()

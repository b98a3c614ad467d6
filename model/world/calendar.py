"""Worker events sampled ahead of time and kept by day, so the daily loop touches only the due.

Rather than asking every worker every day whether they fall ill or try to defect, the model
samples the day each event will happen (from the worker's hazard) and files the worker's id
under that day. Each day it takes out just the ids filed for it. An event whose worker has
left by then is stale and the caller skips it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np

HISTORY_START = dt.date(2017, 1, 1)
"""The first simulated day of every run: the shared history starts here (SPEC)."""
HISTORY_END = dt.date(2030, 12, 31)
"""The default last day."""

_EMPTY = np.zeros(0, dtype=np.int64)


class Calendar:
    """Ids of workers with an event of a given kind on a given day, for days 0 .. days-1."""

    def __init__(self, days: int) -> None:
        self.days = days
        self._buckets: dict[str, defaultdict[int, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))

    def schedule(self, kind: str, days: np.ndarray, ids: np.ndarray) -> None:
        """File each id under its day; days outside the run are dropped."""
        days = np.asarray(days)
        ids = np.asarray(ids, dtype=np.int64)
        inside = (days >= 0) & (days < self.days)  # also drops NaN and infinite days
        days, ids = days[inside].astype(np.int64), ids[inside]
        if days.size == 0:
            return
        order = np.argsort(days, kind="stable")
        days, ids = days[order], ids[order]
        unique, starts = np.unique(days, return_index=True)
        bounds = starts.tolist() + [ids.size]
        bucket = self._buckets[kind]
        for day, first, last in zip(unique.tolist(), bounds, bounds[1:]):
            bucket[day].append(ids[first:last])

    def pop(self, kind: str, day: int) -> np.ndarray:
        """Take out the ids filed under `kind` for `day` (empty when none)."""
        chunks = self._buckets[kind].pop(day, None)
        if not chunks:
            return _EMPTY
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)

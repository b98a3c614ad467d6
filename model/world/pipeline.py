"""The North Korean side's pool of workers selected and trained for China, waiting to be sent.

004: "the authorities have been unable to send new workers despite completing their selection
and training"; 002: "there are workers in Pyongyang who are preparing to move to China". The
pool fills at `training_rate` workers a day up to `pool_max`; every new worker who crosses
into China leaves it. It is full on the first day (before resolution 2397, North Korea
"routinely sent workers abroad", 003), so what it holds later depends on how many were sent
and how long the border was closed. Counts are in agents.

The pool is computed when it is asked for, not every day: a day when nobody is sent costs
nothing.
"""

from __future__ import annotations

import math


class TrainingPool:
    """Trained workers standing by, filled at a constant rate up to a ceiling (in agents)."""

    def __init__(self, size: float, per_day: float, ceiling: float) -> None:
        self.per_day = float(per_day)
        self.ceiling = float(ceiling)
        self._size = min(float(size), self.ceiling)
        self._day = 0

    def size(self, day: int) -> float:
        """Workers waiting on `day` (after that day's training)."""
        if day > self._day:
            self._size = min(self._size + self.per_day * (day - self._day), self.ceiling)
            self._day = day
        return self._size

    def take(self, day: int, wanted: int) -> int:
        """Send up to `wanted` whole workers on `day`; returns how many the pool could give."""
        given = min(int(wanted), math.floor(self.size(day)))
        self._size -= given
        return max(given, 0)

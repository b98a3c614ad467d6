"""The repatriation queue: who goes home first, crossing by crossing.

The North Korean side keeps, for each border crossing, a queue per priority class (000,
003, 004: the sick and injured, the mentally ill, troublemakers, confined defectors, workers
whose factory closed, ordinary workers from small factories, other ordinary workers, and
last those due for rotation). Each day a crossing that is open takes workers from the head
of its highest non-empty class, no more than its capacity. Within a class, workers leave in
the order they were put in the queue.

A worker may be queued more than once (first as ordinary, later as sick); the first time
they are taken they leave, and later entries are skipped as stale.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .workers import PRESENT_MAX, Workers, distinct

PRIORITY_CLASSES = (
    "sick",
    "mentally_ill",
    "troublemaker",
    "confined",
    "no_workplace",
    "small_factory",
    "ordinary",
)
"""Who a repatriation order takes first (000, 003, 004): the sick and injured, the mentally ill,
those who caused trouble, confined defectors, workers whose factory closed, then ordinary workers
from small factories (200 or fewer) before those of large ones."""

QUEUE_CLASSES: tuple[str, ...] = PRIORITY_CLASSES + ("rotation",)
"""Queue classes in the order they leave; rotation (contract ended, replaced) comes last."""

CLASS_RANK = {name: rank for rank, name in enumerate(QUEUE_CLASSES)}


class RepatriationQueue:
    """Per crossing and per class, the ids of workers waiting to go home, in order."""

    def __init__(self, crossings: int) -> None:
        self._queues: list[list[deque[np.ndarray]]] = [
            [deque() for _ in QUEUE_CLASSES] for _ in range(crossings)
        ]
        self._waiting = np.zeros(crossings, dtype=np.int64)

    def waiting(self, crossing: int) -> int:
        """An upper bound on the workers waiting at `crossing` (stale entries included)."""
        return int(self._waiting[crossing])

    def waiting_at(self) -> list[int]:
        """`waiting` for every crossing at once (a day with an empty queue then costs one call)."""
        return self._waiting.tolist()

    def push(self, workers: Workers, ids: np.ndarray, crossings: np.ndarray, rank: int) -> None:
        """Queue `ids` in class `rank`, keeping their order; `crossings[i]` is the crossing of `ids[i]`.

        A worker already queued in a class that leaves earlier stays there.
        """
        # Not queued (-1, read as 255 unsigned) or queued in a class that leaves later.
        better = workers.queued[ids].view(np.uint8) > rank
        if not better.all():
            ids, crossings = ids[better], crossings[better]
            if ids.size == 0:
                return
        workers.queued[ids] = rank
        places = distinct(crossings)
        for crossing in places:
            chunk = ids if len(places) == 1 else ids[crossings == crossing]
            self._queues[crossing][rank].append(chunk)
            self._waiting[crossing] += chunk.size

    def take(self, workers: Workers, crossing: int, capacity: int) -> list[tuple[int, np.ndarray]]:
        """Up to `capacity` present workers from the head of `crossing`'s queue, as (class rank, ids)."""
        taken: list[tuple[int, np.ndarray]] = []
        need = capacity
        for rank, queue in enumerate(self._queues[crossing]):
            while need > 0 and queue:
                chunk = queue[0]
                positions = ((workers.status[chunk] <= PRESENT_MAX) & (workers.queued[chunk] == rank)).nonzero()[0]
                valid = chunk[positions]
                if valid.size <= need:
                    queue.popleft()
                    self._waiting[crossing] -= chunk.size
                    if valid.size:
                        taken.append((rank, valid))
                    need -= valid.size
                else:
                    cut = int(positions[need - 1]) + 1
                    queue[0] = chunk[cut:]
                    self._waiting[crossing] -= cut
                    taken.append((rank, valid[:need]))
                    need = 0
            if need == 0:
                break
        return taken


def first_by_rank(ranks: np.ndarray, tiebreak: np.ndarray, count: int) -> np.ndarray:
    """Positions of the first `count` entries ordered by rank, then tiebreak, then position.

    The same as `np.lexsort((tiebreak, ranks))[:count]`, without sorting what lies beyond
    `count`: an order for 5% of a province's 30,000 workers sorts some 1,500 of them. Within
    the last rank needed, `argpartition` finds the cut; every entry tied with it is kept
    before the stable sort, so ties still go by position.
    """
    chosen: list[np.ndarray] = []
    for rank in distinct(ranks):
        if count <= 0:
            break
        members = np.flatnonzero(ranks == rank)
        keys = tiebreak[members]
        if count < members.size:
            cut = keys[np.argpartition(keys, count - 1)[count - 1]]
            members, keys = members[keys <= cut], keys[keys <= cut]
        members = members[np.argsort(keys, kind="stable")][:count]
        chosen.append(members)
        count -= members.size
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)

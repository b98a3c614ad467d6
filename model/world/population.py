"""The workforce: the worker rows, the factories they work in, and their life cycle.

Starsim's `People` in this model's words: agencies and factories ask the population for
life-cycle changes (a worker arrives at a factory, departs home or defects, a team is found
around a leader) instead of reaching into the simulation, so that the simulation's modules
form no circle. The population also keeps the daily records, because every arrival and
departure is counted where it happens.

Counts of workers become counts of agents once, here (`agents`), when one agent stands for
`scale` workers; records are scaled back to workers once, when they are read.
"""

from __future__ import annotations

import numpy as np

from .calendar import Calendar
from .dissatisfaction import DAYS_PER_YEAR
from .factories import FactoryTable
from .geography import CITIES, SECTORS, city_crossing_index, city_province_index
from .parameters import Parameters
from .records import DailyRecords
from .workers import CONFINED, SICK, Status, Workers


def describe_scale(scale: int) -> str:
    """How many workers an agent stands for, as messages say it."""
    return "full scale (every worker an agent)" if int(scale) == 1 else f"one agent per {int(scale):,} workers"


class Population:
    """Worker rows, factories and daily records of one replicate, with the rules of arriving and leaving."""

    def __init__(self, params: Parameters, factories: FactoryTable, membership: np.ndarray, days: int,
                 rng: np.random.Generator, calendar: Calendar) -> None:
        self.params = params
        self.scale = int(params.scale)
        self.factories = factories
        self.calendar = calendar
        self._rng = rng
        self.crossing_of_city = np.asarray(city_crossing_index(), dtype=np.int64)
        self.province_of_city = np.asarray(city_province_index(), dtype=np.int64)
        self._male_share = np.array([params.male_share.get(s, 0.0) for s in SECTORS])  # per sector
        self.workers = Workers(capacity=max(2 * membership.size, 1024))
        self._populate(membership)
        initial = np.bincount(self.workers.column("city"), minlength=len(CITIES))
        self.records = DailyRecords(days, initial, self.scale)

    def agents(self, workers: float) -> float:
        """A count of workers as a count of agents (one agent stands for `scale` workers)."""
        return workers / self.scale

    # --- rows ---------------------------------------------------------------------------
    def _populate(self, membership: np.ndarray) -> None:
        """The workers in China on the first day, in their factories, with their pasts."""
        params, rng = self.params, self._rng
        count = membership.size
        rotation = params.rotation_years * DAYS_PER_YEAR
        arrival = -1 - np.floor(rng.random(count) * params.initial_max_tenure_years * DAYS_PER_YEAR)
        contract_end = arrival + rotation * np.ceil(-arrival / rotation)
        self._add(membership, arrival.astype(np.int64), contract_end.astype(np.int64),
                  np.full(count, -1, dtype=np.int64), first_day=0)

    def _add(self, factories: np.ndarray, arrival: np.ndarray, contract_end: np.ndarray,
             persons: np.ndarray, first_day: int) -> np.ndarray:
        """Rows for new workers at `factories`; their sickness onsets go into the calendar."""
        params, rng = self.params, self._rng
        count = factories.size
        sector = self.factories.sector[factories]
        male_share = self._male_share[sector]
        new_person = persons < 0
        person = persons.copy()
        person[new_person] = np.arange(self.workers.next_person, self.workers.next_person + new_person.sum())
        self.workers.next_person += int(new_person.sum())
        ids = self.workers.add(
            count, person=person.astype(np.int32),
            city=self.factories.city[factories], factory=factories, sector=sector,
            male=rng.random(count) < male_share, arrival=arrival, contract_end=contract_end,
            log_debt0=rng.normal(0.0, params.debt_sigma, count), clock=rng.exponential(1.0, count),
            experienced=~new_person,
        )
        self.factories.workforce += np.bincount(factories, minlength=len(self.factories))
        if params.unfit_rate_per_year > 0:
            onset = first_day + rng.exponential(DAYS_PER_YEAR / params.unfit_rate_per_year, count)
            self.calendar.schedule("unfit", np.floor(onset), ids)
        return ids

    # --- the life cycle -----------------------------------------------------------------
    def arrive(self, factories: np.ndarray, day: int, persons: np.ndarray) -> np.ndarray:
        """New workers (or returning ones, `persons` >= 0) arrive at `factories` today."""
        rotation = int(round(self.params.rotation_years * DAYS_PER_YEAR))
        ids = self._add(factories, np.full(factories.size, day), np.full(factories.size, day + rotation),
                        persons, first_day=day)
        self.records.count("inflow", day, self.workers.city[ids])
        return ids

    def depart(self, ids: np.ndarray, day: int, status: Status, rank: int | np.ndarray = -1) -> None:
        """Workers leave China today, repatriated or defected (`rank`: the queue class each left by, or -1)."""
        workers = self.workers
        cities = workers.city[ids].astype(np.int64)
        self.records.confine(cities[workers.status[ids] == CONFINED], -1)
        workers.status[ids] = status
        workers.departure[ids] = day
        workers.exit_class[ids] = rank
        self.factories.workforce -= np.bincount(workers.factory[ids], minlength=len(self.factories))
        self.records.count("outflow" if status == Status.REPATRIATED else "defections", day, cities)

    def confine(self, ids: np.ndarray) -> None:
        """Workers caught attempting to defect are confined by State Security (004)."""
        self.workers.status[ids] = CONFINED
        self.records.confine(self.workers.city[ids].astype(np.int64), +1)

    def team(self, leader: int, size: int) -> np.ndarray:
        """The leader and up to size-1 present co-workers (a manager and team, 001).

        Co-workers come from the leader's factory first, then from factories of the same
        sector in the same city.
        """
        workers = self.workers
        ids = np.flatnonzero((workers.column("status") <= SICK) & (workers.column("city") == workers.city[leader])
                             & (workers.column("sector") == workers.sector[leader]))
        ids = ids[ids != leader]
        elsewhere = workers.factory[ids] != workers.factory[leader]
        mates = ids[np.argsort(elsewhere, kind="stable")]
        return np.concatenate([[leader], mates[: size - 1]]).astype(np.int64)

    def team_size(self, workers: float | None = None) -> int:
        """Agents in a collective defection of `workers` (the parameter `team_size` when None); at least one."""
        return max(int(round(self.agents(self.params.team_size if workers is None else workers))), 1)

    def provinces_of(self, ids: np.ndarray) -> np.ndarray:
        """The province index of each worker's city."""
        return self.province_of_city[self.workers.city[ids]]

    def crossings_of(self, ids: np.ndarray) -> np.ndarray:
        """The crossing index each worker goes home by."""
        return self.crossing_of_city[self.workers.city[ids]]

"""`LaborModel`: North Korean workers in China, one step per day.

The order of a day, written once, here (`step`):

1. the day's events: border status and capacity, enforcement, relations, orders,
   dispatch waves, defection shocks, lists, rotation policy;
2. at each month's turn (every `hazard_update_days`): dissatisfaction and defection
   clocks, troublemakers, rotation of workers past their contract, unproductive workers
   swapped out where places are full, factory closures;
3. the crossings' capacity for the day;
4. workers who fall sick, are injured or mentally ill today stop working and are queued;
5. defection attempts due today: defect (alone or with their team) or are confined;
   the North Korean side responds when defections pile up in a province;
6. repatriation: each open crossing takes the head of its queue, up to capacity;
7. dispatch: replacements that are due, then the pipeline's groups (documents issued, trained
   workers sent where factories have vacancies), then any wave a scenario forces, up to capacity;
8. the day's records.

Workers are rows of arrays (`workers.py`) owned by the workforce (`population.py`), which the
agencies ask for arrivals and departures; events that happen to a worker at a time of their
own (falling ill, an attempt to defect) are sampled ahead and kept in a calendar, so a day
costs only what happens on it. Factories and agencies are `mesa.Agent`s; each event type is a
class that knows what it does to the world (`events.py`).

Randomness: one generator per decision, all spawned from the seed (common random
numbers), so two scenarios with the same seed differ only where their rules differ, and
a run is bit-for-bit the same whatever process runs it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import mesa
import numpy as np
import pandas as pd

from .agencies import ChineseAgency, NorthKoreanAgency
from .border import Border
from .calendar import HISTORY_END, HISTORY_START, Calendar
from .dissatisfaction import attempt_days, defection_hazard, dissatisfaction
from .events import Event
from .factories import Factory, build_factories, close_failing
from .geography import CITIES, PROVINCES, SECTORS, city_name
from .parameters import Parameters
from .population import Population
from .repatriation import CLASS_RANK
from .workers import SICK, WORKING, Condition, Status

SICK_RANK, MENTAL_RANK = CLASS_RANK["sick"], CLASS_RANK["mentally_ill"]

STREAMS = ("population", "health", "defection", "trouble", "orders", "dispatch", "closure", "shock")
"""One random generator per decision (Starsim's common random numbers)."""


def per_worker(per_city: np.ndarray, city: np.ndarray) -> np.ndarray | np.floating:
    """Each worker's value of a per-city quantity: one scalar of the same type when every city has the same.

    Most months every crossing is open (or every one closed) and surveillance is the same
    everywhere; the arithmetic then gives the same numbers with a scalar as with a gathered
    array, without gathering tens of thousands of copies of it.
    """
    first = per_city[0]
    return first if (per_city == first).all() else per_city[city]


class LaborModel(mesa.Model):
    """Daily agent-based model of North Korean workers in China, 2017 onward.

    Parameters
    ----------
    params: the model's parameters (defaults when None).
    events: dated events (none when None; `labor_stocks.scenarios.load_history()` gives the shared
        history). Events before `start` are applied on the first day, events after `end` are ignored.
    start, end: first and last simulated day (inclusive).
    seed: the seed of every random draw.
    """

    def __init__(self, params: Parameters | None = None, events: list[Event] | None = None,
                 start: dt.date = HISTORY_START, end: dt.date = HISTORY_END, seed: int = 0) -> None:
        super().__init__(rng=seed)
        self.params = params if params is not None else Parameters()
        self.start, self.end = start, end
        self.days = (end - start).days + 1
        if self.days < 1:
            raise ValueError(f"end {end} is before start {start}")
        sequences = np.random.SeedSequence(seed).spawn(len(STREAMS))
        self.streams = {name: np.random.default_rng(s) for name, s in zip(STREAMS, sequences)}
        self.events = list(events) if events is not None else []
        self._events_by_day: dict[int, list[Event]] = defaultdict(list)
        for event in sorted(self.events, key=lambda e: e.date):
            day = (event.date - start).days
            if day < self.days:
                self._events_by_day[max(day, 0)].append(event)

        self.day = 0
        self.border = Border(self.params)
        self.calendar = Calendar(self.days)
        factories, membership = build_factories(self.params, self.streams["population"])
        self.population = Population(self.params, factories, membership, self.days, self.streams["population"],
                                     self.calendar)
        self.workers, self.factories, self.records = self.population.workers, factories, self.population.records
        self.factory_agents = [Factory(self, factories, i) for i in range(len(factories))]
        self.chinese = [ChineseAgency(self, p, self.params) for p in range(len(PROVINCES))]
        self.north_korea = NorthKoreanAgency(self, self.population, self.border, self.chinese, self.streams)
        # Mesa 3.3.1 keeps every model alive through its class-level id counter `Agent._ids`
        # (mesa issue #3179, fixed after 3.3.1), so each replicate of an ensemble would stay in
        # memory. Every agent of this model exists now: forget the model there.
        getattr(mesa.Agent, "_ids", {}).pop(self, None)

    # --- the day -----------------------------------------------------------------------
    def step(self) -> None:
        """Advance one day, in the order written in the module's docstring (Mesa counts the step)."""
        self._advance()

    def _advance(self) -> None:
        day = self.day
        for event in self._events_by_day.get(day, ()):
            event.apply(self, day)
        if day % self.params.hazard_update_days == 0:
            self._monthly(day)
        self.border.new_day()
        self._health(day)
        self._defection_attempts(day)
        self.north_korea.send_home(day)
        self.north_korea.dispatch(day)
        self.records.close_day(day)
        self.day += 1
        self.running = self.day < self.days

    def run(self) -> "LaborModel":
        """Simulate every day from start to end; returns the model for chaining.

        The days are advanced directly, not through Mesa's `step` wrapper, whose bookkeeping
        (a step counter and a formatted log line) would cost more than a quiet day itself;
        `steps` is added once at the end, so the model reads as Mesa would count it.
        """
        first = self.day
        advance = self._advance
        while self.day < self.days:
            advance()
        self.steps += self.day - first
        return self

    def _monthly(self, day: int) -> None:
        """Re-evaluate dissatisfaction, draw troublemakers, rotate, and let failing factories close."""
        params, workers = self.params, self.workers
        span = params.hazard_update_days
        ids = np.flatnonzero(workers.column("status") <= SICK)  # present and not confined
        if ids.size:
            city = workers.city[ids]
            contact_cut = self.border.contact_cut()[self.population.crossing_of_city]  # per city
            level = dissatisfaction(params, day, workers.arrival[ids], workers.contract_end[ids],
                                    workers.log_debt0[ids], per_worker(contact_cut, city))
            surveillance = self.north_korea.surveillance(day)[self.population.province_of_city]
            hazard = defection_hazard(params, level, per_worker(surveillance, city))
            total, due, offset = attempt_days(hazard, workers.hazard[ids], workers.clock[ids], span)
            workers.hazard[ids] = total
            attempting = ids[due]
            self.calendar.schedule("defection", day + offset, attempting)
            workers.hazard[attempting] = 0.0
            workers.clock[attempting] = self.streams["defection"].exponential(1.0, attempting.size)
            draws = self.streams["trouble"].random(ids.size)
            # A probability -expm1(-x) never exceeds x: only draws below twice the largest x can
            # succeed, so the costly expm1 is evaluated for those few, with the same result.
            maybe = (draws < 2 * params.trouble_ratio * float(hazard.max()) * span).nonzero()[0]
            trouble = maybe[draws[maybe] < -np.expm1(-params.trouble_ratio * hazard[maybe] * span)]
            workers.troublemaker[ids[trouble]] = True  # once a troublemaker, always one
        self.north_korea.rotate(day)
        self.north_korea.swap_unproductive(day)
        close_failing(self.factory_agents, self.workers, params, day, self.streams["closure"])

    def _health(self, day: int) -> None:
        """Workers who fall sick, are injured or mentally ill today stop working and are queued."""
        ids = self.calendar.pop("unfit", day)
        if ids.size == 0:
            return
        ids = ids[self.workers.status[ids] == WORKING]
        if ids.size == 0:
            return
        mental = self.streams["health"].random(ids.size) < self.params.mental_share
        self.workers.status[ids] = SICK
        # Condition 1 (sick or injured) or 2 (mentally ill); queued class by class, the sick first.
        self.workers.condition[ids] = mental.view(np.int8) + np.int8(Condition.SICK_OR_INJURED)
        if not mental.any():
            self.north_korea.enqueue(ids, SICK_RANK)
        elif mental.all():
            self.north_korea.enqueue(ids, MENTAL_RANK)
        else:
            self.north_korea.enqueue(ids[~mental], SICK_RANK)
            self.north_korea.enqueue(ids[mental], MENTAL_RANK)

    def _defection_attempts(self, day: int) -> None:
        """Attempts due today: success means defection (alone or with the team), failure confinement."""
        ids = self.calendar.pop("defection", day)
        if ids.size == 0:
            return
        workers = self.workers
        ids = ids[workers.status[ids] <= SICK]
        if ids.size == 0:
            return
        rng = self.streams["defection"]
        success = rng.random(ids.size) < self.params.defection_success
        collective = success & (rng.random(ids.size) < self.params.collective_share)
        if not success.all():
            self.population.confine(ids[~success])
        if not collective.any():
            # Alone: each attempt is one worker (np.unique only when two could be the same).
            self._defect(day, ids[success] if success.sum() <= 1 else np.unique(ids[success]))
            return
        defectors = [ids[success]]
        for leader in ids[collective].tolist():
            defectors.append(self.population.team(leader, self.population.team_size()))
        self._defect(day, np.unique(np.concatenate(defectors)))

    def _defect(self, day: int, ids: np.ndarray) -> None:
        if ids.size == 0:
            return
        self.population.depart(ids, day, Status.DEFECTED)
        self.north_korea.note_defections(day, self.population.provinces_of(ids))

    def defection_shock(self, day: int, place: str, size: int | None, sector: str | None) -> int:
        """A collective defection at one factory in `place` (the Shanghai case, 001); returns agents gone."""
        workers = self.workers
        city = CITIES.index(next(c for c in CITIES if c.name == city_name(place)))
        available = (workers.column("city") == city) & (workers.column("status") <= SICK)
        if sector is not None:
            available &= workers.column("sector") == SECTORS.index(sector)
        ids = np.flatnonzero(available)
        if ids.size == 0:
            return 0
        leader = int(ids[self.streams["shock"].integers(ids.size)])
        team = self.population.team(leader, self.population.team_size(size))
        self._defect(day, team)
        return int(team.size)

    # --- results -----------------------------------------------------------------------
    def results(self, places: str = "all") -> pd.DataFrame:
        """Daily records in workers: date, place, stock, inflow, outflow, defections, confined."""
        return self.records.frame(self.start, places)

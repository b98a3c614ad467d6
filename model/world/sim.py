"""`LaborModel`: North Korean workers in China, one step per day.

The order of a day, written once, here (`step`):

1. the day's events: border status and capacity, enforcement, relations, orders,
   dispatch waves, defection shocks, lists, rotation policy;
2. at each month's turn (every `hazard_update_days`): dissatisfaction and defection
   clocks, troublemakers, rotation of workers past their contract, factory closures;
3. the crossings' capacity for the day;
4. workers who fall sick, are injured or mentally ill today stop working and are queued;
5. defection attempts due today: defect (alone or with their team) or are confined;
   the North Korean side responds when defections pile up in a province;
6. repatriation: each open crossing takes the head of its queue, up to capacity;
7. dispatch: replacements and dispatch waves arrive, up to capacity;
8. the day's records.

Workers are rows of arrays (`workers.py`); events that happen to a worker at a time of
their own (falling ill, an attempt to defect) are sampled ahead and kept in a calendar, so
a day costs only what happens on it. Factories and agencies are `mesa.Agent`s.

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

from ..world.agencies import ChineseAgency, NorthKoreanAgency
from ..world.border import Border
from ..world.calendar import HISTORY_END, HISTORY_START, Calendar
from ..world.dissatisfaction import DAYS_PER_YEAR, attempt_days, defection_hazard, dissatisfaction
from ..world.events import Event
from ..world.factories import Factory, build_factories
from ..world.geography import CITIES, PROVINCE_INDEX, PROVINCES, SECTORS, city_crossing_index, city_name, city_province_index
from ..world.parameters import Parameters
from ..world.records import DailyRecords
from ..world.repatriation import CLASS_RANK
from ..world.workers import CONFINED, PRESENT_MAX, SICK, WORKING, Condition, Status, Workers

STREAMS = ("population", "health", "defection", "trouble", "orders", "dispatch", "closure", "shock")
"""One random generator per decision (Starsim's common random numbers)."""


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

        self.crossing_of_city = np.asarray(city_crossing_index(), dtype=np.int64)
        self.province_of_city = np.asarray(city_province_index(), dtype=np.int64)
        self.relations = "normal"
        self.day = 0
        self.border = Border(self.params)
        self.calendar = Calendar(self.days)
        self.factories, membership = build_factories(self.params, self.streams["population"])
        self.factory_agents = [Factory(self, i) for i in range(len(self.factories))]
        self.chinese = [ChineseAgency(self, p) for p in range(len(PROVINCES))]
        self.north_korea = NorthKoreanAgency(self)
        self.workers = Workers(capacity=max(2 * membership.size, 1024))
        self._male_share = np.array([self.params.male_share.get(s, 0.0) for s in SECTORS])  # per sector
        self._populate(membership)
        initial = np.bincount(self.workers.column("city"), minlength=len(CITIES))
        self.records = DailyRecords(self.days, initial)
        # Mesa 3.3.1 keeps every model alive through its class-level id counter `Agent._ids`
        # (mesa issue #3179, fixed after 3.3.1), so each replicate of an ensemble would stay in
        # memory. Every agent of this model exists now: forget the model there.
        getattr(mesa.Agent, "_ids", {}).pop(self, None)

    # --- set-up ------------------------------------------------------------------------
    def _populate(self, membership: np.ndarray) -> None:
        """The workers in China on the first day, in their factories, with their pasts."""
        params, rng = self.params, self.streams["population"]
        count = membership.size
        rotation = params.rotation_years * DAYS_PER_YEAR
        arrival = -1 - np.floor(rng.random(count) * params.initial_max_tenure_years * DAYS_PER_YEAR)
        contract_end = arrival + rotation * np.ceil(-arrival / rotation)
        self._add_workers(membership, arrival.astype(np.int64), contract_end.astype(np.int64),
                          np.full(count, -1, dtype=np.int64), first_day=0)

    def _add_workers(self, factories: np.ndarray, arrival: np.ndarray, contract_end: np.ndarray,
                     persons: np.ndarray, first_day: int) -> np.ndarray:
        """Rows for new workers at `factories`; their sickness onsets go into the calendar."""
        params, rng = self.params, self.streams["population"]
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

    # --- helpers the agencies use ------------------------------------------------------
    def admitting(self) -> np.ndarray:
        """Per province, whether new workers are admitted now."""
        return np.array([agency.admits() for agency in self.chinese])

    def demand_growth(self, day: int) -> float:
        """Factor by which factories' demand for workers has grown since the start (003)."""
        return (1.0 + self.params.demand_growth) ** (day / DAYS_PER_YEAR)

    def arrive(self, factories: np.ndarray, day: int, persons: np.ndarray) -> np.ndarray:
        """New workers (or returning ones, `persons` >= 0) arrive at `factories` today."""
        rotation = int(round(self.params.rotation_years * DAYS_PER_YEAR))
        ids = self._add_workers(factories, np.full(factories.size, day), np.full(factories.size, day + rotation),
                                persons, first_day=day)
        self.records.count("inflow", day, self.workers.city[ids])
        return ids

    def depart(self, ids: np.ndarray, day: int, status: Status, rank: int = -1) -> None:
        """Workers leave China today, repatriated or defected."""
        workers = self.workers
        cities = workers.city[ids].astype(np.int64)
        self.records.confine(cities[workers.status[ids] == CONFINED], -1)
        workers.status[ids] = status
        workers.departure[ids] = day
        workers.exit_class[ids] = rank
        self.factories.workforce -= np.bincount(workers.factory[ids], minlength=len(self.factories))
        self.records.count("outflow" if status == Status.REPATRIATED else "defections", day, cities)

    # --- the day -----------------------------------------------------------------------
    def step(self) -> None:
        """Advance one day, in the order written in the module's docstring."""
        day = self.day
        for event in self._events_by_day.get(day, ()):
            self.apply(event, day)
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
        """Simulate every day from start to end; returns the model for chaining."""
        while self.day < self.days:
            self.step()
        return self

    def apply(self, event: Event, day: int) -> None:
        """Carry out one event."""
        nk = self.north_korea
        if event.type in ("border", "capacity"):
            self.border.apply(event)
        elif event.type == "enforcement":
            targets = PROVINCES if event["province"] == "all" else [event["province"]]
            for province in targets:
                self.chinese[PROVINCE_INDEX[province]].enforce(float(event["level"]), day)
        elif event.type == "relations":
            self.relations = event["level"]
        elif event.type == "repatriation_order":
            nk.order(day, event["places"], share=event["share"], count=event["count"],
                     classes=event["priorities"], replace=event["replace"], issuer=event["issuer"])
        elif event.type == "dispatch":
            nk.start_wave(event, day)
        elif event.type == "defection_shock":
            self.defection_shock(day, event["place"], event["size"], event["sector"])
        elif event.type == "lists":
            nk.compile_lists(day)
        elif event.type == "rotation":
            nk.rotation_active = bool(event["active"])
        else:  # parse_event admits only the types above
            raise ValueError(f"unknown event type {event.type}")

    def _monthly(self, day: int) -> None:
        """Re-evaluate dissatisfaction, draw troublemakers, rotate, and let failing factories close."""
        params, workers = self.params, self.workers
        span = params.hazard_update_days
        ids = np.flatnonzero(workers.column("status") <= SICK)  # present and not confined
        if ids.size:
            city = workers.city[ids]
            contact_cut = self.border.contact_cut()[self.crossing_of_city]  # per city, then per worker
            level = dissatisfaction(params, day, workers.arrival[ids], workers.contract_end[ids],
                                    workers.log_debt0[ids], contact_cut[city])
            surveillance = self.north_korea.surveillance(day)[self.province_of_city]
            hazard = defection_hazard(params, level, surveillance[city])
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
        self._close_factories(day)

    def _close_factories(self, day: int) -> None:
        """Factories far below their size close with a monthly probability (000).

        Their workers move to the open factory of the same city and sector with the most
        vacancies, as far as it has places; the others stay without a workplace (and are
        repatriated in that class when an order covers it, 003).
        """
        table = self.factories
        at_risk = np.flatnonzero(table.open & (table.workforce < self.params.closure_threshold * table.size))
        if at_risk.size == 0:
            return
        closing = at_risk[self.streams["closure"].random(at_risk.size) < self.params.closure_rate_per_month]
        growth = self.demand_growth(day)
        for index in closing.tolist():
            staff = self.factory_agents[index].close()
            same_city = np.flatnonzero(table.open & (table.city == table.city[index])
                                       & (table.sector == table.sector[index]))
            if staff.size == 0 or same_city.size == 0:
                continue
            vacancies = table.vacancies(growth)[same_city]
            if vacancies.sum() <= 0:
                continue
            target = same_city[np.argmax(vacancies)]
            movers = staff[: int(vacancies.max())]
            self.workers.factory[movers] = target
            table.workforce[index] -= movers.size
            table.workforce[target] += movers.size

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
        self.workers.condition[ids] = np.where(mental, int(Condition.MENTALLY_ILL), int(Condition.SICK_OR_INJURED))
        self.north_korea.enqueue(ids, np.where(mental, CLASS_RANK["mentally_ill"], CLASS_RANK["sick"]))

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
        caught = ids[~success]
        workers.status[caught] = CONFINED
        self.records.confine(workers.city[caught].astype(np.int64), +1)
        defectors = [ids[success]]
        for leader in ids[collective].tolist():
            defectors.append(self._team(leader, self._team_size()))
        self._defect(day, np.unique(np.concatenate(defectors)))

    def _team_size(self) -> int:
        return max(int(round(self.params.team_size / self.params.scale)), 1)

    def _team(self, leader: int, size: int) -> np.ndarray:
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

    def _defect(self, day: int, ids: np.ndarray) -> None:
        if ids.size == 0:
            return
        self.depart(ids, day, Status.DEFECTED)
        self.north_korea.note_defections(day, self.province_of_city[self.workers.city[ids]])

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
        team_size = self._team_size() if size is None else max(int(round(size / self.params.scale)), 1)
        team = self._team(leader, team_size)
        self._defect(day, team)
        return int(team.size)

    # --- results -----------------------------------------------------------------------
    def results(self, places: str = "all") -> pd.DataFrame:
        """Daily records in workers: date, place, stock, inflow, outflow, defections, confined."""
        return self.records.frame(self.start, self.params.scale, places)

    def present_count(self) -> int:
        """Workers (agents) in China now, recounted from the rows."""
        return int((self.workers.column("status") <= PRESENT_MAX).sum())

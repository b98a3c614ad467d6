"""A plain per-agent Mesa implementation of the model's rules, to time and check `model/` against.

Every worker is a `mesa.Agent` and steps once a day through `shuffle_do`, as a first
agent-based model would be written. The rules and parameters are those of `LaborModel`
(`model/`) for the comparison case below: rotation, sickness, dissatisfaction and defection
attempts (alone, with a team, or caught and confined), troublemakers, the defection response
(surveillance, recall and replace), repatriation orders by priority through a crossing of
limited capacity, replacements after the document delay, dispatch waves, experienced workers
taken back, and factory closures.

Where `LaborModel` samples the day of a worker's event ahead (the onset of sickness; a
defection attempt, from an Exp(1) clock against the cumulative hazard), a worker here draws a
Bernoulli every day with the same per-day probability, 1 - exp(-hazard): the same
distribution, drawn the slow way. The two implementations share no random stream, so they
agree in distribution, not run by run; `tests/test_benchmark_agreement.py` checks that.

Only the event types of the comparison case are implemented (border, capacity,
repatriation_order, dispatch); border crossings reuse `model.border.Border`, which is the same
rule whatever stores the workers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from dataclasses import dataclass

import mesa
import numpy as np

from labor_stocks import LaborModel, Parameters, parse_event, with_overrides
from labor_stocks.world.border import Border
from labor_stocks.world.dissatisfaction import DAYS_PER_YEAR
from labor_stocks.world.events import PRIORITY_CLASSES, Event
from labor_stocks.world.factories import build_factories
from labor_stocks.world.geography import CROSSINGS, PROVINCES, SECTOR_INDEX, SECTORS, cities_in, city_crossing_index, city_province_index
from labor_stocks.world.repatriation import CLASS_RANK, QUEUE_CLASSES
from labor_stocks.world.workers import CONFINED, PRESENT_MAX, SICK, WORKING, Condition, Status

ORDINARY_RANKS = (CLASS_RANK["small_factory"], CLASS_RANK["ordinary"], CLASS_RANK["no_workplace"])
CROSSING_OF_CITY = city_crossing_index()
PROVINCE_OF_CITY = city_province_index()

# --- the comparison case -------------------------------------------------------------------
CASE_START = dt.date(2017, 1, 1)
CASE_END = dt.date(2017, 12, 31)


def case_parameters(workers: int = 10_000, **overrides: float) -> Parameters:
    """One province (Liaoning), `workers` workers, defections ten times the default base rate.

    The higher defection rate gives a year of this small case enough attempts, teams and
    responses to compare. No documents are issued, so the dispatch pipeline sends nobody (the
    per-agent model does not implement it); every other parameter is the model's default.
    """
    base: dict = {"initial_stock": workers, "defection_base_rate": 0.005, "document_rate": 0.0,
                  "province_share": {"Liaoning": 1.0, "Jilin": 0.0, "Heilongjiang": 0.0, "Other": 0.0}}
    base.update(overrides)
    return with_overrides(base, "comparison case")


def case_events(workers: int = 10_000) -> list[Event]:
    """A year in Liaoning, border open and rotation active: buses limited, an order, a dispatch wave."""
    tables = [
        {"type": "capacity", "date": "2017-04-01", "crossing": "Dandong-Sinuiju", "persons": max(workers // 250, 1)},
        {"type": "repatriation_order", "date": "2017-05-01", "places": ["Liaoning"], "share": 0.2},
        {"type": "dispatch", "date": "2017-09-01", "destination": "Liaoning", "size": max(workers // 20, 1), "days": 10},
    ]
    return [parse_event(table, "comparison case") for table in tables]


@dataclass(frozen=True)
class Summary:
    """What the two implementations must agree on, in agents: stock at the end and flows over the run."""

    stock: int
    inflow: int
    outflow: int
    defections: int
    confined: int


def run_columnar(seed: int, workers: int = 10_000, **overrides: float) -> Summary:
    """The comparison case with `LaborModel` (workers as rows of arrays)."""
    model = LaborModel(case_parameters(workers, **overrides), case_events(workers), CASE_START, CASE_END, seed).run()
    data = model.records.data
    return Summary(int(data["stock"][-1].sum()), int(data["inflow"].sum()), int(data["outflow"].sum()),
                   int(data["defections"].sum()), int(data["confined"][-1].sum()))


def run_per_agent(seed: int, workers: int = 10_000, **overrides: float) -> Summary:
    """The comparison case with `PerAgentModel` (every worker a `mesa.Agent` stepped daily)."""
    model = PerAgentModel(case_parameters(workers, **overrides), case_events(workers), CASE_START, CASE_END, seed).run()
    return model.summary()


# --- the per-agent model -------------------------------------------------------------------
class Factory(mesa.Agent):
    """A factory: city, sector, size (in agents), workforce and whether it is open."""

    def __init__(self, model: "PerAgentModel", index: int, city: int, sector: int, size: float) -> None:
        super().__init__(model)
        self.index, self.city, self.sector, self.size = index, city, sector, size
        self.province = PROVINCE_OF_CITY[city]
        self.crossing = CROSSING_OF_CITY[city]
        self.workforce = 0
        self.open = True

    def vacancies(self, growth: float) -> float:
        demand = math.floor(self.size * growth) if self.open else 0.0
        return max(demand - self.workforce, 0.0)


class Worker(mesa.Agent):
    """One worker, with a `step` for each day and a `review` at each month's turn."""

    def __init__(self, model: "PerAgentModel", factory: Factory, arrival: int, contract_end: int, person: int) -> None:
        super().__init__(model)
        params, random = model.params, model.random
        self.factory = factory
        self.city, self.sector = factory.city, factory.sector
        self.male = random.random() < params.male_share.get(SECTORS[self.sector], 0.0)
        self.arrival, self.contract_end, self.person = arrival, contract_end, person
        self.log_debt0 = random.gauss(0.0, params.debt_sigma)
        self.status = WORKING
        self.condition = Condition.NONE
        self.troublemaker = False
        self.queued = -1
        self.replace = False
        self.unfit_pending = True  # each stint has one onset of sickness, at most
        self.attempt_probability = 0.0  # per day, until an attempt or the next review
        factory.workforce += 1

    @property
    def province(self) -> int:
        return PROVINCE_OF_CITY[self.city]

    def review(self, day: int) -> None:
        """Month's turn: dissatisfaction, this month's daily chance of an attempt, troublemaking."""
        model, params = self.model, self.model.params
        if self.status > SICK:  # confined workers are not re-evaluated
            self.attempt_probability = 0.0
            return
        overstay = max(day - self.contract_end, 0) / DAYS_PER_YEAR
        tenure = (day - self.arrival) / DAYS_PER_YEAR
        cut = 0.0 if model.border.is_open[CROSSING_OF_CITY[self.city]] else 1.0
        level = (params.overstay_effect * overstay + params.debt_effect * self.log_debt0
                 + params.debt_effect * math.log1p(params.debt_interest) * tenure + params.contact_effect * cut)
        hazard = params.defection_base_rate / DAYS_PER_YEAR * math.exp(level) / model.surveillance(day)[self.province]
        self.attempt_probability = -math.expm1(-hazard)
        span = params.hazard_update_days
        if model.random.random() < -math.expm1(-params.trouble_ratio * hazard * span):
            self.troublemaker = True

    def step(self) -> None:
        """A day: maybe fall sick (and be queued to go home), maybe try to defect."""
        if self.status > PRESENT_MAX:  # left today, still referenced by the day's shuffle
            return
        model, random = self.model, self.model.random
        if self.unfit_pending and random.random() < model.unfit_probability:
            self.unfit_pending = False
            if self.status == WORKING:
                self.status = SICK
                mental = random.random() < model.params.mental_share
                self.condition = Condition.MENTALLY_ILL if mental else Condition.SICK_OR_INJURED
                model.enqueue(self, CLASS_RANK["mentally_ill"] if mental else CLASS_RANK["sick"])
        if self.attempt_probability and random.random() < self.attempt_probability:
            self.attempt_probability = 0.0
            if self.status <= SICK:
                self.attempt_defection()

    def attempt_defection(self) -> None:
        """Defect (alone, or leading a team) or be caught and confined."""
        model, params, random = self.model, self.model.params, self.model.random
        success = random.random() < params.defection_success
        collective = random.random() < params.collective_share
        if not success:
            self.status = CONFINED
            model.confined += 1
        elif collective:
            for worker in model.team(self, model.team_size):
                model.defect(worker)
        else:
            model.defect(self)

    def classify(self) -> int:
        """Repatriation class rank: the earliest class that applies (as `NorthKoreanAgency.classify`)."""
        params = self.model.params
        small = self.factory.workforce * params.scale <= params.small_factory_max
        rank = CLASS_RANK["small_factory"] if small else CLASS_RANK["ordinary"]
        if not self.factory.open:
            rank = CLASS_RANK["no_workplace"]
        if self.status == CONFINED:
            rank = CLASS_RANK["confined"]
        if self.troublemaker and rank > CLASS_RANK["troublemaker"]:
            rank = CLASS_RANK["troublemaker"]
        if self.condition == Condition.MENTALLY_ILL:
            rank = CLASS_RANK["mentally_ill"]
        if self.condition == Condition.SICK_OR_INJURED:
            rank = CLASS_RANK["sick"]
        return rank


@dataclass
class Wave:
    factories: list[Factory]
    remaining: float
    end_day: int


class PerAgentModel(mesa.Model):
    """The comparison case's rules with every worker a `mesa.Agent`, stepped one by one each day."""

    def __init__(self, params: Parameters, events: list[Event], start: dt.date, end: dt.date, seed: int) -> None:
        super().__init__(rng=seed)
        self.params = params
        self.days = (end - start).days + 1
        self.day = 0
        self.events: dict[int, list[Event]] = {}
        for event in sorted(events, key=lambda e: e.date):
            self.events.setdefault(max((event.date - start).days, 0), []).append(event)
        self.border = Border(params)
        self.unfit_probability = -math.expm1(-params.unfit_rate_per_year / DAYS_PER_YEAR)
        self.team_size = max(int(round(params.team_size / params.scale)), 1)
        self.rotation_active = True
        self.enforcement = [0.0] * len(PROVINCES)
        self.queue: list[list[deque[Worker]]] = [[deque() for _ in QUEUE_CLASSES] for _ in CROSSINGS]
        self.pending: list[tuple[Factory, int, Worker | None]] = []  # factory, due day, worker relieved
        self.waves: list[Wave] = []
        self.returnable: dict[int, list[int]] = {}
        self.recent_defections: deque[tuple[int, int, int]] = deque()
        self.surveillance_peak = [1.0] * len(PROVINCES)
        self.surveillance_day = [0] * len(PROVINCES)
        self.defected_today: list[int] = []
        self.next_person = 0
        self.confined = 0
        self.history = {name: [] for name in ("stock", "inflow", "outflow", "defections", "confined")}
        self.flows = {"inflow": 0, "outflow": 0, "defections": 0}

        table, membership = build_factories(params, self.rng)
        self.factories = [Factory(self, i, int(table.city[i]), int(table.sector[i]), float(table.size[i]))
                          for i in range(len(table))]
        rotation = params.rotation_years * DAYS_PER_YEAR
        for index in membership.tolist():
            arrival = -1 - math.floor(self.random.random() * params.initial_max_tenure_years * DAYS_PER_YEAR)
            contract_end = int(arrival + rotation * math.ceil(-arrival / rotation))
            self._new_worker(self.factories[index], arrival, contract_end, -1, arriving=False)
        self.stock = len(membership)

    # --- workers come and go --------------------------------------------------------------
    def _new_worker(self, factory: Factory, arrival: int, contract_end: int, person: int, arriving: bool) -> Worker:
        if person < 0:
            person, self.next_person = self.next_person, self.next_person + 1
        worker = Worker(self, factory, arrival, contract_end, person)
        if arriving and self.random.random() < self.unfit_probability:
            worker.unfit_pending = False  # an onset on the day of arrival comes after the day's health check
        return worker

    def workers(self) -> list[Worker]:
        """Workers in China now, in the order they came (ids ascending)."""
        return [w for w in self.agents_by_type[Worker] if w.status <= PRESENT_MAX]

    def depart(self, worker: Worker, status: Status, rank: int = -1) -> None:
        if worker.status == CONFINED:
            self.confined -= 1
        worker.status = int(status)
        worker.exit_class = rank
        worker.factory.workforce -= 1
        self.flows["outflow" if status == Status.REPATRIATED else "defections"] += 1
        self.stock -= 1
        worker.remove()

    def defect(self, worker: Worker) -> None:
        if worker.status > PRESENT_MAX:
            return
        self.depart(worker, Status.DEFECTED)
        self.defected_today.append(worker.province)

    def team(self, leader: Worker, size: int) -> list[Worker]:
        """The leader and up to size-1 co-workers of the same city and sector, own factory first."""
        mates = [w for w in self.agents_by_type[Worker]
                 if w.status <= SICK and w is not leader and w.city == leader.city and w.sector == leader.sector]
        mates = [w for w in mates if w.factory is leader.factory] + [w for w in mates if w.factory is not leader.factory]
        return [leader] + mates[: size - 1]

    # --- the North Korean side --------------------------------------------------------------
    def surveillance(self, day: int) -> list[float]:
        half_life = self.params.surveillance_half_life_days
        return [1.0 + (peak - 1.0) * 0.5 ** ((day - since) / half_life)
                for peak, since in zip(self.surveillance_peak, self.surveillance_day)]

    def admits(self, province: int) -> bool:
        return self.enforcement[province] < self.params.admission_threshold

    def enqueue(self, worker: Worker, rank: int, replace: bool = False) -> None:
        if replace:
            worker.replace = True
        if 0 <= worker.queued <= rank:
            return
        worker.queued = rank
        self.queue[CROSSING_OF_CITY[worker.city]][rank].append(worker)

    def order(self, day: int, places: list[str], share: float | None = None, count: int | None = None,
              classes: tuple[str, ...] | list[str] = PRIORITY_CLASSES, replace: bool = False) -> None:
        cities = {c for place in places for c in cities_in(place)}
        wanted = {CLASS_RANK[c] for c in classes}
        ranked = [(w.classify(), w) for w in self.workers() if w.city in cities]
        ranked = [(rank, w) for rank, w in ranked if rank in wanted]
        quota = int(round(share * len(ranked))) if share is not None else int(round((count or 0) / self.params.scale))
        keyed = [(rank, self.random.random(), w.unique_id, w) for rank, w in ranked]
        keyed.sort(key=lambda entry: entry[:3])
        for rank, _, _, worker in keyed[:quota]:
            self.enqueue(worker, rank, replace)

    def rotate(self, day: int) -> None:
        if not self.rotation_active:
            return
        delay = math.ceil(self.params.replacement_delay_days)
        for worker in self.workers():
            if (worker.contract_end <= day and worker.status == WORKING and worker.queued < 0
                    and self.border.is_open[CROSSING_OF_CITY[worker.city]] and self.admits(worker.province)):
                worker.queued = CLASS_RANK["rotation"]  # relief planned; the worker leaves when it arrives
                self.pending.append((worker.factory, day + delay, worker))

    def send_home(self, day: int) -> None:
        delay = math.ceil(self.params.replacement_delay_days)
        for crossing, queues in enumerate(self.queue):
            need = int(self.border.left["out"][crossing])
            for rank, queue in enumerate(queues):
                while need > 0 and queue:
                    worker = queue.popleft()
                    if worker.status > PRESENT_MAX or worker.queued != rank:
                        continue  # stale: gone already, or queued again in an earlier class
                    need -= 1
                    self.border.use("out", crossing, 1)
                    self.depart(worker, Status.REPATRIATED, rank)
                    if rank in ORDINARY_RANKS:
                        self.returnable.setdefault(worker.factory.index, []).append(worker.person)
                    if worker.replace and self.rotation_active:
                        self.pending.append((worker.factory, day + delay, None))

    def note_defections(self, day: int) -> None:
        params = self.params
        for province in range(len(PROVINCES)):
            count = self.defected_today.count(province)
            if count:
                self.recent_defections.append((day, province, count))
        self.defected_today.clear()
        while self.recent_defections and self.recent_defections[0][0] <= day - params.response_window_days:
            self.recent_defections.popleft()
        totals = [0] * len(PROVINCES)
        for _, province, count in self.recent_defections:
            totals[province] += count
        threshold = max(params.response_threshold / params.scale, 1)
        for province in range(len(PROVINCES)):
            if totals[province] >= threshold:
                self.surveillance_peak[province] = self.surveillance(day)[province] * params.surveillance_step
                self.surveillance_day[province] = day
                self.recent_defections = deque(e for e in self.recent_defections if e[1] != province)
                if not any(self.border.is_open[CROSSING_OF_CITY[c]] for c in cities_in(PROVINCES[province])):
                    continue  # a recall needs a way home: surveillance alone
                self.order(day, [PROVINCES[province]], share=1.0, classes=("troublemaker", "confined"), replace=True)
                if self.rotation_active and self.admits(province):  # ordinary recalls need replacements
                    self.order(day, [PROVINCES[province]], share=params.recall_share,
                               classes=("small_factory", "ordinary"), replace=True)

    # --- arrivals ---------------------------------------------------------------------------
    def demand_growth(self, day: int) -> float:
        return (1.0 + self.params.demand_growth) ** (day / DAYS_PER_YEAR)

    def arrive(self, factories: list[Factory], day: int) -> list[bool]:
        """New workers through today's inbound capacity; which entries arrived."""
        arrived = [False] * len(factories)
        for crossing in sorted({f.crossing for f in factories}):
            room = max(int(self.border.left["in"][crossing]), 0)
            for position, factory in enumerate(factories):
                if room and factory.crossing == crossing:
                    arrived[position] = True
                    room -= 1
                    self.border.use("in", crossing, 1)
        rotation = int(round(self.params.rotation_years * DAYS_PER_YEAR))
        for factory, came in zip(factories, arrived):
            if not came:
                continue
            person = -1
            if self.random.random() < self.params.experienced_preference:
                pool = self.returnable.get(factory.index)
                if pool:
                    person = pool.pop()
            self._new_worker(factory, day, day + rotation, person, arriving=True)
            self.flows["inflow"] += 1
            self.stock += 1
        return arrived

    def dispatch(self, day: int) -> None:
        due = [i for i, (_, when, _) in enumerate(self.pending) if when <= day]
        if due:
            admitted = [i for i in due if self.admits(self.pending[i][0].province) and self.rotation_active]
            arrived = self.arrive([self.pending[i][0] for i in admitted], day)
            came = {i for i, c in zip(admitted, arrived) if c}
            for i in sorted(came) + sorted(set(due) - set(admitted)):
                leaver = self.pending[i][2]
                if leaver is not None and leaver.queued == CLASS_RANK["rotation"]:
                    leaver.queued = -1
                    if i in came and leaver.status <= PRESENT_MAX:
                        self.enqueue(leaver, CLASS_RANK["rotation"])
            lost = set(due) - {i for i, c in zip(admitted, arrived) if not c}  # not admitted, or replaced
            self.pending = [entry for i, entry in enumerate(self.pending) if i not in lost]
        growth = self.demand_growth(day)
        active = []
        for wave in self.waves:
            days_left = max(wave.end_day - day, 1)
            today = int(math.ceil(wave.remaining / days_left))
            factories = [f for f in wave.factories if f.open]
            if today > 0 and factories:
                weights = np.array([f.vacancies(growth) + 1.0 for f in factories])
                counts = self.rng.multinomial(today, weights / weights.sum())
                destinations = [f for f, n in zip(factories, counts.tolist()) for _ in range(n)]
                destinations = [f for f in destinations if self.admits(f.province)]
                wave.remaining -= sum(self.arrive(destinations, day))
            if wave.end_day > day + 1 and wave.remaining > 0:
                active.append(wave)
        self.waves = active

    # --- factories --------------------------------------------------------------------------
    def close_factories(self, day: int) -> None:
        """Monthly closures; staff move to the same city and sector's factory with most vacancies."""
        params = self.params
        at_risk = [f for f in self.factories if f.open and f.workforce < params.closure_threshold * f.size]
        closing = [f for f in at_risk if self.random.random() < params.closure_rate_per_month]
        growth = self.demand_growth(day)
        for factory in closing:
            factory.open = False
            staff = [w for w in self.workers() if w.factory is factory]
            same_city = [f for f in self.factories if f.open and f.city == factory.city and f.sector == factory.sector]
            if not staff or not same_city:
                continue
            vacancies = [f.vacancies(growth) for f in same_city]
            if sum(vacancies) <= 0:
                continue
            best = max(vacancies)
            target = same_city[vacancies.index(best)]
            for worker in staff[: int(best)]:
                worker.factory = target
                factory.workforce -= 1
                target.workforce += 1

    # --- the day ----------------------------------------------------------------------------
    def apply(self, event: Event, day: int) -> None:
        if event.type in ("border", "capacity"):
            event.apply(self, day)  # the border events act on `self.border` alone
        elif event.type == "repatriation_order":
            self.order(day, event["places"], share=event["share"], count=event["count"],
                       classes=event["priorities"], replace=event["replace"])
        elif event.type == "dispatch" and event["size"] is not None and not event["experienced_only"]:
            cities = set(cities_in(event["destination"]))
            sector = None if event["sector"] is None else SECTOR_INDEX[event["sector"]]
            factories = [f for f in self.factories if f.open and f.city in cities and sector in (None, f.sector)]
            if factories:
                self.waves.append(Wave(factories, event["size"] / self.params.scale, day + event["days"]))
        else:
            raise ValueError(f"the per-agent comparison does not implement {event.type} events")

    def step(self) -> None:
        day = self.day
        for event in self.events.get(day, ()):
            self.apply(event, day)
        if day % self.params.hazard_update_days == 0:
            self.agents_by_type[Worker].do("review", day)
            self.rotate(day)
            self.close_factories(day)
        self.border.new_day()
        self.agents_by_type[Worker].shuffle_do("step")
        self.note_defections(day)
        self.send_home(day)
        self.dispatch(day)
        self.history["stock"].append(self.stock)
        self.history["confined"].append(self.confined)
        for name, total in self.flows.items():
            self.history[name].append(total)
        self.day += 1

    def run(self) -> "PerAgentModel":
        while self.day < self.days:
            self.step()
        getattr(mesa.Agent, "_ids", {}).pop(self, None)  # Mesa 3.3.1 would keep the model alive (#3179)
        return self

    def summary(self) -> Summary:
        return Summary(self.stock, self.flows["inflow"], self.flows["outflow"], self.flows["defections"], self.confined)

"""The state agencies: the North Korean side, and the Chinese side of each province.

They act when something reaches them (an order, an event, a defection, a month's end),
never by a daily step of their own, so a run costs nothing for the days they are idle. They
ask the workforce (`Population`) for arrivals and departures and talk to each other directly,
never through the simulation.

North Korean side (consulates and State Security, 001, 003, 004): keeps the repatriation
queue and the lists of sick, injured and confined workers; issues repatriation orders with
priorities; rotates workers whose three-year contract ended when a replacement can come;
dispatches new workers (under the cover of "professional exchange", 002) in waves and as
replacements; answers defections by recalling and replacing workers and by tightening
surveillance.

Chinese side, per province: `chinese_side.py`.

The flows are the agents' decisions: the Chinese side issues documents, the North Korean side
sends trained workers (`pipeline.py`) where documents wait, factories have vacancies and a
crossing is open to people, in groups (003: buses to Hunchun), preferring workers with
experience in China (002).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import mesa
import numpy as np

from .border import Border
from .chinese_side import ChineseAgency
from .factories import demand_growth
from .geography import CITIES, CROSSINGS, PROVINCES, SECTOR_INDEX, cities_in
from .pipeline import TrainingPool
from .population import Population
from .repatriation import CLASS_RANK, PRIORITY_CLASSES, RepatriationQueue, first_by_rank
from .workers import CONFINED, NEVER, SICK, WORKING, Condition, Status, distinct

ORDINARY_CLASSES = {"small_factory", "ordinary"}
"""The classes of workers with nothing against them but their factory's size."""
ORDINARY_RANKS = (CLASS_RANK["small_factory"], CLASS_RANK["ordinary"], CLASS_RANK["no_workplace"])
"""Workers who left in these classes may be sent back later (002: "the very same workers")."""


@dataclass
class DispatchWave:
    """New workers being sent to a destination over some days (size given, or filling vacancies)."""

    factories: np.ndarray
    remaining: float
    end_day: int
    fill_vacancies: bool
    experienced_only: bool = False


class NorthKoreanAgency(mesa.Agent):
    """The North Korean side: orders, lists, rotation, dispatch and the response to defections."""

    def __init__(self, model: mesa.Model, population: Population, border: Border, chinese: list[ChineseAgency],
                 streams: dict[str, np.random.Generator]) -> None:
        super().__init__(model)
        self.population = population
        self.workers = population.workers
        self.factories = population.factories
        self.params = population.params
        self.border = border
        self.chinese = chinese
        self.streams = streams
        for agency in chinese:
            agency.counterpart = self
        agents = population.agents
        self.pool = TrainingPool(agents(self.params.pool_max), agents(self.params.training_rate),
                                 agents(self.params.pool_max))
        initial = np.bincount(population.province_of_city, weights=population.records.initial_stock,
                              minlength=len(PROVINCES))
        for agency, workforce in zip(chinese, initial.tolist()):
            agency.open_places(np.floor(self.params.places_ratio * workforce))
        city_of = population.factories.city
        self._cities = [np.asarray(cities_in(name)) for name in PROVINCES]
        self._crossings = [population.crossing_of_city[c] for c in self._cities]
        self._serving = [np.unique(c) for c in self._crossings]
        self._factories = [np.flatnonzero(np.isin(city_of, c)) for c in self._cities]
        """Per province: its cities, the crossing of each, the crossings serving it, its factories."""
        self._candidate_cache: dict[int, tuple[tuple[bytes, int], np.ndarray, np.ndarray]] = {}
        self.sent: list[tuple[int, str, int]] = []
        """(day, province, agents) of every group the pipeline sent."""
        self.queue = RepatriationQueue(len(CROSSINGS))
        self.rotation_active = True
        self.waves: list[DispatchWave] = []
        self.pending_factory = np.zeros(0, dtype=np.int64)
        self.pending_due = np.zeros(0, dtype=np.int64)
        self.pending_leaver = np.zeros(0, dtype=np.int64)  # the worker a rotation replacement relieves, or -1
        self._next_due = NEVER
        """The earliest day a pending replacement is due (NEVER when none): before it, none is looked at."""
        self.returnable: dict[int, list[int]] = {}
        self.returnable_at = np.zeros(len(population.factories), dtype=np.int64)
        """Per factory, the workers in `returnable`: who could come back to it (002)."""
        self.recent_defections: deque[tuple[int, int, int]] = deque()
        self.surveillance_peak = np.ones(len(PROVINCES))
        self.surveillance_day = np.zeros(len(PROVINCES))
        self.responses: list[tuple[int, str]] = []
        self.lists: list[dict[str, int]] = []
        self.orders: list[dict[str, object]] = []

    def admitting(self) -> np.ndarray:
        """Per province, whether new workers are admitted now (the Chinese side's documents)."""
        return np.array([agency.admits() for agency in self.chinese])

    # --- who goes home ---------------------------------------------------------------
    def classify(self, ids: np.ndarray) -> np.ndarray:
        """Repatriation class rank of each worker: the earliest class that applies to them."""
        workers, factories = self.workers, self.factories
        factory = workers.factory[ids]
        small = factories.workforce[factory] <= self.population.agents(self.params.small_factory_max)
        rank = np.where(small, CLASS_RANK["small_factory"], CLASS_RANK["ordinary"])
        rank = np.where(~factories.open[factory], CLASS_RANK["no_workplace"], rank)
        rank = np.where(workers.status[ids] == CONFINED, CLASS_RANK["confined"], rank)
        rank = np.where(workers.troublemaker[ids] & (rank > CLASS_RANK["troublemaker"]), CLASS_RANK["troublemaker"], rank)
        condition = workers.condition[ids]
        rank = np.where(condition == Condition.MENTALLY_ILL, CLASS_RANK["mentally_ill"], rank)
        rank = np.where(condition == Condition.SICK_OR_INJURED, CLASS_RANK["sick"], rank)
        return rank.astype(np.int64)

    def _unordinary(self) -> np.ndarray:
        """A mask over the rows in use: workers whose class (`classify`) is not an ordinary one.

        `classify`'s rules restated on whole columns, so that an order for the unproductive
        classifies only them; tests/test_fast_paths.py holds the two to the same answer.
        """
        workers, factories = self.workers, self.factories
        mask = (workers.column("condition") != Condition.NONE) | workers.column("troublemaker")
        mask |= workers.column("status") == CONFINED
        if not factories.open.all():
            mask |= ~factories.open[workers.column("factory")]
        return mask

    def enqueue(self, ids: np.ndarray, rank: int | np.ndarray, replace: bool = False) -> None:
        """Put workers in the repatriation queue of their crossing, in the given order."""
        if ids.size == 0:
            return
        if replace:
            self.workers.replace[ids] = True
        crossings = self.population.crossing_of_city[self.workers.city[ids]]
        if isinstance(rank, (int, np.integer)):
            self.queue.push(self.workers, ids, crossings, int(rank))
            return
        for r in distinct(rank):
            mask = rank == r
            self.queue.push(self.workers, ids[mask], crossings[mask], r)

    def withdraw_ordinary(self, province: int) -> int:
        """Take the province's ordinary workers off the repatriation queue; returns how many."""
        workers = self.workers
        ids = workers.present_ids()
        ordinary = (workers.queued[ids] == CLASS_RANK["small_factory"]) | (workers.queued[ids] == CLASS_RANK["ordinary"])
        ids = ids[ordinary & (self.population.province_of_city[workers.city[ids]] == province)]
        workers.queued[ids] = -1
        workers.replace[ids] = False
        return int(ids.size)

    def order(self, day: int, places: list[str], share: float | None = None, count: int | None = None,
              classes: tuple[str, ...] | list[str] = PRIORITY_CLASSES, replace: bool = False,
              issuer: str = "north_korea") -> int:
        """A repatriation order: up to a share (or count) of the workers in `places`, by priority.

        Workers are taken class by class in the fixed order of PRIORITY_CLASSES (only the
        classes listed), at random within a class; returns how many agents were queued.
        """
        in_places = np.zeros(len(CITIES), dtype=bool)
        in_places[[c for place in places for c in cities_in(place)]] = True
        where = in_places[self.workers.column("city")]
        if not set(classes) & ORDINARY_CLASSES:
            where &= self._unordinary()  # the same workers, without classifying the ordinary ones first
        ids = self.workers.present_ids(where)
        ranks = self.classify(ids)
        wanted = np.zeros(len(CLASS_RANK), dtype=bool)
        wanted[[CLASS_RANK[c] for c in classes]] = True
        allowed = wanted[ranks]
        ids, ranks = ids[allowed], ranks[allowed]
        quota = int(round(share * allowed.sum())) if share is not None else int(round(self.population.agents(count or 0)))
        tiebreak = self.streams["orders"].random(ids.size)
        chosen = first_by_rank(ranks, tiebreak, quota)
        self.enqueue(ids[chosen], ranks[chosen], replace=replace)
        self.orders.append({"day": day, "issuer": issuer, "places": list(places), "queued": int(chosen.size)})
        return int(chosen.size)

    def send_home(self, day: int) -> None:
        """Each open crossing takes the head of its queue, up to today's capacity out.

        The day's leavers of every crossing depart together (one update of the rows and the
        records instead of one per crossing and class); who leaves, and in which order their
        factories can take them back or plan their replacements, is as if one by one.
        """
        left = self.border.left["out"].tolist()
        chunks: list[np.ndarray] = []
        ranks: list[int] = []
        for crossing, waiting in enumerate(self.queue.waiting_at()):
            if left[crossing] <= 0 or waiting == 0:
                continue
            for rank, ids in self.queue.take(self.workers, crossing, left[crossing]):
                self.border.use("out", crossing, ids.size)
                chunks.append(ids)
                ranks.append(rank)
        if not chunks:
            return
        workers = self.workers
        ids = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        rank_of = np.repeat(np.asarray(ranks, dtype=np.int64), [c.size for c in chunks]) if len(chunks) > 1 else ranks[0]
        self.population.depart(ids, day, Status.REPATRIATED, rank_of)
        ordinary = [c for c, r in zip(chunks, ranks) if r in ORDINARY_RANKS]
        if ordinary:
            back = ordinary[0] if len(ordinary) == 1 else np.concatenate(ordinary)
            factory_of = workers.factory[back]
            for factory, worker in zip(factory_of.tolist(), back.tolist()):
                self.returnable.setdefault(factory, []).append(worker)
            np.add.at(self.returnable_at, factory_of, 1)
        if self.rotation_active:
            replaced = ids[workers.replace[ids]]
            if replaced.size:
                self._plan_replacements(workers.factory[replaced], day)

    # --- rotation --------------------------------------------------------------------
    def rotate(self, day: int) -> None:
        """Workers past their contract end are relieved by a replacement, where one can come.

        Rotation is a swap (004: "dispatches and repatriations must take place
        simultaneously"): the replacement is sent first, after its documents are ready, and
        the worker it relieves joins the queue home when it arrives. A replacement needs an
        open crossing and a province that admits new workers; where it cannot come, the
        worker stays and overstays.
        """
        if not self.rotation_active:
            return
        workers = self.workers
        ids = np.flatnonzero((workers.column("contract_end") <= day) & (workers.column("status") == WORKING)
                             & (workers.column("queued") < 0))
        if ids.size == 0:
            return
        city = workers.city[ids]
        possible = self.border.is_open[self.population.crossing_of_city[city]] & self.admitting()[self.population.province_of_city[city]]
        leavers = ids[possible]
        workers.queued[leavers] = CLASS_RANK["rotation"]  # relief planned: not planned again
        self._plan_replacements(workers.factory[leavers], day, leavers)

    # --- dispatch --------------------------------------------------------------------
    def _plan_replacements(self, factories: np.ndarray, day: int, leavers: np.ndarray | None = None) -> None:
        """New workers for these factories once their documents are ready (`leavers`: whom each relieves)."""
        provinces = self.factories.province[factories]
        delay = np.array([self.chinese[p].document_delay() for p in range(len(PROVINCES))])[provinces]
        if leavers is None:
            leavers = np.full(factories.size, -1, dtype=np.int64)
        self.pending_factory = np.concatenate([self.pending_factory, factories.astype(np.int64)])
        self.pending_due = np.concatenate([self.pending_due, day + np.ceil(delay).astype(np.int64)])
        self.pending_leaver = np.concatenate([self.pending_leaver, leavers.astype(np.int64)])
        if factories.size:
            self._next_due = min(self._next_due, int(self.pending_due.min()))

    def _relieve(self, leavers: np.ndarray, swapped: bool) -> None:
        """Workers whose relief arrived join the queue home; those whose relief was lost stay on."""
        workers = self.workers
        leavers = leavers[leavers >= 0]
        waiting = leavers[workers.queued[leavers] == CLASS_RANK["rotation"]]  # not queued since in a higher class
        workers.queued[waiting] = -1
        if swapped:
            self.enqueue(waiting[workers.status[waiting] <= CONFINED], CLASS_RANK["rotation"])

    def start_wave(self, day: int, destination: str, sector: str | None, size: int | None, days: int,
                   experienced_only: bool) -> None:
        """Begin a dispatch wave to a destination (and sector), of a size or filling vacancies."""
        table = self.factories
        cities = cities_in(destination)
        chosen = np.isin(table.city, cities) & table.open
        if sector is not None:
            chosen &= table.sector == SECTOR_INDEX[sector]
        factories = np.flatnonzero(chosen)
        if experienced_only:
            pools = self._pool_sizes(factories)
            remaining = float(np.floor(pools * self.params.experienced_preference).sum())
            if size is not None:
                remaining = min(remaining, self.population.agents(size))
        elif size is not None:
            remaining = self.population.agents(size)
        else:
            remaining = float(table.vacancies(demand_growth(self.params, day))[factories].sum())
        if factories.size and remaining > 0:
            self.waves.append(DispatchWave(factories, remaining, day + days, size is None, experienced_only))

    def _pool_sizes(self, factories: np.ndarray) -> np.ndarray:
        """Workers each factory sent home as ordinary workers and could take back (002)."""
        return self.returnable_at[factories].astype(float)

    def dispatch(self, day: int) -> None:
        """Today's arrivals: replacements that are due, then the active waves, within capacity."""
        due = (self.pending_due <= day).nonzero()[0] if day >= self._next_due else self.pending_due[:0]
        # No more new workers can come today than the pool holds (besides those who were here
        # before, 002); the others stay pending, untouched, so that a long wait costs nothing.
        if due.size:
            back = self.returnable_at[self.pending_factory[due]] > 0
            due = due[back | (np.cumsum(~back) <= int(self.pool.size(day)))]
        if due.size:
            factories = self.pending_factory[due]
            admitted = self.admitting()[self.factories.province[factories]] & self.rotation_active
            arrived = np.zeros(due.size, dtype=bool)
            arrived[admitted] = self._arrive(factories[admitted], day)
            self._relieve(self.pending_leaver[due[arrived]], swapped=True)
            self._relieve(self.pending_leaver[due[~admitted]], swapped=False)
            keep = np.ones(self.pending_due.size, dtype=bool)
            keep[due[~admitted | arrived]] = False  # a place not admitted, or not replaced, is lost (004)
            self.pending_factory, self.pending_due = self.pending_factory[keep], self.pending_due[keep]
            self.pending_leaver = self.pending_leaver[keep]
            self._next_due = int(self.pending_due.min()) if self.pending_due.size else NEVER
        self.send_new_workers(day)
        if not self.waves:
            return
        growth = demand_growth(self.params, day)
        active = []
        for wave in self.waves:
            days_left = max(wave.end_day - day, 1)
            today = int(np.ceil(wave.remaining / days_left))
            factories = wave.factories[self.factories.open[wave.factories]]
            if today > 0 and factories.size:
                if wave.experienced_only:
                    weights = self._pool_sizes(factories)
                else:
                    weights = self.factories.vacancies(growth)[factories]
                    if not wave.fill_vacancies:
                        weights = weights + 1.0
                if weights.sum() > 0:
                    counts = self.streams["dispatch"].multinomial(today, weights / weights.sum())
                    if wave.experienced_only:
                        counts = np.minimum(counts, weights.astype(np.int64))
                    destinations = np.repeat(factories, counts)
                    destinations = destinations[self.admitting()[self.factories.province[destinations]]]
                    wave.remaining -= int(self._arrive(destinations, day, wave.experienced_only, from_pool=False).sum())
            if wave.end_day > day + 1 and wave.remaining > 0:
                active.append(wave)
        self.waves = active

    def _arrive(self, factories: np.ndarray, day: int, experienced_only: bool = False,
                from_pool: bool = True) -> np.ndarray:
        """New workers for these factories (one entry each) through today's inbound capacity.

        Returns a mask of the entries that arrived. Factories prefer workers with experience
        (002): a share `experienced_preference` of places go to workers who earlier left that
        factory as ordinary workers, when there are any. Every other arrival is a new worker
        from the training pool (`from_pool`; a dispatch wave that a scenario forces does not
        ask the pool), so nobody new comes while the pool is empty.
        """
        arrived = np.zeros(factories.size, dtype=bool)
        if factories.size == 0 or not self.border.left["in"].any():
            return arrived
        crossings = self.population.crossing_of_city[self.factories.city[factories]]
        left = self.border.left["in"]
        for crossing in distinct(crossings):
            positions = (crossings == crossing).nonzero()[0][: max(int(left[crossing]), 0)]
            arrived[positions] = True
        if arrived.any():
            chosen = arrived.nonzero()[0]
            targets = factories[chosen]
            rng = self.streams["dispatch"]
            prefer = rng.random(targets.size) < (1.0 if experienced_only else self.params.experienced_preference)
            persons = np.full(targets.size, -1, dtype=np.int64)
            factory_of = targets.tolist()
            for i in (prefer & (self.returnable_at[targets] > 0)).nonzero()[0].tolist():
                pool = self.returnable.get(factory_of[i])
                if pool:
                    persons[i] = self.workers.person[pool.pop()]
                    self.returnable_at[factory_of[i]] -= 1
            if from_pool:
                new = (persons < 0).nonzero()[0]
                given = self.pool.take(day, new.size)
                if given < new.size:
                    stay = np.ones(targets.size, dtype=bool)
                    stay[new[given:]] = False
                    arrived[chosen[~stay]] = False
                    chosen, targets, persons = chosen[stay], targets[stay], persons[stay]
            for crossing in distinct(crossings[chosen]):
                self.border.use("in", crossing, int((crossings[chosen] == crossing).sum()))
            if targets.size:
                self.population.arrive(targets, day, persons)
        return arrived

    # --- the dispatch pipeline ---------------------------------------------------------
    def send_new_workers(self, day: int) -> None:
        """Send trained workers where documents wait, factories have vacancies and a crossing is open (002-004).

        Each province that issues documents adds today's to those in hand, for places not
        taken. The North Korean side then sends one group a day to the province when it can
        fill one: as many workers as the documents, the pool (with workers who were here
        before, 002), the vacancies of the province's open factories behind crossings open to
        people, those crossings' capacity today and `batch_size` allow; it waits while it has
        fewer than a group, which is `batch_size` workers, or less where the crossings, the
        vacancies or the free places allow no more (003: 500 by bus over two days, 200 to one
        company on the second).
        """
        present = None
        for agency in self.chinese:
            if agency.rate <= 0 and agency.documents < 1:
                continue
            if present is None:
                present = np.bincount(self.population.province_of_city, weights=self.population.records.stock_now,
                                      minlength=len(PROVINCES))
            held = agency.issue(float(present[agency.province_index]))
            if held < 1:
                continue
            self._send_group(agency, day, int(held), float(present[agency.province_index]))

    def _send_group(self, agency: ChineseAgency, day: int, documents: int, present: float) -> None:
        table, p = self.factories, agency.province_index
        left = self.border.left["in"]
        serving = self._serving[p]
        reachable = serving[self.border.is_open[serving] & (left[serving] > 0)]
        if reachable.size == 0:
            return
        capacity = int(left[reachable].sum())
        candidates, sizes = self._candidates(p, reachable)
        # The candidates are open: their vacancies are `FactoryTable.vacancies` without the mask.
        vacancies = np.maximum(np.floor(sizes * demand_growth(self.params, day)) - table.workforce[candidates], 0.0)
        room = int(vacancies.sum())
        batch = int(self.population.agents(self.params.batch_size))
        group = max(1, min(batch, capacity, room, int(max(agency.places - present, 0.0))))
        if min(documents, capacity, room, batch) < group:
            return  # waiting for documents: the usual day, decided before the pool is asked
        available = int(self.pool.size(day)) + int(self.returnable_at[candidates].sum())
        wanted = min(documents, available, capacity, room, batch)
        if wanted < group or wanted <= 0:
            return
        counts = np.minimum(self.streams["dispatch"].multinomial(wanted, vacancies / room),
                            vacancies.astype(np.int64))
        arrived = int(self._arrive(np.repeat(candidates, counts), day).sum())
        agency.documents -= arrived
        if arrived:
            self.sent.append((day, agency.province, arrived))

    def _candidates(self, province: int, reachable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The province's open factories behind the crossings `reachable`, and their sizes.

        Kept from one day to the next while the same crossings are reachable and no factory
        has closed: the pipeline asks every day while documents accumulate, and the answer
        changes only with the border or a closure.
        """
        key = (reachable.tobytes(), self.factories.closures)
        cached = self._candidate_cache.get(province)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        table, factories = self.factories, self._factories[province]
        reached = np.zeros(len(CROSSINGS), dtype=bool)
        reached[reachable] = True
        candidates = factories[table.open[factories] & reached[self.population.crossing_of_city[table.city[factories]]]]
        sizes = table.size[candidates]
        self._candidate_cache[province] = (key, candidates, sizes)
        return candidates, sizes

    def swap_unproductive(self, day: int) -> None:
        """Where places are full, workers who can no longer earn are sent home to make room (003).

        003: "they withdrew workers who could no longer earn party funds and sent new workers";
        004: places are limited. Monthly, in each province that issues documents but has no
        free place left for a group, the sick, the mentally ill, troublemakers, the confined
        and those without a workplace are queued home (when a crossing serving the province
        is open to people), so that new workers can take their places.
        """
        present = None
        for agency in self.chinese:
            if agency.rate <= 0:
                continue
            if present is None:
                present = np.bincount(self.population.province_of_city, weights=self.population.records.stock_now,
                                      minlength=len(PROVINCES))
            free = agency.places - float(present[agency.province_index])
            if free >= self.population.agents(self.params.batch_size):
                continue
            if not self.border.is_open[self._serving[agency.province_index]].any():
                continue
            self.order(day, [agency.province], share=1.0,
                       classes=("sick", "mentally_ill", "troublemaker", "confined", "no_workplace"))

    # --- lists and defections ----------------------------------------------------------
    def compile_lists(self, day: int) -> dict[str, int]:
        """Lists of workers who cannot work and of those confined (004), kept with their date."""
        workers = self.workers
        ids = workers.present_ids()
        unfit = ids[workers.status[ids] == SICK]
        sick = unfit[workers.condition[unfit] == Condition.SICK_OR_INJURED]
        mental = unfit[workers.condition[unfit] == Condition.MENTALLY_ILL]
        confined = ids[workers.status[ids] == CONFINED]
        for group in (sick, mental, confined):
            workers.listed[group] = True
        scale = self.population.scale
        entry = {"day": day, "sick_or_injured": sick.size * scale, "mentally_ill": mental.size * scale,
                 "confined": confined.size * scale}
        self.lists.append(entry)
        return entry

    def surveillance(self, day: int) -> np.ndarray:
        """Surveillance per province (1 = normal), decaying back after each tightening."""
        params = self.params
        elapsed = day - self.surveillance_day
        return 1.0 + (self.surveillance_peak - 1.0) * 0.5 ** (elapsed / params.surveillance_half_life_days)

    def note_defections(self, day: int, provinces: np.ndarray) -> None:
        """Count defections by province over the recent window and respond where they pile up (001)."""
        params = self.params
        for province, count in enumerate(np.bincount(provinces, minlength=len(PROVINCES)).tolist()):
            if count:
                self.recent_defections.append((day, province, count))
        while self.recent_defections and self.recent_defections[0][0] <= day - params.response_window_days:
            self.recent_defections.popleft()
        totals = np.zeros(len(PROVINCES), dtype=np.int64)
        for _, province, count in self.recent_defections:
            totals[province] += count
        threshold = max(self.population.agents(params.response_threshold), 1)
        for province in np.flatnonzero(totals >= threshold).tolist():
            self.respond(day, province)

    def respond(self, day: int, province: int) -> None:
        """Tighten surveillance and recall-and-replace workers in the province (001).

        A recall needs a way home: while every crossing serving the province is closed to
        people (2020-2023), the response is surveillance alone (001: "strict surveillance by
        the State Security Department" while workers were stuck). Troublemakers and confined
        workers are then sent home; ordinary workers only where replacements can come
        (rotation active and the province admitting new workers).
        """
        params = self.params
        self.surveillance_peak[province] = self.surveillance(day)[province] * params.surveillance_step
        self.surveillance_day[province] = day
        self.recent_defections = deque(e for e in self.recent_defections if e[1] != province)
        self.responses.append((day, PROVINCES[province]))
        serving = np.unique(self.population.crossing_of_city[self.population.province_of_city == province])
        if not self.border.is_open[serving].any():
            return
        self.order(day, [PROVINCES[province]], share=1.0, classes=("troublemaker", "confined"), replace=True)
        if self.rotation_active and self.chinese[province].admits():
            # Ordinary workers are recalled only where new ones can take their places (001:
            # "recall existing personnel and replace them with new workers").
            self.order(day, [PROVINCES[province]], share=params.recall_share,
                       classes=("small_factory", "ordinary"), replace=True)

"""Chinese factories that employ North Korean workers.

Each factory is a `mesa.Agent` with a city, a sector and a size; their numbers (workforce,
size, open or closed) live in one `FactoryTable` of arrays so that the model can ask for all
vacancies at once. A factory's demand grows with the labour shortage of north-east China
(003); a factory whose workforce falls far below its size risks closing (000: "some Chinese
factory owners ... are in danger of going out of business"); factories prefer workers with
experience in China (002).
"""

from __future__ import annotations

import mesa
import numpy as np

from .dissatisfaction import DAYS_PER_YEAR
from .geography import CITIES, PROVINCES, SECTORS, city_province_index
from .parameters import Parameters
from .workers import Workers


class FactoryTable:
    """Arrays over all factories, indexed by factory id; sizes and workforces are in agents."""

    def __init__(self, city: np.ndarray, sector: np.ndarray, size: np.ndarray) -> None:
        self.city = city.astype(np.int16)
        self.sector = sector.astype(np.int8)
        self.size = size.astype(np.float64)
        self.workforce = np.zeros(city.size, dtype=np.int64)
        self.open = np.ones(city.size, dtype=bool)
        self.closures = 0
        """How many factories have closed: whoever keeps a subset of open factories refreshes it when this moves."""
        self.province = np.asarray(city_province_index(), dtype=np.int8)[self.city]

    def __len__(self) -> int:
        return self.city.size

    def demand(self, growth: float) -> np.ndarray:
        """Workers each factory wants now: its size times the growth of demand since the start."""
        return np.where(self.open, np.floor(self.size * growth), 0.0)

    def vacancies(self, growth: float, ids: np.ndarray | None = None) -> np.ndarray:
        """Places each open factory would fill today (never negative); only factories `ids` when given."""
        if ids is None:
            return np.maximum(self.demand(growth) - self.workforce, 0.0)
        wanted = np.where(self.open[ids], np.floor(self.size[ids] * growth), 0.0)
        return np.maximum(wanted - self.workforce[ids], 0.0)


class Factory(mesa.Agent):
    """A factory (or restaurant, or building site) in one city and sector."""

    def __init__(self, model: mesa.Model, table: FactoryTable, index: int) -> None:
        super().__init__(model)
        self.table = table
        self.index = index
        self.city = CITIES[int(table.city[index])].name
        self.province = PROVINCES[int(table.province[index])]
        self.sector = SECTORS[int(table.sector[index])]

    def close(self, workers: Workers) -> np.ndarray:
        """Shut down; returns the ids of the workers who were employed here and still are in China."""
        self.table.open[self.index] = False
        self.table.closures += 1
        return workers.present_ids(workers.column("factory") == self.index)


def demand_growth(params: Parameters, day: int) -> float:
    """Factor by which factories' demand for workers has grown since the start (003: a serious labour shortage)."""
    return (1.0 + params.demand_growth) ** (day / DAYS_PER_YEAR)


def close_failing(agents: list[Factory], workers: Workers, params: Parameters, day: int,
                  rng: np.random.Generator) -> None:
    """Factories far below their size close with a monthly probability (000).

    Their workers move to the open factory of the same city and sector with the most
    vacancies, as far as it has places; the others stay without a workplace (and are
    repatriated in that class when an order covers it, 003).
    """
    table = agents[0].table if agents else None
    if table is None:
        return
    at_risk = np.flatnonzero(table.open & (table.workforce < params.closure_threshold * table.size))
    if at_risk.size == 0:
        return
    closing = at_risk[rng.random(at_risk.size) < params.closure_rate_per_month]
    growth = demand_growth(params, day)
    for index in closing.tolist():
        staff = agents[index].close(workers)
        same_city = np.flatnonzero(table.open & (table.city == table.city[index])
                                   & (table.sector == table.sector[index]))
        if staff.size == 0 or same_city.size == 0:
            continue
        vacancies = table.vacancies(growth)[same_city]
        if vacancies.sum() <= 0:
            continue
        target = same_city[np.argmax(vacancies)]
        movers = staff[: int(vacancies.max())]
        workers.factory[movers] = target
        table.workforce[index] -= movers.size
        table.workforce[target] += movers.size


def build_factories(params: Parameters, rng: np.random.Generator) -> tuple[FactoryTable, np.ndarray]:
    """Factories for the initial workforce, and each initial worker's factory.

    For every city and sector, factory sizes are drawn from a log-normal distribution
    (median `factory_size_median`) until the expected workers of that city and sector are
    covered; the last factory takes the remainder. Returns the table (sizes in agents) and an
    array of factory ids, one per initial worker agent.
    """
    scale = params.scale
    total = params.initial_stock / scale
    province_total = sum(params.province_share.values())
    sector_total = sum(params.sector_share.values())
    cities, sectors, sizes = [], [], []
    for c, city in enumerate(CITIES):
        in_province = [x.name for x in CITIES if x.province == city.province]
        city_weight = sum(params.city_share.get(x, 0.0) for x in in_province)
        share = params.province_share.get(city.province, 0.0) / province_total
        share *= params.city_share.get(city.name, 0.0) / city_weight if city_weight > 0 else 0.0
        for s, sector in enumerate(SECTORS):
            target = int(round(total * share * params.sector_share.get(sector, 0.0) / sector_total))
            while target > 0:
                size = max(1, int(round(rng.lognormal(np.log(params.factory_size_median), params.factory_size_sigma) / scale)))
                size = min(size, target)
                cities.append(c)
                sectors.append(s)
                sizes.append(size)
                target -= size
    table = FactoryTable(np.asarray(cities, dtype=np.int64), np.asarray(sectors, dtype=np.int64),
                         np.asarray(sizes, dtype=np.float64))
    membership = np.repeat(np.arange(len(table)), np.asarray(sizes, dtype=np.int64)) if sizes else np.zeros(0, np.int64)
    return table, membership

"""Chinese factories that employ North Korean workers.

Each factory is a `mesa.Agent` with a city, a sector and a size; their numbers (workforce,
size, open or closed) live in one `FactoryTable` of arrays so that the model can ask for all
vacancies at once. A factory's demand grows with the labour shortage of north-east China
(003); a factory whose workforce falls far below its size risks closing (000: "some Chinese
factory owners ... are in danger of going out of business"); factories prefer workers with
experience in China (002).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from ..world.geography import CITIES, PROVINCES, SECTORS, city_province_index

if TYPE_CHECKING:
    from ..world.sim import LaborModel


class FactoryTable:
    """Arrays over all factories, indexed by factory id; sizes and workforces are in agents."""

    def __init__(self, city: np.ndarray, sector: np.ndarray, size: np.ndarray) -> None:
        self.city = city.astype(np.int16)
        self.sector = sector.astype(np.int8)
        self.size = size.astype(np.float64)
        self.workforce = np.zeros(city.size, dtype=np.int64)
        self.open = np.ones(city.size, dtype=bool)
        self.province = np.asarray(city_province_index(), dtype=np.int8)[self.city]

    def __len__(self) -> int:
        return self.city.size

    def demand(self, growth: float) -> np.ndarray:
        """Workers each factory wants now: its size times the growth of demand since the start."""
        return np.where(self.open, np.floor(self.size * growth), 0.0)

    def vacancies(self, growth: float) -> np.ndarray:
        """Places each open factory would fill today (never negative)."""
        return np.maximum(self.demand(growth) - self.workforce, 0.0)


class Factory(mesa.Agent):
    """A factory (or restaurant, or building site) in one city and sector."""

    def __init__(self, model: "LaborModel", index: int) -> None:
        super().__init__(model)
        self.index = index
        table = model.factories
        self.city = CITIES[int(table.city[index])].name
        self.province = PROVINCES[int(table.province[index])]
        self.sector = SECTORS[int(table.sector[index])]

    @property
    def workforce(self) -> int:
        """North Korean workers (agents) employed here now."""
        return int(self.model.factories.workforce[self.index])

    @property
    def is_open(self) -> bool:
        return bool(self.model.factories.open[self.index])

    def close(self) -> np.ndarray:
        """Shut down; returns the ids of the workers who were employed here and still are in China."""
        self.model.factories.open[self.index] = False
        workers = self.model.workers
        return workers.present_ids(workers.column("factory") == self.index)


def build_factories(params, rng: np.random.Generator) -> tuple[FactoryTable, np.ndarray]:
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

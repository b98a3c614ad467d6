"""The shortcuts taken for speed give exactly what the plain numpy calls they replace give.

The core keeps results bit-identical for a seed through every optimisation; these tests pin
the helpers that replace numpy calls on hot paths, and the shortcuts that restate a rule.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from labor_stocks.world.repatriation import first_by_rank
from labor_stocks.world.workers import distinct


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 300), max_size=200))
def test_distinct_is_numpy_unique(values):
    array = np.asarray(values, dtype=np.int64)
    assert distinct(array) == np.unique(array).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])), max_size=120),
       st.integers(0, 130))
def test_first_by_rank_is_lexsort_even_with_ties(entries, count):
    ranks = np.array([r for r, _ in entries], dtype=np.int64)
    tiebreak = np.array([t for _, t in entries], dtype=float)
    expected = np.lexsort((tiebreak, ranks))[:count]
    assert first_by_rank(ranks, tiebreak, count).tolist() == expected.tolist()


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([0.0, 1.0, 1.37]), st.integers(1, 50))
def test_one_scalar_for_a_uniform_per_city_value_gives_the_gathered_arithmetic(value, workers):
    """`sim.per_worker`: the month's hazard is the same bytes with the scalar as with a copy per worker."""
    from labor_stocks.world.dissatisfaction import defection_hazard, dissatisfaction
    from labor_stocks.world.geography import CITIES
    from labor_stocks.world.parameters import Parameters
    from labor_stocks.world.sim import per_worker

    rng = np.random.default_rng(workers)
    params = Parameters()
    city = rng.integers(0, len(CITIES), workers)
    arrival, contract_end = rng.integers(-2000, 0, workers), rng.integers(-500, 1500, workers)
    log_debt0 = rng.normal(0, 1, workers).astype(np.float32)
    per_city = np.full(len(CITIES), value)
    assert np.ndim(per_worker(per_city, city)) == 0
    level = dissatisfaction(params, 900, arrival, contract_end, log_debt0, per_city[city])
    fast = dissatisfaction(params, 900, arrival, contract_end, log_debt0, per_worker(per_city, city))
    assert level.tobytes() == fast.tobytes()
    surveillance = per_city + 1.0
    assert (defection_hazard(params, level, surveillance[city]).tobytes()
            == defection_hazard(params, level, per_worker(surveillance, city)).tobytes())


def test_the_unordinary_mask_is_classify_without_the_ordinary_classes():
    """`NorthKoreanAgency._unordinary` (orders for the unproductive) restates `classify`'s rules on whole columns."""
    import datetime as dt

    from labor_stocks.scenarios.history import HISTORY_START, load_history
    from labor_stocks.world.parameters import with_overrides
    from labor_stocks.world.repatriation import CLASS_RANK
    from labor_stocks.world.sim import LaborModel

    params = with_overrides({"scale": 10, "defection_base_rate": 0.02, "closure_rate_per_month": 0.05})
    model = LaborModel(params, load_history(), HISTORY_START, dt.date(2023, 6, 30), 3).run()
    agency = model.north_korea
    ids = model.workers.present_ids()
    ranks = agency.classify(ids)
    unordinary = agency._unordinary()[ids]
    assert unordinary.any() and not unordinary.all()  # the run has both kinds, and closed factories
    assert not model.factories.open.all()
    assert (unordinary == (ranks < CLASS_RANK["small_factory"])).all()

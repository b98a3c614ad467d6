"""Invariants that must hold for any parameters and any timeline of events, and determinism."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labor_stocks import LaborModel, load_history
from labor_stocks.world.events import BORDER_STATUSES, PRIORITY_CLASSES, RELATIONS
from labor_stocks.world.geography import CITIES, CROSSINGS, PROVINCES, SECTORS
from labor_stocks.world.records import recount_stock

from .conftest import START, event, small_model

END = dt.date(2018, 6, 30)
dates = st.dates(min_value=dt.date(2016, 6, 1), max_value=END).map(dt.date.isoformat)
crossings = st.sampled_from([c.name for c in CROSSINGS] + ["all"])
places = st.sampled_from([c.name for c in CITIES] + list(PROVINCES) + ["China"])

events = st.one_of(
    st.builds(dict, type=st.just("border"), date=dates, crossing=crossings, status=st.sampled_from(BORDER_STATUSES),
              capacity=st.integers(0, 500)),
    st.builds(dict, type=st.just("capacity"), date=dates, crossing=crossings, vehicles=st.integers(0, 12)),
    st.builds(dict, type=st.just("enforcement"), date=dates, province=st.sampled_from(list(PROVINCES) + ["all"]),
              level=st.floats(0, 1)),
    st.builds(dict, type=st.just("relations"), date=dates, level=st.sampled_from(RELATIONS)),
    st.builds(dict, type=st.just("repatriation_order"), date=dates, places=st.lists(places, min_size=1, max_size=3),
              share=st.floats(0, 1), priorities=st.lists(st.sampled_from(PRIORITY_CLASSES), min_size=1, unique=True),
              replace=st.booleans()),
    st.builds(dict, type=st.just("dispatch"), date=dates, destination=places, size=st.integers(0, 800),
              days=st.integers(1, 60), sector=st.sampled_from(SECTORS)),
    st.builds(dict, type=st.just("dispatch"), date=dates, destination=places, days=st.integers(1, 60),
              experienced_only=st.booleans()),
    st.builds(dict, type=st.just("defection_shock"), date=dates, place=st.sampled_from([c.name for c in CITIES]),
              size=st.integers(1, 40)),
    st.builds(dict, type=st.just("lists"), date=dates),
    st.builds(dict, type=st.just("rotation"), date=dates, active=st.booleans()),
)

parameters = st.fixed_dictionaries({
    "initial_stock": st.integers(200, 3000),
    "rotation_years": st.floats(0.3, 5),
    "unfit_rate_per_year": st.floats(0, 0.5),
    "defection_base_rate": st.floats(0, 0.2),
    "collective_share": st.floats(0, 1),
    "team_size": st.integers(1, 40),
    "closure_rate_per_month": st.floats(0, 1),
    "demand_growth": st.floats(0, 0.5),
    "response_threshold": st.integers(1, 20),
    "recall_share": st.floats(0, 1),
    "scale": st.integers(1, 5),
})


def check_accounting(model: LaborModel) -> None:
    data = model.records.data
    previous = np.vstack([model.records.initial_stock, data["stock"][:-1]])
    assert np.array_equal(data["stock"], previous + data["inflow"] - data["outflow"] - data["defections"])
    assert (data["stock"] >= 0).all()
    assert (data["confined"] >= 0).all() and (data["confined"] <= data["stock"]).all()
    for day in (0, model.days // 2, model.days - 1):
        assert np.array_equal(recount_stock(model.workers, day, len(CITIES)), data["stock"][day])
    for place, stock in model.records.by_place("stock").items():
        flows = {q: model.records.by_place(q)[place] for q in ("inflow", "outflow", "defections")}
        assert np.array_equal(np.diff(stock), (flows["inflow"] - flows["outflow"] - flows["defections"])[1:]), place


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(overrides=parameters, timeline=st.lists(events, max_size=12))
def test_accounting_identity_holds_for_any_parameters_and_events(overrides, timeline):
    model = small_model([event(**e) for e in timeline], end=END, seed=3, **overrides).run()
    check_accounting(model)


def test_accounting_identity_holds_over_the_shared_history():
    model = LaborModel(events=load_history(), seed=5).run()
    check_accounting(model)


def test_same_seed_gives_identical_records_bit_for_bit():
    first = small_model(seed=11, end=dt.date(2019, 12, 31)).run()
    second = small_model(seed=11, end=dt.date(2019, 12, 31)).run()
    for quantity, values in first.records.data.items():
        assert values.tobytes() == second.records.data[quantity].tobytes(), quantity
    assert first.results().to_csv().encode() == second.results().to_csv().encode()


def test_different_seeds_give_different_runs():
    first = small_model(seed=1, end=dt.date(2019, 12, 31)).run()
    second = small_model(seed=2, end=dt.date(2019, 12, 31)).run()
    assert not np.array_equal(first.records.data["outflow"], second.records.data["outflow"])


def test_events_before_the_start_apply_on_the_first_day():
    model = small_model([event(type="border", date="2016-05-01", crossing="all", status="closed")])
    model.step()
    assert not model.border.is_open.any()
    assert model.start == START

"""Each mechanism of the model does what the articles say it does."""

from __future__ import annotations

import datetime as dt

import numpy as np

from labor_stocks.world.dissatisfaction import defection_hazard, dissatisfaction
from labor_stocks.world.geography import CITIES, CITY_INDEX
from labor_stocks.world.repatriation import CLASS_RANK
from labor_stocks.world.workers import Status

from .conftest import event, small_model


def series(model, place, quantity):
    df = model.results()
    return df[df.place == place].set_index("date")[quantity]


def test_closed_border_stops_all_arrivals_and_repatriations():
    model = small_model([
        event(type="border", date="2017-01-01", crossing="all", status="closed"),
        event(type="repatriation_order", date="2017-02-01", places=["China"], share=0.5),
        event(type="dispatch", date="2017-03-01", destination="Jilin", size=300, days=10),
    ], rotation_years=0.5, unfit_rate_per_year=0.3).run()
    china = model.results()
    china = china[china.place == "China"]
    assert china.inflow.sum() == 0
    assert china.outflow.sum() == 0
    assert model.north_korea.queue.waiting(0) > 0  # the order is waiting, not dropped


def test_freight_only_crossing_lets_no_worker_through():
    model = small_model([
        event(type="border", date="2017-01-01", crossing="all", status="freight"),
        event(type="repatriation_order", date="2017-01-10", places=["China"], share=0.5),
    ]).run()
    assert series(model, "China", "outflow").sum() == 0


def test_repatriation_order_takes_small_factories_first_within_capacity():
    capacity = 40
    model = small_model([
        event(type="rotation", date="2017-01-01", active=False),
        event(type="capacity", date="2017-01-01", crossing="Dandong-Sinuiju", persons=capacity),
        event(type="repatriation_order", date="2017-02-01", places=["Liaoning"], share=0.6,
              priorities=["small_factory", "ordinary"]),
    ], initial_stock=20000, factory_size_median=250, unfit_rate_per_year=0.0, defection_base_rate=0.0).run()
    daily = model.results()
    dandong_cities = [c.name for c in CITIES if c.crossing == "Dandong-Sinuiju"]
    through_dandong = daily[daily.place.isin(dandong_cities)].groupby("date").outflow.sum()
    assert through_dandong.max() <= capacity
    assert through_dandong.max() == capacity  # the queue is long enough to fill the buses
    workers = model.workers
    left = np.flatnonzero(workers.column("status") == Status.REPATRIATED)
    small = left[workers.exit_class[left] == CLASS_RANK["small_factory"]]
    large = left[workers.exit_class[left] == CLASS_RANK["ordinary"]]
    assert small.size > 0 and large.size > 0
    assert workers.departure[small].max() <= workers.departure[large].min()


def test_repatriation_order_takes_the_sick_before_ordinary_workers():
    model = small_model([
        event(type="border", date="2017-01-01", crossing="all", status="closed"),
        event(type="repatriation_order", date="2017-06-01", places=["China"], share=0.3),
        event(type="border", date="2018-01-01", crossing="Dandong-Sinuiju", status="open", capacity=10),
    ], end=dt.date(2018, 12, 31), unfit_rate_per_year=0.2, defection_base_rate=0.0).run()
    workers = model.workers
    left = np.flatnonzero(workers.column("status") == Status.REPATRIATED)
    ranks = workers.exit_class[left]
    days = workers.departure[left]
    reopening = (dt.date(2018, 1, 1) - dt.date(2017, 1, 1)).days
    first_month = ranks[days < reopening + 31]
    assert first_month.size > 0
    assert (first_month <= CLASS_RANK["mentally_ill"]).all()  # those who cannot work go first
    assert (ranks >= CLASS_RANK["small_factory"]).any()  # ordinary workers follow


def test_enforcement_in_liaoning_lowers_liaoning_while_jilin_grows():
    model = small_model([
        event(type="rotation", date="2017-01-01", active=False),
        event(type="enforcement", date="2017-03-01", province="Liaoning", level=0.9),
        event(type="dispatch", date="2017-03-01", destination="Jilin", size=400, days=30),
        event(type="dispatch", date="2017-03-01", destination="Liaoning", size=400, days=30),
    ], defection_base_rate=0.0, unfit_rate_per_year=0.0).run()
    liaoning, jilin = series(model, "Liaoning", "stock"), series(model, "Jilin", "stock")
    assert liaoning.iloc[-1] < 0.8 * liaoning.iloc[0]
    assert jilin.iloc[-1] > jilin.iloc[0]
    assert series(model, "Liaoning", "inflow").loc["2017-03-01":].sum() == 0  # no new assignments


def test_defection_shock_triggers_recall_and_surveillance():
    model = small_model([
        event(type="defection_shock", date="2017-06-01", place="Shanghai", size=21),
    ], end=dt.date(2017, 12, 31), initial_stock=20000, defection_base_rate=0.0).run()
    defected = series(model, "Shanghai", "defections")
    assert defected.sum() == 21
    assert any(province == "Other" for _, province in model.north_korea.responses)
    day = (dt.date(2017, 6, 2) - dt.date(2017, 1, 1)).days
    assert model.north_korea.surveillance(day)[3] > 1.5
    recalls = [o for o in model.north_korea.orders if o["places"] == ["Other"]]
    assert recalls and sum(o["queued"] for o in recalls) > 0
    assert series(model, "Other", "outflow").loc["2017-06-01":].sum() > 0


def test_overstay_raises_the_defection_hazard(params):
    day = 2000
    arrival = np.array([0, 0])
    contract_end = np.array([2000, 1000])  # the second worker is 1000 days past their contract
    level = dissatisfaction(params, day, arrival, contract_end, np.zeros(2, np.float32), np.zeros(2))
    hazard = defection_hazard(params, level, np.ones(2))
    assert hazard[1] > hazard[0]


def test_overstaying_workforce_defects_more_than_a_rotated_one():
    closed = [event(type="rotation", date="2017-01-01", active=False)]
    common = dict(end=dt.date(2020, 12, 31), initial_stock=20000, defection_base_rate=0.002,
                  unfit_rate_per_year=0.0, response_threshold=10_000)
    stuck = small_model(closed, overstay_effect=1.0, **common).run()
    indifferent = small_model(closed, overstay_effect=0.0, **common).run()
    assert series(stuck, "China", "defections").sum() > 1.5 * series(indifferent, "China", "defections").sum()


def test_rotation_swaps_workers_when_the_border_is_open():
    model = small_model(end=dt.date(2020, 6, 30), defection_base_rate=0.0, unfit_rate_per_year=0.0).run()
    china = model.results()
    china = china[china.place == "China"]
    assert china.outflow.sum() > 0.5 * china.stock.iloc[0]
    assert china.inflow.sum() > 0.9 * china.outflow.sum()
    assert abs(china.stock.iloc[-1] - china.stock.iloc[0]) < 0.1 * china.stock.iloc[0]


def test_rotation_stops_when_the_border_closes():
    model = small_model([event(type="border", date="2017-01-01", crossing="all", status="closed")],
                        end=dt.date(2020, 6, 30), defection_base_rate=0.0, unfit_rate_per_year=0.0).run()
    assert series(model, "China", "outflow").sum() == 0
    workers = model.workers
    assert (workers.column("contract_end") < model.days).sum() > 0  # they overstay instead


def test_experienced_workers_come_back_to_their_factory():
    model = small_model([
        event(type="rotation", date="2017-01-01", active=False),
        event(type="repatriation_order", date="2017-02-01", places=["Jilin"], share=0.5,
              priorities=["small_factory", "ordinary"]),
        event(type="dispatch", date="2017-06-01", destination="Jilin", days=10, experienced_only=True),
    ], defection_base_rate=0.0, unfit_rate_per_year=0.0, experienced_preference=0.5).run()
    workers = model.workers
    back = np.flatnonzero(workers.column("experienced"))
    assert back.size > 0
    first_stint = {int(p): i for i, p in enumerate(workers.column("person")) if i not in set(back.tolist())}
    assert all(workers.factory[first_stint[int(workers.person[i])]] == workers.factory[i] for i in back)


def test_factory_closes_when_its_workers_leave():
    model = small_model([
        event(type="rotation", date="2017-01-01", active=False),
        event(type="repatriation_order", date="2017-02-01", places=["Dandong"], share=0.9,
              priorities=["small_factory", "ordinary"]),
    ], closure_rate_per_month=1.0).run()
    table = model.factories
    dandong = table.city == CITY_INDEX["Dandong"]
    assert (~table.open[dandong]).any()
    assert table.open[~dandong].all()


def test_lists_record_the_sick_and_the_confined():
    model = small_model([
        event(type="border", date="2017-01-01", crossing="all", status="closed"),
        event(type="lists", date="2018-06-01"),
    ], unfit_rate_per_year=0.1, defection_base_rate=0.05).run()
    entry = model.north_korea.lists[0]
    assert entry["sick_or_injured"] > 0 and entry["confined"] > 0
    assert model.workers.column("listed").sum() == sum(v for k, v in entry.items() if k != "day")


def test_when_enforcement_eases_ordinary_workers_stop_leaving():
    events = [
        event(type="rotation", date="2017-01-01", active=False),
        event(type="capacity", date="2017-01-01", crossing="Dandong-Sinuiju", persons=10),
        event(type="enforcement", date="2017-02-01", province="Liaoning", level=0.9),
    ]
    pressed = small_model(events, unfit_rate_per_year=0.0, defection_base_rate=0.0).run()
    eased = small_model(events + [event(type="enforcement", date="2017-04-01", province="Liaoning", level=0.3)],
                        unfit_rate_per_year=0.0, defection_base_rate=0.0).run()
    after_easing = slice("2017-04-02", None)
    assert series(pressed, "Liaoning", "outflow").loc[after_easing].sum() > 300
    assert series(eased, "Liaoning", "outflow").loc[after_easing].sum() == 0
    assert series(eased, "Liaoning", "outflow").loc["2017-02-01":"2017-04-01"].sum() > 0


def test_each_event_type_is_one_class_that_parses_applies_and_captions():
    """A TOML `type` maps to a class holding its keys, checks, effect and caption (one file per event type)."""
    from labor_stocks.world import events as module

    for name, cls in module.EVENT_TYPES.items():
        assert cls.type == name and issubclass(cls, module.Event)
        assert cls.apply is not module.Event.apply, f"{cls.__name__} says nothing about what it does"
    order = event(type="enforcement", date="2018-01-01", province="Jilin", level=0.9)
    assert type(order) is module.Enforcement and order.caption() == "enforcement 0.9 Jilin"
    model = small_model([order], end=dt.date(2018, 1, 2))
    model.run()
    assert model.chinese[1].enforcement == 0.9 and model.chinese[0].enforcement == 0.0

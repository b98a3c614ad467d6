"""The agents decide the flows: the dispatch pipeline, the provinces' documents and places.

No test here has a dispatch event: every arrival is a worker the North Korean side sent from
its training pool because a province issued documents for a free place, a factory had a
vacancy and a crossing was open to people.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import numpy as np
import pytest

from labor_stocks.errors import InputError
from labor_stocks.scenarios.history import HISTORY_PATH

from .conftest import event, small_model

QUIET = {"unfit_rate_per_year": 0.0, "defection_base_rate": 0.0, "places_ratio": 1.3, "document_rate": 1.0,
         "demand_growth": 0.5}
"""Nobody falls ill or defects, so every flow below is the pipeline's; places and vacancies to spare."""


def closed_start(*more):
    """Everything closed on the first day, rotation off and no documents anywhere; then `more`."""
    return [event(type="border", date="2017-01-01", crossing="all", status="closed"),
            event(type="rotation", date="2017-01-01", active=False),
            event(type="documents", date="2017-01-01", province="all", issuing=False), *more]


def inflow(model, place, after="2017-01-01"):
    frame = model.results()
    rows = frame[(frame.place == place) & (frame.date >= after)]
    return int(rows.inflow.sum())


def test_documents_and_an_open_crossing_bring_workers_from_the_pool_without_any_dispatch_event():
    model = small_model(closed_start(event(type="documents", date="2017-03-01", province="Jilin", issuing=True),
                                     event(type="border", date="2017-06-01", crossing="Quanhe-Wonjong", status="open")),
                        **QUIET)
    model.run()
    assert inflow(model, "China") == inflow(model, "Hunchun", "2017-06-01") > 0  # only once the crossing opens
    assert model.north_korea.pool.size(model.days) < model.params.pool_max + model.params.training_rate * model.days
    assert all(province == "Jilin" for _, province, _ in model.north_korea.sent)


def test_a_province_that_issues_no_documents_gets_no_new_workers():
    model = small_model(closed_start(event(type="documents", date="2017-02-01", province="Jilin", issuing=True),
                                     event(type="border", date="2017-02-01", crossing="all", status="open")),
                        **QUIET)
    model.run()
    assert inflow(model, "Jilin") > 0
    assert inflow(model, "Liaoning") == inflow(model, "Heilongjiang") == inflow(model, "Other") == 0


def test_with_places_full_a_new_arrival_waits_for_a_departure():
    full = {**QUIET, "places_ratio": 1.0}  # every place taken on the first day
    opened = [event(type="documents", date="2017-02-01", province="Jilin", issuing=True),
              event(type="border", date="2017-02-01", crossing="all", status="open")]
    model = small_model(closed_start(*opened), **full)
    model.run()
    assert inflow(model, "Jilin") == 0
    order = event(type="repatriation_order", date="2017-06-01", places=["Jilin"], share=0.1)
    model = small_model(closed_start(*opened, order), **full)
    model.run()
    frame = model.results()
    jilin = frame[frame.place == "Jilin"]
    assert 0 < jilin.inflow.sum() <= jilin.outflow.sum()
    assert jilin[jilin.date < "2017-06-01"].inflow.sum() == 0
    assert (jilin.stock <= model.chinese[1].places).all()


def test_the_pool_grows_while_the_border_is_closed_and_drains_once_it_opens():
    model = small_model(
        [event(type="rotation", date="2017-01-01", active=False),
         event(type="documents", date="2017-01-01", province="all", issuing=False),
         event(type="documents", date="2017-01-01", province="Jilin", issuing=True),
         event(type="border", date="2017-04-01", crossing="all", status="closed"),
         event(type="border", date="2017-10-01", crossing="all", status="open")],
        end=dt.date(2018, 6, 30), pool_max=600, training_rate=2.0, **{**QUIET, "document_rate": 3.0, "demand_growth": 3.0, "places_ratio": 3.0})
    pool = []
    while model.day < model.days:
        model.step()
        pool.append(model.north_korea.pool.size(model.day))
    day = {d: (dt.date(*d) - model.start).days for d in ((2017, 3, 31), (2017, 9, 30), (2018, 6, 30))}
    assert pool[day[(2017, 3, 31)]] < 600  # drained by the first months' groups
    assert pool[day[(2017, 9, 30)]] > pool[day[(2017, 3, 31)]]  # refilled while closed
    assert inflow(model, "Jilin", "2017-10-01") > 0
    closed = model.results()
    closed = closed[(closed.place == "China") & (closed.date >= "2017-04-01") & (closed.date < "2017-10-01")]
    assert closed.inflow.sum() == 0


@pytest.mark.parametrize("change", [
    {"type": "enforcement", "province": "Jilin", "level": 0.3},
    {"type": "relations", "level": "chilly"},
], ids=["enforcement", "chilly"])
def test_enforcement_or_chilly_relations_slow_arrivals(change):
    opened = closed_start(event(type="documents", date="2017-02-01", province="Jilin", issuing=True),
                          event(type="border", date="2017-02-01", crossing="all", status="open"))
    slow = {**QUIET, "document_rate": 0.1}  # documents, not places or vacancies, set the pace
    plain = small_model(opened, **slow).run()
    slowed = small_model([*opened, event(date="2017-02-01", **change)], **slow).run()
    assert 0 < inflow(slowed, "Jilin") < inflow(plain, "Jilin")


def test_documents_stop_at_the_admission_threshold_and_fall_before_it():
    model = small_model()
    jilin = model.chinese[1]
    rates = []
    for level in (0.0, 0.25, 0.49, 0.5, 0.9):
        jilin.enforce(level, 0)
        rates.append(jilin.rate)
    assert rates[0] > rates[1] > rates[2] > 0 and rates[3] == rates[4] == 0


def test_no_event_in_the_history_sets_a_number_of_workers():
    with open(HISTORY_PATH, "rb") as handle:
        events = tomllib.load(handle)["events"]
    assert all(e["type"] != "dispatch" for e in events)
    assert not [e for e in events if {"size", "count", "persons"} & set(e)]


def test_a_documents_event_names_a_province():
    with pytest.raises(InputError, match=r"key province: unknown province 'Yanbian'"):
        event(type="documents", date="2020-01-01", province="Yanbian", issuing=True)


def test_the_baseline_carries_arrivals_forward_into_jilin_and_none_into_liaoning(tmp_path):
    """The baseline is late 2024 with the agents' rules running: Jilin keeps taking workers, Liaoning none."""
    import pandas as pd

    from labor_stocks.outputs.run import run_scenario
    from labor_stocks.scenarios.scenario import load_scenario

    root = Path(__file__).resolve().parent.parent
    run_scenario(load_scenario(root / "scenarios" / "baseline.toml"), tmp_path / "run", replicates=3, seed=2,
                 posterior=None, reports=tmp_path / "none.csv")
    table = pd.read_csv(tmp_path / "run" / "projection.csv")
    later = table[(table.quantity == "inflow") & (table.date >= "2025-01-01")]
    jilin, liaoning = later[later.place == "Jilin"], later[later.place == "Liaoning"]
    assert jilin["mean"].sum() > 100 and (jilin.p95 >= jilin.p05).all()
    assert liaoning["p95"].max() == 0

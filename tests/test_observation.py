"""The observation model, the priors and the posterior file: how reports meet the model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labor_stocks.calibration.priors import load_priors
from labor_stocks.errors import InputError
from labor_stocks.calibration.observation import OFFSET, SIGMA, Observation, Outlet, distance
from labor_stocks.ensemble.posterior import load_posterior
from labor_stocks.calibration.reports import parse_reports, REPORT_COLUMNS

HEADER = ",".join(REPORT_COLUMNS)


def report(place="Dandong", kind="outflow", value="", low="", high="", unit="workers", start="2017-01-02",
           end="2017-01-04", confidence="medium"):
    row = f"r1,000_x.txt,2017-02-01,{start},{end},{place},{kind},{value},{low},{high},{unit},{confidence},\"q\",\n"
    return parse_reports(HEADER + "\n" + row, "test.csv")[0]


def series(days=10, **by_place):
    """Daily series: every quantity and place zero unless given."""
    places = {p: np.zeros(days) for p in ("Dandong", "China", "Liaoning", "Dandong-Sinuiju")}
    out = {q: dict(places) for q in ("stock", "inflow", "outflow", "defections")}
    for key, values in by_place.items():
        quantity, place = key.split("__")
        out[quantity] = dict(out[quantity])
        out[quantity][place.replace("_", "-")] = np.asarray(values, dtype=float)
    return out


def test_a_flow_is_summed_over_the_period_both_ends_included():
    o = Observation.of(report(value="30"))
    assert o.simulate(series(outflow__Dandong=[1, 10, 10, 10, 1, 0, 0, 0, 0, 0])) == 30


def test_a_daily_rate_is_the_period_mean():
    o = Observation.of(report(value="10", unit="workers_per_day"))
    assert o.simulate(series(outflow__Dandong=[0, 9, 10, 11, 0, 0, 0, 0, 0, 0])) == 10


def test_a_stock_is_read_at_the_end_of_the_period():
    o = Observation.of(report(kind="stock", value="5", start="2017-01-04", end="2017-01-04"))
    assert o.simulate(series(stock__Dandong=[0, 0, 0, 5, 9, 9, 9, 9, 9, 9])) == 5


def test_a_worldwide_figure_bounds_china_from_above_only():
    o = Observation.of(report(place="overseas", kind="stock", value="100000", start="2017-01-04", end="2017-01-04"))
    assert o.place == "China"
    assert o.z(20_000) == 0 and o.z(99_000) == 0
    assert o.z(150_000) > 0


def test_inside_a_range_the_error_is_zero_and_grows_outside():
    o = Observation.of(report(low="200", high="999", confidence="low"))
    assert o.z(200) == o.z(999) == 0
    assert o.z(100) < 0 < o.z(2000)
    assert o.z(50) < o.z(100)
    assert math.isclose(o.z(2000), (math.log(2000 + OFFSET) - math.log(999 + OFFSET)) / SIGMA["low"])


def test_what_a_biased_outlet_would_report_is_what_its_z_expects():
    """`Outlet.reported` (used by the fit's `inside`) is the figure at which the outlet's z is zero."""
    doubling = Outlet(bias=math.log(2.0))
    assert math.isclose(doubling.reported(90.0), 190.0)  # (90 + 10) x 2 - 10, on z's offset scale
    assert Outlet().reported(90.0) == 90.0
    o = Observation.of(report(value="1990"))
    assert o.z(1990.0) == 0.0 and abs(o.z(990.0, doubling)) < 1e-12  # the outlet sees (990 + 10) x 2 - 10
    assert o.z(990.0) < 0  # taken at its word, half the figure is an error
    assert Outlet(bias=-0.2).reported(0.0) == 0.0  # an outlet that under-reports still says zero for zero


def test_confidence_widens_what_a_report_allows():
    high = Observation.of(report(value="1000", confidence="high"))
    low = Observation.of(report(value="1000", confidence="low"))
    assert abs(high.z(1500)) > abs(low.z(1500))


def test_a_zero_bound_tolerates_a_handful_but_not_hundreds():
    o = Observation.of(report(kind="inflow", high="0"))
    assert o.z(0) == 0
    assert o.z(3) < 1 < o.z(300)


def test_distance_is_the_root_of_summed_squares():
    first, second = Observation.of(report(value="100")), Observation.of(report(value="100", confidence="low"))
    z1, z2 = first.z(200), second.z(200)
    assert math.isclose(distance([first], {"r1": 200}), abs(z1))
    assert math.isclose(distance([first, second], {"r1": 200}), math.hypot(z1, z2))


def test_shipped_priors_load_and_name_real_parameters():
    priors = load_priors("calibration/priors.toml")
    assert {p.name for p in priors} >= {"initial_stock", "seats_per_vehicle", "unfit_rate_per_year"}
    assert all(p.low < p.high and p.reason for p in priors)


@pytest.mark.parametrize("text, key", [
    ('[no_such]\ndistribution="uniform"\nlow=0\nhigh=1\nreason="r"', "no_such"),
    ('[compliance]\ndistribution="normal"\nlow=0\nhigh=1\nreason="r"', "compliance.distribution"),
    ('[compliance]\ndistribution="uniform"\nlow=1\nhigh=0\nreason="r"', "compliance"),
    ('[compliance]\ndistribution="uniform"\nlow=0\nhigh=1', "compliance.reason"),
    ('[compliance]\ndistribution="uniform"\nlow="a"\nhigh=1\nreason="r"', "compliance.low"),
    ('[province_share]\ndistribution="uniform"\nlow=0\nhigh=1\nreason="r"', "province_share"),
    ("not toml [", "cannot read"),
])
def test_bad_priors_name_the_key(tmp_path, text, key):
    path = tmp_path / "priors.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=key.replace(".", r"\.")) as error:
        load_priors(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_posterior_draws_are_the_same_for_a_seed_and_replicate(tmp_path):
    path = tmp_path / "posterior.csv"
    path.write_text("weight,initial_stock,compliance\n0.5,40000,0.3\n0.25,50000,0.5\n0.25,60000.4,0.9\n")
    posterior = load_posterior(path)
    draws = [posterior.draw(7, i) for i in range(50)]
    assert draws == [posterior.draw(7, i) for i in range(50)]
    assert {d["initial_stock"] for d in draws} == {40000, 50000, 60000}  # whole numbers for an int parameter
    assert 15 < sum(d["compliance"] == 0.3 for d in draws) < 40


@pytest.mark.parametrize("text, message", [
    ("initial_stock\n40000\n", "column weight"),
    ("weight,nonsense\n1,2\n", "column nonsense"),
    ("weight,compliance\n1,abc\n", "row 1, column compliance"),
    ("weight,compliance\n0,0.5\n", "column weight"),
    ("weight,compliance\n", "no particles"),
])
def test_bad_posterior_files_name_the_column(tmp_path, text, message):
    path = tmp_path / "posterior.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_posterior(path)

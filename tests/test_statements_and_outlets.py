"""Reports that restate one statement count once; outlets have a bias and an accuracy; priors may name event fields.

The two calibrations at the end are the proof on synthetic data (issue 13): reports made by
the model at known values, then a small seeded calibration that finds those values again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from labor_stocks.calibration.abc import calibrate
from labor_stocks.calibration.fit import outlet_table, posterior_outlets
from labor_stocks.calibration.observation import (SIGMA, Observation, Outlet, distance, observations,
                                                  statement_terms)
from labor_stocks.calibration.priors import check_event_priors, for_reports, load_priors
from labor_stocks.calibration.reports import (REPORT_COLUMNS, REQUIRED_COLUMNS, append_report, load_reports,
                                              parse_reports)
from labor_stocks.ensemble.plan import replicate
from labor_stocks.ensemble.posterior import Posterior, event_day, load_posterior, weighted_quantiles
from labor_stocks.ensemble.runner import run_replicate, simulate
from labor_stocks.errors import InputError
from labor_stocks.scenarios.scenario import Scenario
from labor_stocks.world.events import parse_date, parse_event
from labor_stocks.world.parameters import with_overrides

START = dt.date(2017, 1, 1)
HEADER = ",".join(REQUIRED_COLUMNS) + ",statement,outlet"


def row(id: str, place: str, kind: str, first: dt.date, last: dt.date, value: float, confidence: str = "medium",
        outlet: str = "", statement: str = "") -> str:
    return (f"{id},synthetic.txt,{last.isoformat()},{first.isoformat()},{last.isoformat()},{place},{kind},"
            f"{value:.0f},,,workers,{confidence},a synthetic figure,{statement},{outlet}")


def ledger(*rows: str) -> list:
    return parse_reports(HEADER + "\n" + "\n".join(rows) + "\n", "synthetic.csv")


# --- the ledger's optional columns ----------------------------------------------------------

def test_the_thirteen_columns_alone_are_a_valid_ledger(tmp_path):
    line = 'r1,000_x.txt,2024-11-13,2024-10-01,2024-10-31,Dandong,outflow,4000,,,workers,medium,"about 4,000"\n'
    path = tmp_path / "reports.csv"
    path.write_text(",".join(REQUIRED_COLUMNS) + "\n" + line)
    (report,) = load_reports(path)
    assert (report.notes, report.statement, report.outlet, report.origin) == ("", "", "", "000_x.txt")


def test_optional_columns_come_in_any_order_after_the_thirteen():
    text = (",".join(REQUIRED_COLUMNS) + ",outlet,notes\n"
            "r1,000_x.txt,2024-11-13,2024-10-01,2024-10-31,Dandong,outflow,4000,,,workers,medium,q,Daily NK,a note\n")
    (report,) = parse_reports(text, "x.csv")
    assert (report.outlet, report.notes, report.origin) == ("Daily NK", "a note", "Daily NK")


def test_a_bad_statement_key_names_its_row_and_column():
    with pytest.raises(InputError, match=r"row 1 \(line 2\), column statement: bad statement key"):
        ledger(row("r1", "Dandong", "outflow", START, START, 10, statement="Dandong exodus!"))


def test_append_refuses_a_value_for_a_column_the_ledger_lacks(tmp_path):
    path = tmp_path / "reports.csv"
    path.write_text(",".join(REPORT_COLUMNS) + "\n")
    fields = dict(id="r1", source="000_x.txt", published="2024-11-13", period_start="2024-10-01",
                  period_end="2024-10-31", place="Dandong", kind="outflow", value="4000", unit="workers",
                  confidence="medium", quote="q")
    with pytest.raises(InputError, match="column statement: the ledger has no such column"):
        append_report(path, **fields, statement="dandong")
    assert path.read_text() == ",".join(REPORT_COLUMNS) + "\n"
    assert append_report(path, **fields).outlet == ""
    assert append_report(tmp_path / "new.csv", create=True, **fields, outlet="Daily NK").origin == "Daily NK"


ADD = ["reports", "add", "--id", "dandong-dec-2024", "--source", "000_d47c0a86e59b55df.txt", "--published",
       "2024-12-20", "--period-start", "2024-12-01", "--period-end", "2024-12-15", "--place", "Dandong-Sinuiju",
       "--kind", "outflow", "--value", "1000", "--unit", "workers", "--confidence", "low", "--quote", "about 1,000"]
ADDED = ["dandong-dec-2024", "000_d47c0a86e59b55df.txt", "2024-12-20", "2024-12-01", "2024-12-15", "Dandong-Sinuiju",
         "outflow", "1000", "", "", "workers", "low", "about 1,000"]
"""The row ADD appends, cell by cell, up to its quote."""


def test_reports_add_fills_the_statement_and_outlet_columns(tmp_path, capsys):
    from labor_stocks.cli import main

    path = tmp_path / "reports.csv"
    path.write_bytes(Path("calibration/reports.csv").read_bytes())
    assert main([*ADD, "--file", str(path), "--statement", "dandong-exodus-2024", "--outlet", "Daily NK, Seoul"]) == 0
    assert capsys.readouterr().out == f"added report dandong-dec-2024 to {path}\n"
    added = load_reports(path)[-1]
    assert (added.id, added.statement, added.outlet, added.origin) == \
        ("dandong-dec-2024", "dandong-exodus-2024", "Daily NK, Seoul", "Daily NK, Seoul")
    assert path.read_text().endswith(',"about 1,000",,dandong-exodus-2024,"Daily NK, Seoul"\n')


@pytest.mark.parametrize("option, value", [("--statement", "Dandong exodus!"), ("--statement", "x" * 10),
                                           ("--statement", "-leading-dash"), ("--outlet", "x" * 61),
                                           ("--outlet", "x" * 60), ("--outlet", "Daily\tNK"), ("--outlet", "RFA")])
def test_reports_add_accepts_a_statement_or_outlet_exactly_when_reports_check_does(tmp_path, capsys, option, value):
    """The same row, added by `reports add` or written into the file and checked: the same verdict, the same line."""
    import csv
    import io

    from labor_stocks.cli import main

    shipped = Path("calibration/reports.csv").read_bytes()
    added, written = tmp_path / "added.csv", tmp_path / "written.csv"
    added.write_bytes(shipped)
    cells = {"--statement": "", "--outlet": "", option: value}
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(
        [*ADDED, "", cells["--statement"], cells["--outlet"]])
    written.write_bytes(shipped + line.getvalue().encode("utf-8"))
    checked = main(["reports", "check", str(written)])
    check_err = capsys.readouterr().err
    code = main([*ADD, "--file", str(added), f"{option}={value}"])  # = lets a value start with a dash
    add_err = capsys.readouterr().err
    assert code == checked
    if code:
        assert code == 2 and add_err.count("\n") == 1 and "Traceback" not in add_err
        assert add_err.replace(str(added), "LEDGER") == check_err.replace(str(written), "LEDGER")
        assert f"column {option[2:]}: bad {option[2:]}" in add_err
        assert added.read_bytes() == shipped
    else:
        assert getattr(load_reports(added)[-1], option[2:]) == value


def test_reports_add_refuses_an_outlet_for_a_ledger_without_the_column_and_create_adds_it(tmp_path, capsys):
    from labor_stocks.cli import main

    old = tmp_path / "old.csv"
    old.write_text(",".join(REPORT_COLUMNS) + "\n")
    assert main([*ADD, "--file", str(old), "--outlet", "Daily NK"]) == 2
    assert "column outlet: the ledger has no such column; add outlet to its header" in capsys.readouterr().err
    assert old.read_text() == ",".join(REPORT_COLUMNS) + "\n"
    new = tmp_path / "new.csv"
    assert main([*ADD, "--file", str(new), "--create", "--statement", "dandong-exodus-2024", "--outlet", "RFA"]) == 0
    assert new.read_text().splitlines()[0] == ",".join(REPORT_COLUMNS) + ",statement,outlet"
    assert (load_reports(new)[0].statement, load_reports(new)[0].origin) == ("dandong-exodus-2024", "RFA")


def test_the_shipped_dandong_rows_are_one_statement_and_every_row_names_its_outlet():
    reports = load_reports("calibration/reports.csv")
    dandong = {r.id for r in reports if r.statement == "dandong-exodus-2024"}
    assert dandong == {"dandong-oct-2024", "dandong-nov-2024", "dandong-daily-nov-2024", "dandong-two-months-2024"}
    assert {r.origin for r in reports} == {"Daily NK", "Asia Economy", "RFA", "UN Panel of Experts"}
    assert {r.source[:3] for r in reports if r.outlet == "Daily NK"} == {"000", "002", "004"}


# --- statements and outlets in the distance -------------------------------------------------

def test_a_statements_rows_count_once_in_the_distance():
    day = dt.date(2024, 10, 1)
    rows = [row(f"r{i}", "Dandong", "outflow", day, day, 4000, statement="exodus") for i in range(4)]
    restated, separate = observations(ledger(*rows)), observations(ledger(*(r.replace(",exodus,", ",,") for r in rows)))
    simulated = {f"r{i}": 3000.0 for i in range(4)}
    one = abs(restated[0].z(3000.0))
    assert math.isclose(distance(restated, simulated), one)  # four restatements weigh as one report
    assert math.isclose(distance(separate, simulated), 2 * one)  # four independent reports: sqrt(4) as far
    simulated["r3"] = 4000.0  # a statement's rows that disagree: the mean of their z^2
    terms = statement_terms(restated, simulated)
    assert list(terms) == ["exodus"] and math.isclose(terms["exodus"], 3 * one ** 2 / 4)


def test_an_outlets_bias_and_accuracy_enter_z():
    (o,) = observations(ledger(row("r1", "China", "stock", START, START, 1500, "medium", "Biased")))
    truth = 1000.0
    assert o.z(truth) < 0
    assert math.isclose(o.z(truth, Outlet(bias=math.log(1510 / 1010))), 0.0, abs_tol=1e-12)
    assert math.isclose(o.z(truth, Outlet(accuracy=2.0)), o.z(truth) / 2)
    assert math.isclose(o.z(truth), (math.log(1010) - math.log(1510)) / SIGMA["medium"])


def test_a_wider_accuracy_pays_its_price_in_the_distance():
    observed = observations(ledger(row("r1", "China", "stock", START, START, 1000, "medium", "A")))
    exact = {"r1": 1000.0}
    # On target, a wider accuracy only costs (2 log a); the floor keeps the distance at or above zero.
    assert distance(observed, exact, {"A": Outlet(accuracy=0.5)}, 0.5) == 0.0
    assert distance(observed, exact, {"A": Outlet(accuracy=2.0)}, 0.5) > distance(observed, exact,
                                                                                  {"A": Outlet(accuracy=1.0)}, 0.5)


# --- priors naming outlets and event fields -------------------------------------------------

def write_priors(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "priors.toml"
    path.write_text(text)
    return path


OUTLETS = ('[outlets]\nbias = { distribution = "normal", low = -0.5, high = 0.5 }\n'
           'accuracy = { distribution = "loguniform", low = 0.5, high = 2.0 }\nreference = ["B"]\nreason = "r"\n')


def test_the_outlets_prior_goes_to_every_outlet_of_the_reports_but_the_reference():
    priors = load_priors("calibration/priors.toml")
    fitted = {p.name: p for p in for_reports(priors, load_reports("calibration/reports.csv"))}
    assert "outlet.Daily NK.bias" in fitted and "outlet.RFA.accuracy" in fitted
    assert not [name for name in fitted if "UN Panel" in name or name.startswith("outlets.")]
    bias = fitted["outlet.Daily NK.bias"]
    assert bias.distribution == "normal" and bias.mean == 0 and math.isclose(bias.quantile(0.95), bias.high)


def test_a_reference_outlet_is_taken_at_its_word_and_one_no_report_comes_from_changes_nothing(tmp_path):
    priors = load_priors(write_priors(tmp_path, '[compliance]\ndistribution = "uniform"\nlow = 0.2\nhigh = 1\n'
                                                'reason = "r"\n' + OUTLETS))
    both = ledger(row("r1", "China", "stock", START, START, 10, outlet="A"),
                  row("r2", "China", "stock", START, START, 10, outlet="B"))
    assert [p.name for p in for_reports(priors, both)] == ["compliance", "outlet.A.bias", "outlet.A.accuracy"]
    assert [p.name for p in for_reports(priors, both[:1])] == ["compliance", "outlet.A.bias", "outlet.A.accuracy"]


@pytest.mark.parametrize("text, message", [
    ('[event.x.date]\nearliest = 2020-03-01\nlatest = 2020-01-01\nreason = "r"', "event.x.date: earliest"),
    ('[event.x.date]\nearliest = 2020-01-01\nlatest = "soon"\nreason = "r"',
     r"event.x.date.latest: not a date \(YYYY-MM-DD\): 'soon'"),
    ('[event.x.date]\nlatest = 2020-01-01\nreason = "r"', r"event.x.date.earliest: missing"),
    ('[event.x.level]\ndistribution = "uniform"\nlow = 0.2\nhigh = 0.9', r"event.x.level.reason"),
    ('["event.x.date"]\nearliest = 2020-01-01\nlatest = 2020-02-01\nreason = "r"', r"\[event.ID.FIELD\]"),
    ('[outlets]\nbias = { distribution = "normal", low = -1, high = 1 }\nreason = "r"', "outlets.accuracy: missing"),
    ('[outlets]\nbias = { distribution = "normal", low = -1, high = 1 }\n'
     'accuracy = { distribution = "uniform", low = 0, high = 2 }\nreason = "r"', "outlets.accuracy: low must be above 0"),
])
def test_bad_event_and_outlet_priors_name_the_key(tmp_path, text, message):
    path = write_priors(tmp_path, text)
    with pytest.raises(InputError, match=message) as error:
        load_priors(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


CLOSURE = {"type": "border", "crossing": "all", "status": "closed", "id": "closure"}


def test_an_event_prior_must_name_an_event_and_stay_in_its_domain(tmp_path):
    events = [parse_event({**CLOSURE, "date": dt.date(2017, 5, 1)}, "t"),
              parse_event({"type": "enforcement", "date": dt.date(2017, 2, 1), "province": "Liaoning", "level": 0.5,
                           "id": "liaoning"}, "t")]
    good = load_priors(write_priors(tmp_path, '[event.closure.date]\nearliest = 2017-02-01\nlatest = 2017-08-31\n'
                                              'reason = "r"\n[event.liaoning.level]\ndistribution = "uniform"\n'
                                              'low = 0.2\nhigh = 0.9\nreason = "r"\n'))
    check_event_priors(good, events)
    with pytest.raises(InputError, match="no event of the history has the id 'closure'"):
        check_event_priors(good, events[1:])
    wide = load_priors(write_priors(tmp_path, '[event.liaoning.level]\ndistribution = "uniform"\nlow = 0.2\n'
                                              'high = 1.5\nreason = "r"\n'))
    with pytest.raises(InputError, match=r"event.liaoning.level.*level"):
        check_event_priors(wide, events)


# --- posteriors with event and outlet columns -------------------------------------------------

def test_the_committed_posterior_loads_with_its_outlets():
    posterior = load_posterior("calibration/posterior.csv")
    assert len(posterior.particles) > 1
    assert set(posterior_outlets(posterior)) == {"Daily NK", "Asia Economy", "RFA"}  # the UN panel is the reference


def test_a_posteriors_event_value_replaces_the_range_draw_and_its_outlets_stay_out_of_the_model(tmp_path):
    path = tmp_path / "posterior.csv"
    path.write_text("weight,initial_stock,event.closure.date,outlet.Daily NK.bias,outlet.Daily NK.accuracy\n"
                    "1,40000,2017-03-10,0.2,1.5\n")
    posterior = load_posterior(path)
    ranged = parse_event({**CLOSURE, "date": {"earliest": dt.date(2017, 2, 1), "latest": dt.date(2017, 8, 31)}}, "t")
    other = parse_event({"type": "enforcement", "date": {"earliest": dt.date(2017, 2, 1),
                                                         "latest": dt.date(2017, 8, 31)}, "province": "all",
                         "level": 0.5}, "t")
    scenario = Scenario(name="s", description="", start=START, end=dt.date(2017, 6, 30), replicates=1, seed=0,
                        output_freq="day", parameters={"scale": 50}, events=(ranged, other))
    plan = replicate(scenario, 0, 5, posterior.draw(0, 0), str(path))
    assert plan.params.initial_stock == 40000 and plan.event_values == {"closure": {"date": dt.date(2017, 3, 10)}}
    daily = run_replicate(scenario, plan).value
    assert daily["outflow"]["China"][(dt.date(2017, 3, 10) - START).days:].sum() == 0  # closed on the particle's day
    assert posterior_outlets(posterior)["Daily NK"] == Outlet(0.2, 1.5)
    assert posterior.summary().set_index("parameter").loc["event.closure.date", "median"] == "2017-03-10"
    unknown = dataclasses.replace(scenario, events=(other,))
    with pytest.raises(InputError, match="event.closure.date: no event has the id 'closure'"):
        replicate(unknown, 0, 5, posterior.draw(0, 0), str(path))


@pytest.mark.parametrize("header, value, message", [
    ("event.closure.date", "soon", "not a date"),
    ("outlet.A.accuracy", "-1", "not a positive number"),
    ("outlet.A.colour", "1", "not a parameter of the model, an event field"),
])
def test_a_bad_event_or_outlet_column_of_a_posterior_is_one_line(tmp_path, header, value, message):
    path = tmp_path / "posterior.csv"
    path.write_text(f"weight,{header}\n1,{value}\n")
    with pytest.raises(InputError, match=message):
        load_posterior(path)


MARCH_FIRST = dt.date(2020, 3, 1)


@pytest.mark.parametrize("value", [MARCH_FIRST, dt.datetime(2020, 3, 1, 12), "2020-03-01", " 2020-03-01 ",
                                   MARCH_FIRST.toordinal(), MARCH_FIRST.toordinal() + 0.7,
                                   np.float64(MARCH_FIRST.toordinal())])
def test_a_posterior_event_date_is_a_scenarios_date_or_a_day_number(value):
    assert event_day(value, "posterior.csv: row 1, column event.x.date") == MARCH_FIRST


@pytest.mark.parametrize("value", ["soon", "2020-02-30", True, math.nan, 0, None])
def test_a_bad_posterior_event_date_has_the_scenarios_message(value):
    where = "posterior.csv: row 1, column event.x.date"
    with pytest.raises(InputError) as error:
        event_day(value, where)
    assert str(error.value) == f"{where}: not a date (YYYY-MM-DD): {value!r}"
    with pytest.raises(InputError) as scenario_error:
        parse_date(value, where)
    assert str(scenario_error.value) == str(error.value)


def test_the_fit_shows_each_outlets_estimate():
    reports = ledger(row("r1", "China", "stock", START, START, 1000, outlet="A"),
                     row("r2", "China", "stock", START, START, 1000, outlet="A", statement="s"),
                     row("r3", "China", "stock", START, START, 1000, outlet="A", statement="s"),
                     row("r4", "China", "stock", START, START, 1000, outlet="B"))
    posterior = Posterior("p.csv", ({"outlet.A.bias": 0.1, "outlet.A.accuracy": 1.2},
                                    {"outlet.A.bias": 0.3, "outlet.A.accuracy": 0.8}), np.array([0.25, 0.75]))
    table = outlet_table(reports, posterior).set_index("outlet")
    assert table.loc["A", "reports"] == 3 and table.loc["A", "statements"] == 2 and table.loc["A", "estimated"]
    assert table.loc["A", "bias_median"] == 0.3 and math.isclose(table.loc["A", "factor_median"], math.exp(0.3))
    assert not table.loc["B", "estimated"] and table.loc["B", "accuracy_median"] == 1.0


# --- proof on synthetic data (seeded, small budgets) ------------------------------------------

def months(count: int):
    for m in range(1, count + 1):
        yield dt.date(2017, m, 1), dt.date(2017 + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)


@pytest.mark.slow
def test_a_ranged_date_named_in_the_priors_is_learned_from_synthetic_reports(tmp_path):
    truth = dt.date(2017, 4, 20)
    ranged = parse_event({**CLOSURE, "date": {"earliest": dt.date(2017, 2, 1), "latest": dt.date(2017, 8, 31)}}, "t")
    fixed = parse_event({**CLOSURE, "date": truth}, "t")
    daily = simulate(with_overrides({"scale": 50}), [fixed], dt.date(2017, 8, 31), 11, crossings=True)
    outflow = daily["outflow"]["China"]
    reports = ledger(*(row(f"outflow-{a:%m}", "China", "outflow", a, b, outflow[(a - START).days:(b - START).days + 1]
                           .sum()) for a, b in months(8)))
    priors = load_priors(write_priors(tmp_path, '[event.closure.date]\nearliest = 2017-02-01\nlatest = 2017-08-31\n'
                                                'reason = "when did the border close?"\n'))
    np.random.seed(13)
    result = calibrate(reports, priors, tmp_path / "c.db", population=25, generations=3, scale=50, events=[ranged])
    q = weighted_quantiles(result.particles["event.closure.date"].to_numpy(), result.weights, (0.05, 0.5, 0.95))
    days = {k: dt.date.fromordinal(int(v)) for k, v in q.items()}
    assert abs((days[0.5] - truth).days) <= 20, days
    assert (days[0.95] - days[0.05]).days < (dt.date(2017, 8, 31) - dt.date(2017, 2, 1)).days / 2, days


@pytest.mark.slow
def test_a_biased_outlet_and_the_true_parameters_are_recovered_from_synthetic_reports(tmp_path):
    """A benchmark outlet reports China's stock as it is; another reports the provinces' 1.5 times too high."""
    truth, factor = 60_000, 1.5
    daily = simulate(with_overrides({"scale": 50, "initial_stock": truth}), [], dt.date(2017, 6, 30), 11)
    rows = []
    for day in (dt.date(2017, 2, 28), dt.date(2017, 3, 31), dt.date(2017, 5, 31), dt.date(2017, 6, 30)):
        i = (day - START).days
        rows.append(row(f"china-{day:%m}", "China", "stock", day, day, daily["stock"]["China"][i], "high", "Benchmark"))
        rows += [row(f"{place.lower()}-{day:%m}", place, "stock", day, day, factor * daily["stock"][place][i],
                     "medium", "Biased") for place in ("Liaoning", "Jilin")]
    priors = load_priors(write_priors(tmp_path, '[initial_stock]\ndistribution = "uniform"\nlow = 30000\n'
                                                'high = 120000\nreason = "r"\n' + OUTLETS.replace('"B"',
                                                                                                '"Benchmark"')))
    np.random.seed(2013)
    result = calibrate(ledger(*rows), priors, tmp_path / "c.db", population=30, generations=5, scale=50, events=[])
    at = {name: weighted_quantiles(result.particles[name].to_numpy(), result.weights, (0.05, 0.95))
          for name in ("initial_stock", "outlet.Biased.bias")}
    assert at["initial_stock"][0.05] <= truth <= at["initial_stock"][0.95], at
    assert at["outlet.Biased.bias"][0.05] <= math.log(factor) <= at["outlet.Biased.bias"][0.95], at
    assert at["outlet.Biased.bias"][0.05] > 0, at  # the bias is found, not only allowed

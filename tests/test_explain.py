"""`labor-stocks explain` against answers known in advance, on a small world (4,000 workers, 2017 alone).

The world: a posterior over `initial_stock` (3,000 to 6,000 workers, weighted by a report of
China's stock in June 2017) and `defection_base_rate`; a scenario whose one event of its own
is a dispatch of uncertain size (50 to 800) to Shanghai, in the province Other, on 1 June
2017; three reports: China's stock in mid-2017 (the one that informs `initial_stock`), a bound
on defections, and a bound on arrivals that no particle can miss. What must come out:

- before the dispatch, and in Jilin where it does not go, the dispatch's total index is
  (near) zero; in Other at the end of 2017 it is the input that matters most;
- at the end of March 2017 the stock is the starting stock less a few weeks of departures:
  `initial_stock` alone sets it (indices near one);
- the stock report moves the projection most when left out; the bound that nothing misses
  moves nothing.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from labor_stocks.calibration.priors import load_priors
from labor_stocks.calibration.reports import load_reports
from labor_stocks.cli import main
from labor_stocks.ensemble.posterior import load_posterior
from labor_stocks.files import carries_mark
from labor_stocks.outputs.explain import explain
from labor_stocks.outputs.explain_folder import EXPLAIN_FILES
from labor_stocks.outputs.run import run_scenario
from labor_stocks.outputs.run_folder import RUN_FILES
from labor_stocks.scenarios.scenario import load_scenario

MARCH, DECEMBER = dt.date(2017, 3, 31), dt.date(2017, 12, 31)
DISPATCH = "dispatch@2017-06-01.size"
SCENARIO = """name = "small"
start = 2017-01-01
end = 2017-12-31
seed = 3

[[events]]
type = "dispatch"
date = 2017-06-01
destination = "Shanghai"
size = { low = 50, high = 800 }
note = "a wave of uncertain size to Shanghai"
"""
REPORTS = """id,source,published,period_start,period_end,place,kind,value,low,high,unit,confidence,quote,notes
china-stock-mid-2017,test,2017-07-01,2017-06-30,2017-06-30,China,stock,4500,,,workers,high,"about 4,500 workers",
china-defections-2017,test,2018-01-01,2017-01-01,2017-12-31,China,defections,,1,,workers,low,"some defected",
china-inflow-bound,test,2018-01-01,2017-01-01,2017-12-31,China,inflow,,,1000000,workers,low,"not a million arrived",
"""
PRIORS = """[initial_stock]
distribution = "uniform"
low = 3000
high = 6000
reason = "a small world for tests"

[defection_base_rate]
distribution = "loguniform"
low = 0.0001
high = 0.005
reason = "as the shipped prior"
"""


def write_world(folder):
    """The scenario, reports, priors and a posterior weighted by the stock report, in `folder`."""
    (folder / "scenarios").mkdir()
    (folder / "calibration").mkdir()
    (folder / "scenarios" / "small.toml").write_text(SCENARIO)
    (folder / "calibration" / "reports.csv").write_text(REPORTS)
    (folder / "calibration" / "priors.toml").write_text(PRIORS)
    rng = np.random.default_rng(1)
    stock = rng.uniform(3000, 6000, 80).round()
    rate = np.exp(rng.uniform(np.log(1e-4), np.log(5e-3), 80))
    weight = np.exp(-0.5 * (np.log((stock + 10) / 4510) / np.log(1.15)) ** 2)
    pd.DataFrame({"weight": weight, "initial_stock": stock, "defection_base_rate": rate}).to_csv(
        folder / "calibration" / "posterior.csv", index=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explain")
    write_world(folder)
    return folder


@pytest.fixture(scope="module")
def explained(world):
    return explain(load_scenario(world / "scenarios" / "small.toml"), world / "outputs" / "small" / "explain",
                   at=[MARCH, DECEMBER], places=["China", "Jilin", "Other"], samples=32,
                   posterior=load_posterior(world / "calibration" / "posterior.csv"), posterior_name="test posterior",
                   reports=load_reports(world / "calibration" / "reports.csv"), particles=40, jobs=1)


def index(result, place, date, name):
    table = result.sensitivity
    return table[(table.place == place) & (table.date == date.isoformat()) & (table.input == name)].iloc[0]


def test_an_input_that_cannot_affect_a_place_gets_a_total_index_near_zero(explained):
    for place in ("China", "Jilin", "Other"):
        before = index(explained, place, MARCH, DISPATCH)
        assert before.ST == 0 and before.S1 == 0, f"the dispatch of June moved {place}'s stock in March"
    assert index(explained, "Jilin", DECEMBER, DISPATCH).ST < 0.05  # the workers go to Shanghai, not Jilin
    other = explained.sensitivity[(explained.sensitivity.place == "Other")
                                  & (explained.sensitivity.date == DECEMBER.isoformat())]
    assert other.iloc[0].input == DISPATCH and other.iloc[0].ST > 0.5


def test_the_input_that_alone_sets_a_stock_gets_an_index_near_one(explained):
    alone = index(explained, "China", MARCH, "initial_stock")
    assert 0.8 < alone.S1 < 1.25 and 0.8 < alone.ST < 1.25
    for name in ("defection_base_rate", "chance", DISPATCH):
        assert index(explained, "China", MARCH, name).ST < 0.05


def test_the_report_that_alone_informs_a_parameter_moves_what_it_drives_most(explained):
    table = explained.influence
    for place in ("China", "Jilin", "Other"):
        rows = table[(table.place == place) & (table.date == MARCH.isoformat())]
        assert rows.iloc[0].report == "china-stock-mid-2017" and rows.iloc[0]["rank"] == 1
        assert rows.iloc[0].influence > 10 * rows.iloc[1].influence
    untouched = table[table.report == "china-inflow-bound"]
    assert (untouched.influence == 0).all() and (untouched.ess_share == 1).all()


def test_the_folder_holds_the_tables_the_figure_and_the_record(explained):
    out = explained.out
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPLAIN_FILES)
    assert carries_mark(out / "explain.png", "explain") and carries_mark(out / "explain.svg", "explain")
    record = json.loads((out / "explain.json").read_text())
    assert record["runs"] == {"sensitivity": 32 * (4 + 2), "influence": 40} and record["scale"] == 10
    inputs = pd.read_csv(out / "inputs.csv")
    assert list(inputs.input) == ["initial_stock", "defection_base_rate", DISPATCH, "chance"]
    assert inputs.drawn_from[0].startswith("posterior marginal")
    assert list(pd.read_csv(out / "correlations.csv").parameter) == ["initial_stock", "defection_base_rate"]


def test_a_run_keeps_the_explain_folder_inside_its_own(explained, world):
    before = {name: (explained.out / name).read_bytes() for name in EXPLAIN_FILES}
    run_scenario(load_scenario(world / "scenarios" / "small.toml"), world / "outputs" / "small", replicates=1)
    assert {name: (explained.out / name).read_bytes() for name in EXPLAIN_FILES} == before
    assert (world / "outputs" / "small" / "projection.csv").is_file()


def test_run_then_explain_then_run_again_keeps_explain_and_refuses_a_foreign_file_in_it(world, monkeypatch, capsys):
    """The commands as a user types them: explain writes into the run folder, a second run keeps it."""
    monkeypatch.chdir(world)
    (world / "scenarios" / "kept.toml").write_text(SCENARIO.replace('name = "small"', 'name = "kept"'))
    run = ["run", "scenarios/kept.toml", "--replicates", "2", "--jobs", "1", "--quiet"]
    assert main(run) == 0
    assert main(["explain", "scenarios/kept.toml", "--at", "2017-12-31", "--places", "China", "--samples", "2",
                 "--particles", "4", "--jobs", "1", "--quiet"]) == 0
    folder = world / "outputs" / "kept"
    explained = {name: (folder / "explain" / name).read_bytes() for name in EXPLAIN_FILES}
    first_run = (folder / "run.json").read_bytes()
    capsys.readouterr()
    assert main([*run, "--seed", "9"]) == 0, capsys.readouterr().err
    assert (folder / "run.json").read_bytes() != first_run, "the run folder was replaced"
    assert {name: (folder / "explain" / name).read_bytes() for name in EXPLAIN_FILES} == explained
    assert sorted(p.name for p in folder.iterdir()) == sorted([*RUN_FILES, "explain"])
    (folder / "explain" / "notes.txt").write_text("my reading of the indices")
    before = (folder / "run.json").read_bytes()
    assert main([*run, "--force"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "outputs/kept is not a run folder (explain/notes.txt in the way)" in err, err
    assert (folder / "explain" / "notes.txt").read_text() == "my reading of the indices"
    assert (folder / "run.json").read_bytes() == before


def test_the_same_seed_gives_the_same_sensitivity_whatever_the_processes(world, monkeypatch):
    monkeypatch.chdir(world)
    common = ["explain", "scenarios/small.toml", "--at", "2017-12-31", "--places", "Other", "Jilin", "--samples", "4",
              "--particles", "6", "--prior", "--priors", "calibration/priors.toml", "--quiet"]
    assert main([*common, "--jobs", "1", "--out", "outputs/one"]) == 0
    assert main([*common, "--jobs", "2", "--out", "outputs/two"]) == 0
    for name in ("sensitivity.csv", "influence.csv", "inputs.csv"):
        assert (world / "outputs/one" / name).read_bytes() == (world / "outputs/two" / name).read_bytes()
    assert pd.read_csv(world / "outputs/one/inputs.csv").drawn_from[0] == "prior uniform 3000 to 6000"


@pytest.mark.parametrize("arguments, message", [
    (["--places", "Pyongyang"], "--places: unknown place 'Pyongyang'"),
    (["--at", "2018-03-01"], "--at: 2018-03-01 is outside the run (2017-01-01 to 2017-12-31)"),
    (["--samples", "0"], "argument --samples: must be at least 1, got 0"),
    (["--jobs", "1", "--scheduler", "tcp://127.0.0.1:1"], "--jobs and --scheduler: give one of them"),
    (["--posterior", "none"], "no posterior to draw the calibrated parameters from"),
])
def test_bad_input_is_one_line_and_exit_2(world, monkeypatch, capsys, arguments, message):
    monkeypatch.chdir(world)
    assert main(["explain", "scenarios/small.toml", "--out", "outputs/bad", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (world / "outputs" / "bad").exists()


def test_a_folder_holding_other_files_is_refused_before_any_run(world, monkeypatch, capsys):
    monkeypatch.chdir(world)
    (world / "mine").mkdir()
    (world / "mine" / "notes.txt").write_text("mine")
    assert main(["explain", "scenarios/small.toml", "--out", "mine"]) == 2
    assert "not an explain folder (notes.txt in the way)" in capsys.readouterr().err
    assert [p.name for p in (world / "mine").iterdir()] == ["notes.txt"]


def test_the_outlets_bias_and_accuracy_are_no_input_of_a_projection():
    """They weigh the reports and never reach the model: explaining a projection by them would spend runs on nothing."""
    from labor_stocks.ensemble.posterior import Posterior
    from labor_stocks.outputs.sensitivity import posterior_inputs, prior_inputs

    posterior = Posterior("p", ({"initial_stock": 50_000.0, "outlet.RFA.bias": 0.1, "outlet.RFA.accuracy": 1.2},
                                {"initial_stock": 70_000.0, "outlet.RFA.bias": -0.1, "outlet.RFA.accuracy": 0.9}),
                          np.array([0.5, 0.5]))
    assert [i.name for i in posterior_inputs(posterior)] == ["initial_stock"]
    names = [i.name for i in prior_inputs(load_priors("calibration/priors.toml"))]
    assert "initial_stock" in names and not any(n.startswith(("outlet", "event.")) for n in names)

"""Calibration and fit inputs are never dropped in silence, and every mistake is one line, exit 2.

A report the model cannot simulate, a scale that leaves no agent, priors wider than a
parameter's domain, a posterior with a bad row that is never drawn, a damaged calibration
database, a negative seed: each is refused before the first simulation, naming the file, the
key, the row or the report, and nothing is written. The fit names the posterior it drew from,
and its draw i is an ensemble's replicate i.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from labor_stocks.calibration.calibrate import Calibration
from labor_stocks.calibration.fit import fit_table
from labor_stocks.calibration.observation import observations, reports_scenario
from labor_stocks.calibration.priors import check_scale, load_priors
from labor_stocks.calibration.reports import REPORT_COLUMNS, load_reports, parse_reports
from labor_stocks.cli import main
from labor_stocks.ensemble.plan import plan_replicates
from labor_stocks.ensemble.posterior import load_posterior
from labor_stocks.errors import InputError
from labor_stocks.scenarios.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
HEADER = ",".join(REPORT_COLUMNS)
TINY_LEDGER = (f"{HEADER}\n"
               'china-march-2017,000_x.txt,2017-04-01,2017-03-31,2017-03-31,China,stock,4000,,,workers,medium,"about 4000",\n'
               'dandong-feb-2017,000_x.txt,2017-04-01,2017-02-01,2017-02-28,Dandong,outflow,,,50,workers,low,"a few",\n')
TINY_PRIORS = ('[initial_stock]\ndistribution = "uniform"\nlow = 3000\nhigh = 5000\nreason = "test"\n'
               '[compliance]\ndistribution = "uniform"\nlow = 0.2\nhigh = 1.0\nreason = "test"\n')
OLD_ROW = 'old-2016,000_x.txt,2017-02-01,2016-12-01,2016-12-31,Dandong,outflow,100,,,workers,medium,"q",\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a tiny ledger and priors (the simulations run to 2017-03-31), as the cwd."""
    (tmp_path / "calibration").mkdir()
    (tmp_path / "calibration" / "reports.csv").write_text(TINY_LEDGER, encoding="utf-8")
    (tmp_path / "calibration" / "priors.toml").write_text(TINY_PRIORS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line(code: int, err: str, *words: str) -> None:
    assert code == 2 and err.count("\n") == 1 and err.startswith("labor-stocks: error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- reports the model cannot simulate -------------------------------------------------------

def test_the_ledger_refuses_a_report_from_before_the_models_first_day(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "old.csv").write_text(TINY_LEDGER + OLD_ROW, encoding="utf-8")
    for command in (["reports", "check", "old.csv"], ["fit", "--reports", "old.csv", "--draws", "1", "--jobs", "1"],
                    ["calibrate", "--reports", "old.csv", "--population", "2", "--generations", "1"]):
        code, _, err = cli(command, capsys)
        assert_one_line(code, err, "old.csv: row 3 (line 4), column period_start", "2016-12-01", "2017-01-01")
    assert sorted(p.name for p in (project / "calibration").iterdir()) == ["priors.toml", "reports.csv"]


def test_the_observation_model_refuses_a_report_from_before_the_first_day_by_id() -> None:
    """Reports made in Python bypass the ledger's check: the observation path names them, even alone."""
    good = parse_reports(TINY_LEDGER, "tiny.csv")
    old = dataclasses.replace(good[1], id="before-2017", period_start=dt.date(2016, 12, 1))
    for reports in ([*good, old], [old]):
        with pytest.raises(InputError, match="report before-2017: its period starts on 2016-12-01, before"):
            observations(reports)
        with pytest.raises(InputError, match="report before-2017"):
            fit_table(reports, None, draws=1)
    with pytest.raises(InputError, match="no reports"):
        fit_table([], None, draws=1)


# --- the scale ---------------------------------------------------------------------------------

def test_a_scale_that_leaves_a_factory_or_the_stock_without_an_agent_is_refused_before_any_simulation(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = tree(project)
    code, _, err = cli(["calibrate", "--scale", "1000000", "--population", "2", "--generations", "1"], capsys)
    assert_one_line(code, err, "--scale: one agent per 1,000,000 workers", "median size (150 workers",
                    "use at most 150")
    assert tree(project) == before, "no database, no posterior"
    priors = load_priors(project / "calibration" / "priors.toml")
    check_scale(150, priors)
    with pytest.raises(InputError, match="starting stock"):
        check_scale(150, [dataclasses.replace(priors[0], low=100.0)])


# --- priors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, low, high, key", [
    ("compliance", 0.2, 1.5, "key compliance.high: 1.5 is outside the parameter's domain (must be at most 1"),
    ("demand_growth", -0.1, 0.05, "key demand_growth.low: -0.1 is outside the parameter's domain"),
    ("team_size", 0.2, 30, "key team_size.low: 0.2 is outside the parameter's domain (must be positive"),
    ("initial_stock", 1000, 5e6, "key initial_stock.high"),
])
def test_priors_wider_than_a_parameters_domain_are_refused_when_read(
        project: Path, capsys: pytest.CaptureFixture[str], name: str, low: float, high: float, key: str) -> None:
    path = project / "wide.toml"
    path.write_text(f'[{name}]\ndistribution = "uniform"\nlow = {low}\nhigh = {high}\nreason = "x"\n', encoding="utf-8")
    with pytest.raises(InputError) as error:
        load_priors(path)
    assert str(error.value).startswith(f"{path}: {key}"), error.value
    before = tree(project)
    code, _, err = cli(["calibrate", "--priors", str(path), "--population", "2", "--generations", "1"], capsys)
    assert_one_line(code, err, str(path), key)
    assert tree(project) == before, "no database left behind"


def test_the_scale_is_not_a_prior(project: Path) -> None:
    path = project / "scale.toml"
    path.write_text('[scale]\ndistribution = "uniform"\nlow = 1\nhigh = 10\nreason = "x"\n', encoding="utf-8")
    with pytest.raises(InputError, match="key scale: the workers per agent are not calibrated"):
        load_priors(path)


# --- the posterior file ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("weight,compliance\n1,0.5\n0,1.5\n", "row 2: key compliance: must be at most 1, got 1.5"),
    ("weight,initial_stock\n1,3000\n0,-5\n", "row 2: key initial_stock: must be positive"),
    ("weight,team_size\n0,0\n1,20\n", "row 1: key team_size: must be positive"),
    ("weight,initial_stock,scale\n1,3000,10\n", "column scale: the workers per agent are not calibrated"),
])
def test_a_posterior_file_is_checked_whole_when_read(
        project: Path, capsys: pytest.CaptureFixture[str], text: str, message: str) -> None:
    """A row of weight zero is never drawn, yet a bad one is refused: the file is wrong."""
    path = project / "posterior.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=f"^{path}: {message}"):
        load_posterior(path)
    code, _, err = cli(["fit", "--posterior", str(path), "--draws", "1", "--jobs", "1"], capsys)
    assert_one_line(code, err, f"{path}: {message}")


# --- the calibration database -----------------------------------------------------------------------

def foreign_database(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE thesis (chapter TEXT)")
        connection.execute("INSERT INTO thesis VALUES ('one')")
    connection.close()


def truncated_database(path: Path) -> None:
    """The first half of a pyabc database, as a full disk or a copy cut short leaves it."""
    import pyabc

    whole = path.with_name("whole.db")
    pyabc.History(f"sqlite:///{whole}").all_runs()  # pyabc makes its tables
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    whole.unlink()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign"])
@pytest.mark.parametrize("resume", [False, True], ids=["new", "resume"])
def test_calibrate_on_a_damaged_database_is_one_line_and_leaves_the_file_as_it_was(
        project: Path, capsys: pytest.CaptureFixture[str], damage: str, resume: bool) -> None:
    database = project / "calibration" / "calibration.db"
    if damage == "garbage":
        database.write_bytes(b"SQLite format 3\x00" + os.urandom(3000))
    elif damage == "truncated":
        truncated_database(database)
    else:
        foreign_database(database)
    before = tree(project)
    code, _, err = cli(["calibrate", "--population", "2", "--generations", "1", "--jobs", "1",
                        *(["--resume"] if resume else [])], capsys)
    assert_one_line(code, err, f"{Path('calibration/calibration.db')}: ")
    assert tree(project) == before


def test_resume_without_a_database_or_with_other_inputs_is_one_line_before_any_simulation(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(["calibrate", "--population", "2", "--generations", "1", "--resume"], capsys)
    assert_one_line(code, err, "nothing to resume")
    code, _, err = cli(["calibrate", "--database", "calibration", "--population", "2", "--generations", "1"], capsys)
    assert_one_line(code, err, "calibration: a folder, not a calibration database")
    code, _, err = cli(["calibrate", "--database", "nowhere/c.db", "--population", "2", "--generations", "1"], capsys)
    assert_one_line(code, err, "no such folder nowhere")


# --- the command line's numbers -------------------------------------------------------------------

@pytest.mark.parametrize("command", [["simulate", "--seed", "-5"], ["fit", "--seed", "-1"],
                                     ["calibrate", "--seed", "-1"], ["calibrate", "--generations", "10000"],
                                     ["calibrate", "--population", "1"], ["fit", "--draws", "1000000"],
                                     ["calibrate", "--max-minutes", "nan"], ["calibrate", "--max-minutes", "0"]])
def test_a_bad_number_on_the_command_line_is_one_line(
        project: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    code, _, err = cli(command, capsys)
    assert_one_line(code, err, command[1])


@pytest.mark.parametrize("command", [["fit", "--draws", "1"], ["calibrate", "--population", "2", "--generations", "1"]],
                         ids=["fit", "calibrate"])
@pytest.mark.parametrize("content", ["id,x\n", "", "\x00\x01"], ids=["header", "empty", "binary"])
def test_an_invalid_reports_file_given_explicitly_is_an_error(
        project: Path, capsys: pytest.CaptureFixture[str], command: list[str], content: str) -> None:
    (project / "bad.csv").write_text(content, encoding="utf-8")
    code, _, err = cli([*command, "--reports", "calibration/reports.csv", "bad.csv"], capsys)
    assert_one_line(code, err, "bad.csv")


# --- the fit ------------------------------------------------------------------------------------------

def test_the_fit_prints_and_records_the_posterior_it_drew_from(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    posterior = project / "calibration" / "posterior.csv"
    posterior.write_text("weight,initial_stock,compliance\n1,3000,0.5\n1,4000,0.8\n", encoding="utf-8")
    code, _, err = cli(["fit", "--draws", "2", "--jobs", "1", "--out", "fit.csv", "--quiet"], capsys)
    assert code == 0, err
    assert "posterior: calibration/posterior.csv (2 particles)" in err
    table = pd.read_csv(project / "fit.csv")
    assert list(table.posterior) == ["calibration/posterior.csv"] * 2
    code, _, err = cli(["fit", "--draws", "2", "--jobs", "1", "--out", "fit.csv", "--posterior", "none"], capsys)
    assert code == 0 and "posterior: none (default parameters)" in err
    assert list(pd.read_csv(project / "fit.csv").posterior) == ["none (default parameters)"] * 2


def test_the_fits_draw_i_is_an_ensembles_replicate_i(tmp_path: Path) -> None:
    path = tmp_path / "posterior.csv"
    path.write_text("weight,initial_stock\n" + "\n".join(f"1,{1000 + 100 * i}" for i in range(8)) + "\n")
    posterior = load_posterior(path)
    fit = plan_replicates(reports_scenario(parse_reports(TINY_LEDGER, "tiny.csv")), 6, 4, posterior)
    ensemble = plan_replicates(load_scenario(ROOT / "scenarios" / "baseline.toml"), 6, 4, posterior)
    assert [(p.seed, p.drawn) for p in fit] == [(p.seed, p.drawn) for p in ensemble]
    assert [p.params.initial_stock for p in fit] == [p.drawn["initial_stock"] for p in ensemble]


def test_the_fit_gives_the_same_table_in_one_process_or_two(project: Path) -> None:
    reports = load_reports("calibration/reports.csv")
    one = fit_table(reports, None, draws=3, seed=2, jobs=1)
    two = fit_table(reports, None, draws=3, seed=2, jobs=2)
    pd.testing.assert_frame_equal(one, two)


# --- calibration as a library -----------------------------------------------------------------------

@pytest.mark.slow
def test_a_calibration_is_one_library_call_that_writes_posterior_and_fit(project: Path) -> None:
    import numpy as np

    seen: list[str] = []
    calibration = Calibration(load_reports("calibration/reports.csv"), load_priors("calibration/priors.toml"),
                              "calibration", population=4, generations=2, scale=10, draws=2)
    np.random.seed(3)
    outcome = calibration.run(on_generation=lambda t, eps, n: seen.append(f"generation {t}"),
                              on_posterior=lambda result, posterior: seen.append("posterior"),
                              on_fit_draw=lambda done: seen.append("draw"))
    assert seen == ["generation 0", "generation 1", "posterior", *["draw"] * 4]  # the priors' 2 draws, the posterior's 2
    assert outcome.result.generations == 2 and len(outcome.posterior.particles) == 4
    assert list(outcome.fit.id) == ["china-march-2017", "dandong-feb-2017"]
    assert {p.name for p in (project / "calibration").iterdir()} >= {"posterior.csv", "fit.csv", "fit.png",
                                                                      "calibration.db", "identifiability.csv",
                                                                      "outlets.csv"}
    assert set(outcome.identifiability.parameter) == {p.name for p in calibration.priors}


@pytest.mark.slow
def test_a_population_that_collapses_stops_with_its_finished_generations(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyabc fails on a generation whose particles fell onto one point; the finished ones stand."""
    import pyabc

    run, calls = pyabc.ABCSMC.run, []

    def failing_second_time(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise AssertionError("The population total weight nan is not normalized.")
        return run(self, *args, **kwargs)

    monkeypatch.setattr(pyabc.ABCSMC, "run", failing_second_time)
    outcome = Calibration(load_reports("calibration/reports.csv"), load_priors("calibration/priors.toml"),
                          "calibration", population=3, generations=5, draws=1).run()
    assert outcome.result.stopped_by == "collapse" and outcome.result.generations == 1


@pytest.mark.slow
def test_a_calibration_interrupted_during_its_fit_says_the_posterior_is_written(project: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "labor_stocks", "calibrate", "--population", "3", "--generations", "1", "--jobs", "1",
         "--draws", "5000", "--quiet"], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = process.stdout.readline()
        assert line, process.communicate()
        if line.startswith("posterior written to"):
            break
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err, err
    assert err.rstrip().endswith("labor-stocks: interrupted; the posterior is written to calibration/posterior.csv, "
                                 "the fit is not (labor-stocks fit --posterior calibration/posterior.csv makes it)")
    assert (project / "calibration" / "posterior.csv").exists() and not (project / "calibration" / "fit.csv").exists()

"""Calibration with pyabc: a new report moves the fit toward it; runs resume from their database."""

from __future__ import annotations

import re

import numpy as np
import pytest

from labor_stocks.calibration.abc import calibrate
from labor_stocks.calibration.priors import load_priors
from labor_stocks.calibration.reports import REPORT_COLUMNS, load_reports, parse_reports

from .conftest import stored_generations

pytestmark = pytest.mark.slow

SMALL = dict(population=30, generations=3, jobs=1, scale=50)
"""In one process, pyabc draws from numpy's global generator: seeded, the test is repeatable."""


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cumulative, 0.5)])


def contradicting_report():
    """A made-up count far below what the priors allow for 2019, from the reference outlet (taken at its word).

    From the reference outlet, so that no outlet's estimated bias can explain it away: only the
    stock itself can move toward it.
    """
    row = ("census-2019,000_d47c0a86e59b55df.txt,2019-07-01,2019-06-30,2019-06-30,China,stock,20000,,,workers,"
           "high,\"a made-up count, far below the current fit\",test only,,UN Panel of Experts")
    return parse_reports(",".join(REPORT_COLUMNS) + ",statement,outlet\n" + row + "\n", "test.csv")


def test_recalibrating_with_a_contradicting_report_moves_the_model_toward_it(tmp_path):
    reports = load_reports("calibration/reports.csv")
    priors = load_priors("calibration/priors.toml")
    np.random.seed(2024)
    before = calibrate(reports, priors, tmp_path / "before.db", **SMALL)
    np.random.seed(2024)
    after = calibrate(reports + contradicting_report(), priors, tmp_path / "after.db", **SMALL)
    median_before = weighted_median(before.particles["initial_stock"].to_numpy(), before.weights)
    median_after = weighted_median(after.particles["initial_stock"].to_numpy(), after.weights)
    assert after.generations == 3 and after.simulations >= 3 * SMALL["population"]
    reported = 20_000  # the contradicting report's China stock; initial_stock drives it
    assert abs(reported - median_after) < abs(reported - median_before) - 5_000


def test_an_interrupted_calibration_resumes_from_its_last_finished_generation(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    database = tmp_path / "calibration.db"
    command = [sys.executable, "-m", "labor_stocks", "calibrate", "--population", "12", "--jobs", "1", "--scale", "40",
               "--out", str(tmp_path), "--draws", "2", "--quiet"]
    process = subprocess.Popen([*command, "--generations", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=os.getcwd())
    seen = []
    deadline = time.time() + 240
    while time.time() < deadline and not any("generation 2/20" in line for line in seen):
        seen.append(process.stderr.readline())  # --quiet still reports each stored generation
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    stderr = "".join(seen) + rest
    assert process.returncode == 130
    assert "--resume" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "posterior.csv").exists()
    before = stored_generations(database)
    assert 2 <= len(before) < 20

    resumed = subprocess.run([*command, "--generations", str(len(before) + 1), "--resume"], capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    after = stored_generations(database)
    assert len(after) == len(before) + 1
    assert after.iloc[: len(before)][["t", "epsilon", "samples"]].equals(before[["t", "epsilon", "samples"]])
    assert after.epsilon.iloc[-1] <= before.epsilon.iloc[-1]
    # The rate counts this call's simulations only, beside the total with the resumed generations.
    last = resumed.stdout.strip().splitlines()[-1]
    now, total = (int(n) for n in re.fullmatch(r"calibrated at one agent per 40 workers: (\d+) simulations in \d+ s; "
                                                  r"(\d+) with the resumed generations", last).groups())
    assert 0 < now < total
    assert (tmp_path / "posterior.csv").exists() and (tmp_path / "fit.csv").exists()


def test_resume_refuses_a_run_made_with_other_reports(tmp_path):
    from labor_stocks.errors import InputError

    reports = load_reports("calibration/reports.csv")
    priors = load_priors("calibration/priors.toml")
    calibrate(reports, priors, tmp_path / "c.db", population=8, generations=1, jobs=1, scale=50)
    with pytest.raises(InputError, match="other reports"):
        calibrate(reports[:-1], priors, tmp_path / "c.db", population=8, generations=2, jobs=1, scale=50, resume=True)


def test_the_simulation_budget_stops_before_the_next_generation(tmp_path):
    reports = load_reports("calibration/reports.csv")
    priors = load_priors("calibration/priors.toml")
    result = calibrate(reports, priors, tmp_path / "b.db", population=8, generations=5, jobs=1, scale=50,
                       max_simulations=1)
    assert result.generations == 1 and result.stopped_by == "simulations"
    assert len(result.particles) == 8


def invented_yanji_report():
    """What a user adds with `reports add`: arrivals into a Jilin city in a quarter of 2025 (invented)."""
    row = ("yanji-q3-2025,invented-for-test,2025-10-15,2025-07-01,2025-09-30,Yanji,inflow,800,,,workers,medium,"
           "\"about 800 workers arrived in Yanji this summer\",test only,,UN Panel of Experts")
    # From the reference outlet: no outlet bias can explain the figure away, only the dynamics.
    return parse_reports(",".join(REPORT_COLUMNS) + ",statement,outlet\n" + row + "\n", "yanji.csv")


def test_a_new_report_of_arrivals_moves_the_model_toward_it(tmp_path):
    """Arrivals now come out of the dispatch pipeline, so a report of arrivals can be fitted (issue 12).

    As a user would: the ledger plus an invented report of 800 arrivals into Yanji in
    July-September 2025, recalibrated with a small budget; the model's median for that
    report (the fit of each posterior, same seeds) moves toward 800.
    """
    import math

    from labor_stocks.calibration.fit import fit_table
    from labor_stocks.ensemble.posterior import Posterior, integer_safe

    reports = load_reports("calibration/reports.csv")
    yanji = invented_yanji_report()
    # The model's parameters alone: with the outlets' bias and accuracy too, a budget this small
    # spreads over twice the dimensions (tests/test_statements_and_outlets.py proves those).
    priors = [p for p in load_priors("calibration/priors.toml") if not p.name.startswith("outlets.")]
    medians = []
    for ledger, name in ((reports, "before"), (reports + yanji, "after")):
        np.random.seed(2025)
        result = calibrate(ledger, priors, tmp_path / f"{name}.db", **{**SMALL, "generations": 2})
        weights = result.weights / result.weights.sum()
        posterior = Posterior(name, tuple(integer_safe(p) for p in result.particles.to_dict("records")), weights)
        table = fit_table(reports + yanji, posterior, draws=8, seed=3, scale=SMALL["scale"])
        medians.append(float(table.set_index("id").loc["yanji-q3-2025", "median"]))
    error = [abs(math.log(m + 10) - math.log(810)) for m in medians]
    assert error[1] < error[0], f"median before {medians[0]:.0f}, after {medians[1]:.0f}; reported 800"

"""Calibration with pyabc: a new report moves the fit toward it; runs resume from their database."""

from __future__ import annotations

import numpy as np
import pytest

from model.calibration import calibrate, load_priors
from model.reports import REPORT_COLUMNS, load_reports, parse_reports

pytestmark = pytest.mark.slow

SMALL = dict(population=30, generations=3, jobs=2, scale=50)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cumulative, 0.5)])


def contradicting_report():
    row = ("census-2019,000_d47c0a86e59b55df.txt,2019-07-01,2019-06-30,2019-06-30,China,stock,95000,,,workers,"
           "high,\"a made-up count, far above the current fit\",test only")
    return parse_reports(",".join(REPORT_COLUMNS) + "\n" + row + "\n", "test.csv")


def test_recalibrating_with_a_contradicting_report_moves_the_model_toward_it(tmp_path):
    reports = load_reports("calibration/reports.csv")
    priors = load_priors("calibration/priors.toml")
    before = calibrate(reports, priors, tmp_path / "before.db", **SMALL)
    after = calibrate(reports + contradicting_report(), priors, tmp_path / "after.db", **SMALL)
    median_before = weighted_median(before.particles["initial_stock"].to_numpy(), before.weights)
    median_after = weighted_median(after.particles["initial_stock"].to_numpy(), after.weights)
    assert after.generations == 3 and after.simulations >= 3 * SMALL["population"]
    print(median_before, median_after)
    assert median_after > median_before + 10_000
    assert median_after > 65_000  # the prior median; the shipped reports alone sit well below it

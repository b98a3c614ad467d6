"""What the reports can teach: which reports the priors already guarantee, and which parameters the fit learns.

A report that no parameter draw can miss informs nothing (the 2020-2021 zero flows while the
border was closed, for instance: the closure guarantees them). To say so, the model is run
with parameter sets drawn from the priors (the *prior predictive*): a report is `informative`
unless at least `UNINFORMATIVE_SHARE` of those runs fall inside what it says (its point, or
its range or bound).

The same runs say which reports bear on which parameter: for each calibrated parameter, the
reports whose simulated values follow it most closely across the prior draws (absolute
Spearman rank correlation), and how much the calibration narrowed it (the posterior's 90%
interval as a share of the prior's, on the log scale for a log-uniform prior). A share near 1
means the reports left the parameter where the prior put it: the projection's spread in that
parameter is an assumption, not a finding.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ..ensemble.plan import replicate, replicate_seeds
from ..ensemble.posterior import OUTLET, Posterior, column_kind, event_day, integer_safe
from ..ensemble.runner import run_ensemble
from ..files import starts_with_line
from .observation import Counterparts, Observation, observations, reports_scenario
from .priors import Prior, for_reports
from .reports import Report

UNINFORMATIVE_SHARE = 0.99
"""A report inside the prior predictive this often (or more) informs nothing."""
IDENTIFIABILITY_COLUMNS = ("parameter", "distribution", "prior_p05", "prior_p95", "posterior_p05", "posterior_median",
                           "posterior_p95", "spread_share", "moved_by")
TOP_REPORTS = 3


def is_identifiability_table(path: str | os.PathLike[str]) -> bool:
    """Whether the file is an identifiability table that `calibrate` wrote (by its header)."""
    return starts_with_line(Path(path), ",".join(IDENTIFIABILITY_COLUMNS))


def prior_sample(priors: Sequence[Prior], count: int, seed: int) -> pd.DataFrame:
    """`count` parameter sets drawn from the priors (one column per parameter), reproducibly from `seed`.

    An event's date is drawn as a day number (`date.toordinal`), as the calibration draws it.
    """
    rng = np.random.default_rng([int(seed), 0x9A10])
    columns = {}
    for prior in priors:
        u = rng.random(count)
        if prior.distribution == "loguniform":
            columns[prior.name] = np.exp(math.log(prior.low) + u * (math.log(prior.high) - math.log(prior.low)))
        elif prior.distribution == "uniform":
            columns[prior.name] = prior.low + u * (prior.high - prior.low)
        else:
            columns[prior.name] = np.array([prior.quantile(float(q)) for q in u])
    return pd.DataFrame(columns)


def prior_predictive(reports: list[Report], priors: Sequence[Prior], draws: int = 40, seed: int = 0, jobs: int = 1,
                     scale: int = 1, scheduler: str | None = None,
                     progress: Callable[[int], None] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Parameter sets from the priors and, for each, every report's simulated counterpart [draw, report].

    The outlets' shared prior is given to each outlet of the reports (`priors.for_reports`);
    their columns do not change the runs, only the distance would use them.
    """
    observed = observations(reports)
    scenario = reports_scenario(reports, scale)
    sample = prior_sample(for_reports(priors, reports), draws, seed)
    plans = [replicate(scenario, i, s, integer_safe(dict(row)), "priors")
             for i, (s, row) in enumerate(zip(replicate_seeds(seed, draws), sample.to_dict("records")))]
    outcomes = run_ensemble(scenario, plans, Counterparts(tuple(observed)), jobs=jobs, scheduler=scheduler,
                            crossings=True, on_outcome=(lambda _: progress(1)) if progress else None)
    values = np.array([[outcome.value[o.report.id] for o in observed] for outcome in outcomes], dtype=float)
    return sample, values


def inside_share(observed: Sequence[Observation], values: np.ndarray) -> np.ndarray:
    """For each report, the share of runs whose value meets what the report says."""
    shares = []
    for j, o in enumerate(observed):
        low, high = o.interval
        shares.append(float(np.mean((values[:, j] >= low) & (values[:, j] <= high))) if len(values) else 0.0)
    return np.asarray(shares)


def informative(observed: Sequence[Observation], values: np.ndarray) -> np.ndarray:
    """True for each report that the prior predictive misses often enough to learn from."""
    return inside_share(observed, values) < UNINFORMATIVE_SHARE


def identifiability(priors: Sequence[Prior], posterior: Posterior, sample: pd.DataFrame, values: np.ndarray,
                    observed: Sequence[Observation]) -> pd.DataFrame:
    """Per calibrated parameter: prior and posterior 90% intervals, their ratio, and the reports that move it most.

    An event's date is shown as YYYY-MM-DD. An outlet's bias and accuracy move no simulation
    (they weigh the reports), so their `moved_by` is empty.
    """
    priors = for_reports(priors, [o.report for o in observed])
    summary = posterior.summary().set_index("parameter")
    rows = []
    for prior in priors:
        log = prior.distribution == "loguniform"
        prior_p05, prior_p95 = prior.quantile(0.05), prior.quantile(0.95)
        row = {"parameter": prior.name, "distribution": prior.distribution, "prior_p05": prior_p05,
               "prior_p95": prior_p95, "posterior_p05": math.nan, "posterior_median": math.nan,
               "posterior_p95": math.nan, "spread_share": math.nan, "moved_by": ""}
        if prior.name in summary.index:
            post = summary.loc[prior.name]
            p05, median, p95 = (_number(post[q], prior) for q in ("p05", "median", "p95"))
            row.update(posterior_p05=p05, posterior_median=median, posterior_p95=p95)
            width = (lambda a, b: math.log(max(b, 1e-300)) - math.log(max(a, 1e-300))) if log else (lambda a, b: b - a)
            prior_width = width(prior_p05, prior_p95)
            row["spread_share"] = width(p05, p95) / prior_width if prior_width > 0 else math.nan
        if column_kind(prior.name) is None or column_kind(prior.name)[0] != OUTLET:
            row["moved_by"] = "; ".join(_movers(sample[prior.name].to_numpy(), values, observed))
        if prior.dates:
            for key in ("prior_p05", "prior_p95", "posterior_p05", "posterior_median", "posterior_p95"):
                if math.isfinite(row[key]):
                    row[key] = dt.date.fromordinal(int(row[key])).isoformat()
        rows.append(row)
    return pd.DataFrame(rows, columns=list(IDENTIFIABILITY_COLUMNS))


def _number(value: object, prior: Prior) -> float:
    """A posterior summary's value as a number (an event's date as its day number)."""
    return float(event_day(value, prior.name).toordinal()) if prior.dates else float(value)


def _movers(parameter: np.ndarray, values: np.ndarray, observed: Sequence[Observation]) -> list[str]:
    """The reports whose simulated values follow `parameter` most closely, as 'id (rho +0.83)'."""
    scored = []
    for j, o in enumerate(observed):
        column = values[:, j]
        if len(column) < 3 or np.ptp(column) == 0 or np.ptp(parameter) == 0:
            continue
        rho = float(spearmanr(parameter, column).statistic)
        if math.isfinite(rho):
            scored.append((abs(rho), rho, o.report.id))
    scored.sort(reverse=True)
    return [f"{name} (rho {rho:+.2f})" for _, rho, name in scored[:TOP_REPORTS] if abs(rho) >= 0.2]


def format_identifiability(table: pd.DataFrame) -> str:
    """The identifiability table for the terminal."""
    shown = table[["parameter", "prior_p05", "prior_p95", "posterior_p05", "posterior_p95", "spread_share",
                   "moved_by"]].copy()
    for column in ("prior_p05", "prior_p95", "posterior_p05", "posterior_p95"):
        shown[column] = shown[column].map(lambda v: v if isinstance(v, str) else f"{v:.4g}")
    shown["spread_share"] = shown["spread_share"].map(lambda v: "" if not math.isfinite(v) else f"{v:.2f}")
    return shown.to_string(index=False)

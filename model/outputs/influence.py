"""Which report drives each place's projection: the posterior with one report left out, by importance reweighting.

**Method.** Each posterior particle is run once (its own seed, the scenario's events, the
ranged fields drawn as in any replicate) from 2017 to the later of the last date explained
and the last report; the run gives both the stocks explained and every report's simulated
counterpart, hence each report's standardized error z (`calibration/observation.py`). The
ABC posterior is treated as prior x exp(-1/2 sum over reports of z^2), the Gaussian
likelihood the observation model's sigmas stand for; leaving report r out divides its factor
out, so particle k's weight becomes w_k exp(+1/2 z_rk^2) (normalised). The median and 90%
interval of each stock under those weights, against the posterior's own, say how far the
projection moves without the report: `influence` is the largest move of the median or of a
bound of the 90% interval, in workers (to 0.1), and `rank` orders the reports within each place and
date (1 moves it most).

**Why reweighting, and when it fails.** Reweighting costs one run per particle, where
recalibrating without each report would cost a calibration per report (some ten minutes
each). It is reliable only while the particles still cover the posterior without the
report. When a report is what holds the particles where they are, leaving it out puts
nearly all the weight on the few particles that miss it most: the effective sample size
(ESS, 1 / sum of squared weights) collapses. `ess_share` is the ESS without the report as a
share of the posterior's own; below `RELIABLE_SHARE` the row is marked `reliable = False`:
the move shown then rests on a handful of particles (the report matters, but by how much
the reweighting cannot say), and recalibrating without the report (`labor-stocks calibrate
--reports LEDGER` with a ledger that lacks it) is the way to know it.

Caveats, said where they matter: ABC-SMC accepts particles within a distance rather than
weighting them by exp(-1/2 sum z^2), so the reweighting is an approximation of what a
recalibration would give; z comes from one run per particle, so the model's own randomness
adds noise to the weights; a report that no particle misses (z = 0 for all) has no
influence, whatever it says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..calibration.observation import Counterparts, Observation
from ..ensemble.plan import Replicate, replicate, replicate_seeds
from ..ensemble.posterior import Posterior
from ..ensemble.runner import run_replicate
from ..scenarios.scenario import Scenario
from .explain_folder import INFLUENCE_COLUMNS
from .sensitivity import Points, weighted_quantile

DEFAULT_PARTICLES = 200
"""Particles run for the reweighting; a larger posterior is resampled down to this many (weights respected)."""
RELIABLE_SHARE = 0.25
"""Below this share of the posterior's own effective sample size, a left-out report's reweighting is unreliable."""
LEVELS = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class ParticleValues:
    """What a particle's run sends back: the stocks explained and every report's counterpart (picklable)."""

    points: Points
    counterparts: Counterparts

    def __call__(self, daily: dict[str, dict[str, np.ndarray]]) -> tuple[np.ndarray, dict[str, float]]:
        return self.points.stocks(daily), self.counterparts(daily)


@dataclass(frozen=True)
class ParticleRuns:
    """The particles' runs: their weights (normalised), stocks [particle, point] and z [particle, report]."""

    weights: np.ndarray
    stocks: np.ndarray
    z: np.ndarray
    observed: tuple[Observation, ...]

    @property
    def ess(self) -> float:
        return effective_size(self.weights)


def effective_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of normalised weights, 1 / sum w^2."""
    return float(1.0 / np.sum(np.square(weights)))


def choose_particles(posterior: Posterior, count: int, seed: int) -> tuple[list[dict[str, float]], np.ndarray]:
    """Every particle with its weight, or `count` of them by systematic resampling (then of equal weight)."""
    if len(posterior.particles) <= count:
        return [dict(p) for p in posterior.particles], np.asarray(posterior.weights, dtype=float)
    rng = np.random.default_rng([int(seed), 0x1EAF])
    positions = (rng.random() + np.arange(count)) / count
    chosen = np.minimum(np.searchsorted(np.cumsum(posterior.weights), positions), len(posterior.particles) - 1)
    return [dict(posterior.particles[i]) for i in chosen], np.full(count, 1.0 / count)


def particle_plans(scenario: Scenario, posterior: Posterior, count: int = DEFAULT_PARTICLES,
                   seed: int = 0) -> tuple[list[Replicate], np.ndarray]:
    """The particles to run, as replicates of `scenario` (seeds as an ensemble's), and their normalised weights.

    Building them checks every particle's parameters with the scenario's (its scale included)
    before anything runs.
    """
    particles, weights = choose_particles(posterior, count, seed)
    plans = [replicate(scenario, k, s, particle, f"{posterior.path}: particle")
             for k, (s, particle) in enumerate(zip(replicate_seeds(seed, len(particles)), particles))]
    return plans, weights / weights.sum()


@dataclass(frozen=True)
class ParticleRun:
    """What a process does with a particle's plan: one run of the scenario, then `ParticleValues` (picklable)."""

    scenario: Scenario
    values: ParticleValues

    def __call__(self, plan: Replicate) -> tuple[np.ndarray, dict[str, float]]:
        return run_replicate(self.scenario, plan, self.values, crossings=True).value


def particle_run(scenario: Scenario, observed: Sequence[Observation], points: Points, end: dt.date) -> ParticleRun:
    """The run of one particle: the scenario to `end` (the later of the last date explained and the last report)."""
    return ParticleRun(dataclasses.replace(scenario, end=end), ParticleValues(points, Counterparts(tuple(observed))))


def particle_runs(weights: np.ndarray, observed: Sequence[Observation],
                  values: Sequence[tuple[np.ndarray, dict[str, float]]]) -> ParticleRuns:
    """The particles' runs gathered: stocks and every report's z, beside the particles' weights."""
    stocks = np.stack([stock for stock, _ in values]).astype(np.float64)
    z = np.array([[o.z(counterparts[o.report.id]) for o in observed] for _, counterparts in values], dtype=float)
    return ParticleRuns(np.asarray(weights, dtype=float), stocks, z.reshape(len(values), len(observed)),
                        tuple(observed))


def without(runs: ParticleRuns, report: int) -> np.ndarray:
    """The particles' weights with report `report` left out: w exp(+z^2 / 2), normalised (in logs, no overflow).

    A report that every particle meets (z = 0 for all) leaves the weights exactly as they are.
    """
    if not np.any(runs.z[:, report]):
        return runs.weights
    with np.errstate(divide="ignore"):
        log_w = np.log(runs.weights) + 0.5 * np.square(runs.z[:, report])
    log_w -= np.max(log_w)
    w = np.exp(log_w)
    return w / w.sum()


def influence_table(runs: ParticleRuns, points: Points) -> pd.DataFrame:
    """One row per place, date and report: the stock's median and 90% interval with and without it, ranked."""
    base = {j: np.round(weighted_quantile(runs.stocks[:, j], runs.weights, LEVELS), 1)
            for j in range(len(points.pairs))}
    rows = []
    for r, observation in enumerate(runs.observed):
        weights = without(runs, r)
        ess = effective_size(weights)
        share = ess / runs.ess if runs.ess > 0 else math.nan
        for j, (place, date) in enumerate(points.pairs):
            p05, median, p95 = base[j]
            q05, q50, q95 = np.round(weighted_quantile(runs.stocks[:, j], weights, LEVELS), 1)
            shifts = {"median_shift": q50 - median, "p05_shift": q05 - p05, "p95_shift": q95 - p95}
            rows.append({"place": place, "date": date.isoformat(), "report": observation.report.id, "rank": 0,
                         "influence": max(abs(v) for v in shifts.values()), **shifts, "median": median, "p05": p05,
                         "p95": p95, "median_without": q50, "p05_without": q05, "p95_without": q95, "ess": ess,
                         "ess_share": share, "reliable": bool(share >= RELIABLE_SHARE)})
    table = pd.DataFrame(rows, columns=list(INFLUENCE_COLUMNS))
    if table.empty:
        return table
    position = {place: i for i, place in enumerate(points.places)}
    table["_place"] = table["place"].map(position)
    table["_report"] = np.arange(len(runs.observed)).repeat(len(points.pairs))
    table = table.sort_values(["_place", "date", "influence", "_report"], ascending=[True, True, False, True],
                              kind="stable")
    table["rank"] = table.groupby(["_place", "date"]).cumcount() + 1
    return table.drop(columns=["_place", "_report"]).reset_index(drop=True)


def unreliable_reports(table: pd.DataFrame) -> list[str]:
    """The reports whose reweighting collapsed (ESS share below `RELIABLE_SHARE`), in the ledger's order."""
    return list(dict.fromkeys(table.loc[~table["reliable"].astype(bool), "report"]))

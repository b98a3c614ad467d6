"""Calibration: fit the priors in `calibration/priors.toml` to the reports with ABC-SMC (pyabc).

Each simulation draws a parameter set, runs the shared history up to the last report and
computes every report's simulated counterpart (`observation.py`); the ABC distance is the
root of the summed squared standardized errors. pyabc keeps its history in an SQLite
database in `calibration/`: every finished generation is stored, so an interrupted
calibration continues with `--resume` from the last finished generation.

To meet the time budget (SPEC: at least 5,000 simulations in at most 10 minutes on two
cores) calibration runs at reduced scale, one agent for `CALIBRATION_SCALE` workers; the fit
table (`fit.py`) then checks the posterior at full scale, every worker an agent.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import logging
import math
import os
import signal
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..ensemble.runner import simulate
from ..errors import InputError
from ..calibration.observation import Observation, distance, observations
from ..world.parameters import Parameters, with_overrides
from ..ensemble.posterior import integer_safe, write_posterior
from ..calibration.reports import Report

CALIBRATION_SCALE = 10
"""Workers per agent during calibration (the fit is checked at full scale)."""

DEFAULT_POPULATION = 300
DEFAULT_GENERATIONS = 10
DEFAULT_MAX_SIMULATIONS = 8000
DEFAULT_MAX_MINUTES = 9.5
"""The default budget (SPEC: at least 5,000 simulations in at most 10 minutes on two cores):
generations continue until 10 are stored, 8,000 simulations are spent, or the next generation
would likely end after 9.5 minutes, whichever comes first."""
DISTRIBUTIONS = ("uniform", "loguniform")


@dataclass(frozen=True)
class Prior:
    """A calibrated parameter: its prior distribution, range and the reason for it."""

    name: str
    distribution: str
    low: float
    high: float
    reason: str

    def pyabc_rv(self) -> Any:
        import pyabc

        if self.distribution == "uniform":
            return pyabc.RV("uniform", self.low, self.high - self.low)
        return pyabc.RV("loguniform", self.low, self.high)


def load_priors(path: str | os.PathLike[str]) -> list[Prior]:
    """Read and check the priors file; one InputError naming the file and key on any problem."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        raise InputError(f"{path}: no such priors file") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the priors: {error}") from None
    known = Parameters()
    priors = []
    for name, spec in table.items():
        where = f"{path}: key {name}"
        if not hasattr(known, name) or isinstance(getattr(known, name), dict):
            raise InputError(f"{where}: not a numeric parameter of the model")
        if not isinstance(spec, dict):
            raise InputError(f"{where}: must be a table with distribution, low, high, reason")
        unknown = set(spec) - {"distribution", "low", "high", "reason"}
        if unknown:
            raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        if spec.get("distribution") not in DISTRIBUTIONS:
            raise InputError(f"{where}.distribution: must be one of {', '.join(DISTRIBUTIONS)}")
        low, high = spec.get("low"), spec.get("high")
        for key, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"{where}.{key}: must be a number")
        if not low < high or (spec["distribution"] == "loguniform" and low <= 0):
            raise InputError(f"{where}: need 0 <= low < high (low > 0 for loguniform), got {low}, {high}")
        if not isinstance(spec.get("reason"), str) or not spec["reason"].strip():
            raise InputError(f"{where}.reason: say why this range (an article or an argument)")
        priors.append(Prior(name, spec["distribution"], float(low), float(high), spec["reason"]))
    if not priors:
        raise InputError(f"{path}: no parameters to calibrate")
    return priors


def report_end(reports: list[Report]) -> dt.date:
    """The last day any report covers: simulations need not run further."""
    return max(r.period_end for r in reports)


def _leave_ctrl_c_to_the_main_process() -> None:
    """In a sampler's worker process: ignore SIGINT and let SIGTERM end it without a word.

    Ctrl-C in a terminal reaches every process of the group, and pyabc's forked workers
    inherit the command line's SIGTERM handler: either would make each print a traceback when
    the main process stops them (with SIGTERM) on its way out.
    """
    try:
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # a thread (a Dask worker's): not ours to change
        pass


class ReportSimulator:
    """What pyabc calls for a parameter set: a run's value for every report, by report id.

    A plain class (not a closure) so that it pickles to local processes and Dask workers.
    """

    def __init__(self, reports: list[Report], scale: int = CALIBRATION_SCALE) -> None:
        self.end = report_end(reports)
        self.observed = observations(reports)
        self.scale = scale
        self.main_process = os.getpid()

    def __call__(self, parameters: dict[str, float]) -> dict[str, float]:
        if os.getpid() != self.main_process:
            _leave_ctrl_c_to_the_main_process()
        overrides = integer_safe(dict(parameters))
        overrides["scale"] = self.scale
        seed = int(np.random.randint(0, 2**31 - 1))  # pyabc seeds each worker process
        series = simulate(with_overrides(overrides, "calibration"), None, self.end, seed, crossings=True)
        return {o.report.id: o.simulate(series) for o in self.observed}


class ReportDistance:
    """The ABC distance between a simulation and the reports (see `observation.py`)."""

    def __init__(self, reports: list[Report]) -> None:
        self.observed: list[Observation] = observations(reports)

    def __call__(self, simulated: dict[str, float], _reported: dict[str, float]) -> float:
        return distance(self.observed, simulated)


def fingerprint(reports: list[Report], priors: list[Prior], scale: int) -> str:
    """A hash of what a calibration fits, so `--resume` refuses to mix runs of different inputs."""
    text = json.dumps([[r.__dict__ for r in reports], [p.__dict__ for p in priors], scale], default=str,
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _sampler(jobs: int, scheduler: str | None) -> Any:
    from pyabc.sampler import DaskDistributedSampler, MulticoreEvalParallelSampler, SingleCoreSampler

    if scheduler:
        from ..ensemble.cluster import connect

        return DaskDistributedSampler(connect(scheduler), batch_size=4)
    if jobs <= 1:
        return SingleCoreSampler()
    return MulticoreEvalParallelSampler(n_procs=jobs)


@dataclass
class CalibrationResult:
    """What a calibration produced: the posterior and how it got there."""

    particles: pd.DataFrame
    weights: np.ndarray
    generations: int
    simulations: int
    epsilon: float
    seconds: float
    database: Path
    run_id: int
    stopped_by: str = "generations"
    """What ended it: "generations", "simulations" or "time" (the budget)."""


def calibrate(reports: list[Report], priors: list[Prior], database: Path, population: int = DEFAULT_POPULATION,
              generations: int = DEFAULT_GENERATIONS, jobs: int = 1, scheduler: str | None = None,
              resume: bool = False, scale: int = CALIBRATION_SCALE, max_simulations: int | None = None,
              max_minutes: float | None = None,
              on_generation: Callable[[int, float, int], None] | None = None) -> CalibrationResult:
    """Run (or continue) ABC-SMC until `generations` generations are stored, or the budget is spent.

    The budget (`max_simulations` in all, `max_minutes` for this call) is checked between
    generations: a generation is not started when the simulations are spent or when, at the
    pace of the last one, it would end after `max_minutes`. `on_generation(t, epsilon,
    total_simulations)` is called after each finished generation (the command line draws its
    progress bar with it). With `resume`, the newest run in `database` continues if it was
    made with the same reports, priors and scale.
    """
    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)
    logging.getLogger("Sampler").setLevel(logging.WARNING)
    start = dt.datetime.now()
    prior = pyabc.Distribution(**{p.name: p.pyabc_rv() for p in priors})
    key = fingerprint(reports, priors, scale)
    simulator, metric, sampler = ReportSimulator(reports, scale), ReportDistance(reports), _sampler(jobs, scheduler)
    try:
        def smc() -> Any:
            return pyabc.ABCSMC(simulator, prior, metric, population_size=population, sampler=sampler)

        url = f"sqlite:///{database}"
        if resume:
            if not database.exists():
                raise InputError(f"{database}: nothing to resume (no calibration database); run without --resume")
            runs = pyabc.History(url).all_runs()
            if not runs:
                raise InputError(f"{database}: nothing to resume (no run in the database)")
            run_id = int(runs[-1].id)
            history = smc().load(url, run_id)
            if _run_key(history) != key:
                raise InputError(f"{database}: run {run_id} was made with other reports, priors or scale; "
                                 "start a new calibration without --resume")
        else:
            history = smc().new(url, {o.report.id: 0.0 for o in observations(reports)}, meta_info={"key": key})
            run_id = int(history.id)
        # One generation at a time, each continuing from the database exactly as `--resume` does
        # after an interruption, so that progress can be shown and nothing finished is lost.
        stop = "generations"
        last_seconds = 0.0
        while history.max_t + 1 < generations:
            if max_simulations is not None and history.total_nr_simulations >= max_simulations:
                stop = "simulations"
                break
            elapsed = (dt.datetime.now() - start).total_seconds()
            if max_minutes is not None and history.max_t >= 0 and elapsed + 1.5 * last_seconds > 60 * max_minutes:
                stop = "time"
                break
            began = dt.datetime.now()
            abc = smc()
            abc.load(url, run_id)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # pyabc's covariance notes on a tight population
                history = abc.run(max_nr_populations=1)
            last_seconds = (dt.datetime.now() - began).total_seconds()
            if on_generation is not None:
                populations = history.get_all_populations()
                on_generation(history.max_t, float(populations.epsilon.iloc[-1]), int(history.total_nr_simulations))
        if history.max_t < 0:
            raise InputError(f"{database}: no finished generation to take a posterior from")
        particles, weights = history.get_distribution(m=0, t=history.max_t)
        populations = history.get_all_populations()
        return CalibrationResult(particles[[p.name for p in priors]], np.asarray(weights), history.max_t + 1,
                                 int(history.total_nr_simulations), float(populations.epsilon.iloc[-1]),
                                 (dt.datetime.now() - start).total_seconds(), database, run_id, stop)
    finally:
        client = getattr(sampler, "client", None)  # our connection to a Dask scheduler, if any
        if client is not None:
            client.close()


def _run_key(history: Any) -> str | None:
    """The fingerprint stored with a run (pyabc keeps the meta information as a dict's repr)."""
    try:
        options = ast.literal_eval(history.get_abc().json_parameters or "{}")
    except (ValueError, SyntaxError):
        return None
    return options.get("key") if isinstance(options, dict) else None


def save_posterior(result: CalibrationResult, path: Path) -> None:
    """Write the posterior (weights and parameter columns) atomically."""
    write_posterior(result.particles.reset_index(drop=True), result.weights, path)

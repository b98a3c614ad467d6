"""Calibration: fit the priors in `calibration/priors.toml` to the reports with ABC-SMC (pyabc).

Each simulation draws a parameter set, runs the shared history up to the last report and
computes every report's simulated counterpart (`observation.py`); the ABC distance is the
root of the summed squared standardized errors, each statement counted once. A particle may
hold, beside the model's parameters, event fields (`event.ID.FIELD`: the simulation's event
takes the particle's value) and each outlet's bias and accuracy (`outlet.NAME.bias`,
`outlet.NAME.accuracy`): those never reach the model; the simulator hands them to the
distance with the reports' counterparts (pyabc gives a distance only the simulation's
output, not the particle). pyabc keeps its history in an SQLite
database in `calibration/`: every finished generation is stored, so an interrupted
calibration continues with `--resume` from the last finished generation.

Calibration runs at full scale by default, every worker an agent (`CALIBRATION_SCALE`), as the
projections do: at one agent per 10 workers a team of 21 would be 2 agents and the
defection-response threshold of 10 a single one, and the posterior would be fitted on another
model than the one it is used with. `--scale K` calibrates faster on that coarser model, for
trying things out; the fit table (`fit.py`) always checks the posterior at full scale.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import logging
import os
import sqlite3
import warnings
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..ensemble.plan import replicate
from ..ensemble.posterior import OUTLET, column_kind, integer_safe, write_posterior
from ..ensemble.processes import quiet_worker
from ..ensemble.runner import run_replicate
from ..errors import InputError
from ..world.events import Event
from .observation import Counterparts, Observation, distance, observations, outlets_of, reports_scenario
from .priors import Prior, accuracy_floor, check_event_priors, check_scale, for_reports
from .reports import Report

CALIBRATION_SCALE = 1
"""Workers per agent during calibration: every worker an agent, as in the runs it informs."""

DEFAULT_POPULATION = 100
"""Particles per generation. At full scale a simulation costs about a second of one core, so the
10-minute budget on 2 cores holds some 1,000 simulations (1,012 measured): 100 particles give
three generations in it. 300 (the default at one agent per 10 workers) would barely finish its first."""
MAX_POPULATION = 100_000
MAX_GENERATIONS = 1_000
"""Guards against typos (a zero too many): far beyond what any calibration of this model needs."""
DEFAULT_GENERATIONS = 10
DEFAULT_MAX_SIMULATIONS = 8000
DEFAULT_MAX_MINUTES = 9.5
"""The default budget (SPEC: 10 minutes on two cores; SPEC also asks for 5,000 simulations in
them, which the full-scale model does not reach yet: see the README's Performance section):
generations continue until 10 are stored, 8,000 simulations are spent, or the next generation
would likely end after 9.5 minutes, whichever comes first. `--resume` continues a calibration
with another budget."""
class ReportSimulator:
    """What pyabc calls for a parameter set: a run's value for every report, by report id.

    A plain class (not a closure) so that it pickles to local processes and Dask workers.
    The particle and the seed (from numpy's generator, which pyabc seeds in each of its
    processes) become a replicate by the ensembles' recipe (`labor_stocks.ensemble.plan`).
    """

    def __init__(self, reports: list[Report], scale: int = CALIBRATION_SCALE,
                 events: Sequence[Event] | None = None) -> None:
        self.scenario = reports_scenario(reports, scale, events)
        self.counterparts = Counterparts(tuple(observations(reports)))
        self.main_process = os.getpid()

    def __call__(self, parameters: dict[str, float]) -> dict[str, float]:
        if os.getpid() != self.main_process:
            quiet_worker()  # in a sampler's process: Ctrl-C and SIGTERM are the main process's to handle
        seed = int(np.random.randint(0, 2**31 - 1))
        particle = integer_safe(dict(parameters))
        plan = replicate(self.scenario, 0, seed, particle, "calibration")
        value = run_replicate(self.scenario, plan, self.counterparts, crossings=True).value
        outlets = {k: float(v) for k, v in particle.items() if (column_kind(k) or ("",))[0] == OUTLET}
        return {**value, **outlets}


class ReportDistance:
    """The ABC distance between a simulation and the reports (see `observation.py`).

    The outlets' bias and accuracy arrive with the simulation's output (`ReportSimulator`);
    `floor` is the least accuracy the priors allow (`priors.accuracy_floor`).
    """

    def __init__(self, reports: list[Report], floor: float = 1.0) -> None:
        self.observed: list[Observation] = observations(reports)
        self.floor = floor

    def __call__(self, simulated: dict[str, float], _reported: dict[str, float]) -> float:
        return distance(self.observed, simulated, outlets_of(simulated), self.floor)


def fingerprint(reports: list[Report], priors: list[Prior], scale: int,
                events: Sequence[Event] | None = None) -> str:
    """A hash of what a calibration fits, so `--resume` refuses to mix runs of different inputs."""
    fitted = for_reports(priors, reports)
    own = [e.as_dict() for e in events] if events is not None else None
    text = json.dumps([[r.__dict__ for r in reports], [p.__dict__ for p in fitted], scale, *([own] if own else [])],
                      default=str, sort_keys=True)
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
    earlier_simulations: int = 0
    """Simulations of the generations that were stored before this call (`--resume`); `simulations` counts all."""
    stopped_by: str = "generations"
    """What ended it: "generations", "simulations" or "time" (the budget), or "collapse": the next
    generation's particles fell onto too few points for pyabc to go on (a population too small)."""

    @property
    def new_simulations(self) -> int:
        """Simulations run by this call (all of them unless it resumed a calibration): what `seconds` timed."""
        return self.simulations - self.earlier_simulations


def check_database(database: Path, resume: bool, key: str | None = None) -> int | None:
    """Refuse a database that a calibration cannot use, before any simulation; the run to resume, or None.

    A new calibration adds a run to an existing pyabc database (or creates one); it never
    writes into a file that is not one. `--resume` needs the newest run to have been made with
    the same reports, priors and scale (`key`, from `fingerprint`).
    """
    if database.is_dir():
        raise InputError(f"{database}: a folder, not a calibration database")
    if not database.parent.is_dir():
        raise InputError(f"{database}: no such folder {database.parent}")
    if not database.exists():
        if resume:
            raise InputError(f"{database}: nothing to resume (no calibration database); run without --resume")
        return None
    tables = _tables(database)
    if tables and "abc_smc" not in tables:
        raise InputError(f"{database}: not a calibration database (an SQLite file without pyabc's tables); "
                         "give another --database")
    if not resume:
        return None
    import pyabc

    runs = pyabc.History(f"sqlite:///{database}").all_runs() if tables else []
    if not runs:
        raise InputError(f"{database}: nothing to resume (no run in the database)")
    run_id = int(runs[-1].id)
    if key is not None and _run_key(pyabc.History(f"sqlite:///{database}", _id=run_id)) != key:
        raise InputError(f"{database}: run {run_id} was made with other reports, priors or scale; "
                         "start a new calibration without --resume")
    return run_id


def _tables(database: Path) -> set[str]:
    """The tables of the SQLite file `database`, read without writing; a damaged file is one InputError."""
    try:
        connection = sqlite3.connect(database.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise InputError(f"{database}: cannot open the calibration database ({error})") from None
    try:
        check = connection.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise InputError(f"{database}: the calibration database is damaged ({check[0] if check else 'no answer'}); "
                             "move it away, or give another --database")
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise InputError(f"{database}: not a calibration database, or a damaged one ({error}); "
                         "move it away, or give another --database") from None
    finally:
        connection.close()


def calibrate(reports: list[Report], priors: list[Prior], database: Path, population: int = DEFAULT_POPULATION,
              generations: int = DEFAULT_GENERATIONS, jobs: int = 1, scheduler: str | None = None,
              resume: bool = False, scale: int = CALIBRATION_SCALE, max_simulations: int | None = None,
              max_minutes: float | None = None,
              on_generation: Callable[[int, float, int], None] | None = None,
              events: Sequence[Event] | None = None) -> CalibrationResult:
    """Run (or continue) ABC-SMC until `generations` generations are stored, or the budget is spent.

    The budget (`max_simulations` in all, `max_minutes` for this call) is checked between
    generations: a generation is not started when the simulations are spent or when, at the
    pace of the last one, it would end after `max_minutes`. `on_generation(t, epsilon,
    total_simulations)` is called after each finished generation (the command line draws its
    progress bar with it). With `resume`, the newest run in `database` continues if it was
    made with the same reports, priors and scale. Everything that can be checked (the reports,
    the scale, the event fields the priors name, the database) is checked before the first
    simulation. The outlets' shared prior becomes one bias and one accuracy per outlet of the
    reports (`priors.for_reports`); `events` replace the shared history (None: the history).
    """
    import pyabc
    from sqlalchemy.exc import SQLAlchemyError

    database = Path(database)
    start = dt.datetime.now()
    check_scale(scale, priors)
    key = fingerprint(reports, priors, scale, events)
    priors = for_reports(priors, reports)
    simulator, metric = ReportSimulator(reports, scale, events), ReportDistance(reports, accuracy_floor(priors))
    check_event_priors(priors, simulator.scenario.events)
    resumed = check_database(database, resume, key)
    logging.getLogger("ABC").setLevel(logging.WARNING)
    logging.getLogger("Sampler").setLevel(logging.WARNING)
    prior = pyabc.Distribution(**{p.name: p.pyabc_rv() for p in priors})
    sampler = _sampler(jobs, scheduler)
    try:
        def smc() -> Any:
            return pyabc.ABCSMC(simulator, prior, metric, population_size=population, sampler=sampler)

        url = f"sqlite:///{database}"
        if resumed is not None:
            run_id = resumed
            history = smc().load(url, run_id)
            earlier = int(history.total_nr_simulations)
        else:
            history = smc().new(url, {o.report.id: 0.0 for o in metric.observed}, meta_info={"key": key})
            run_id = int(history.id)
            earlier = 0
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
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # pyabc's covariance notes on a tight population
                    history = abc.run(max_nr_populations=1)
            except (AssertionError, np.linalg.LinAlgError) as error:
                if history.max_t < 0:
                    raise InputError(f"the first generation of {population} particles failed in pyabc ({error}); "
                                     "calibrate with a larger --population") from None
                stop = "collapse"  # pyabc's weights or kernel degenerate: the finished generations stand
                break
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
                                 (dt.datetime.now() - start).total_seconds(), database, run_id, earlier, stop)
    except SQLAlchemyError as error:
        raise InputError(f"{database}: cannot use the calibration database "
                         f"({str(error.orig if getattr(error, 'orig', None) else error).splitlines()[0]})") from None
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

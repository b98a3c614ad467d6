"""A calibration from start to finish: ABC-SMC on the reports, the posterior file, the fit at full scale.

`Calibration` is what `labor-stocks calibrate` calls, and what a notebook calls too:

    from labor_stocks.calibration.calibrate import Calibration
    from labor_stocks.calibration.priors import load_priors
    from labor_stocks.calibration.reports import load_reports
    calibration = Calibration(load_reports("calibration/reports.csv"), load_priors("calibration/priors.toml"),
                              out="calibration", jobs=2)
    outcome = calibration.run()
    outcome.fit  # each report beside the model (as fit.csv)

Making a `Calibration` checks everything that can be checked before the first simulation:
the budget, the reports (one the model cannot simulate is refused by id), the scale against
the priors, the output folder and its files, the scheduler's address and the database (a
damaged file, or with `resume` a newest run made from other inputs, is refused). A file of
the calibration's names in the output folder is replaced only when it is one the calibration
(or `fit`) wrote, recognised by its header or mark as `fit --out` recognises its own
(`fit.check_fit_outputs`), never when it is one of `inputs` (the ledgers, the priors file);
`force` replaces any other file. The check is made again before each write, since the
simulations take minutes.

`run` then calibrates (`abc.py`; the database keeps every finished generation, so an
interrupted run continues with `resume`), writes `posterior.csv` into the output folder,
reads it back (checked whole) and writes the fit of that posterior (`fit.csv`, `fit.png`,
`fit.py`) and what it learned of each outlet (`outlets.csv`: bias and accuracy,
`fit.outlet_table`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from ..ensemble.posterior import Posterior, is_posterior_file, load_posterior
from ..errors import InputError
from ..files import check_replaceable
from ..world.population import describe_scale
from .abc import (CALIBRATION_SCALE, DEFAULT_GENERATIONS, DEFAULT_MAX_MINUTES, DEFAULT_MAX_SIMULATIONS,
                  DEFAULT_POPULATION, CalibrationResult, calibrate, check_database, fingerprint, save_posterior)
from .fit import check_fit_outputs, fit_table, outlet_table, plot_fit, write_fit
from .identifiability import identifiability, is_identifiability_table, prior_predictive
from .observation import observations, report_end, reports_scenario
from .priors import Prior, check_event_priors, check_scale, for_reports
from .reports import Report

DEFAULT_DRAWS = 40
"""Posterior draws of the fit at full scale."""


@dataclass
class CalibrationOutcome:
    """What a calibration wrote: the ABC result, the posterior as read back, and the fit."""

    result: CalibrationResult
    posterior: Posterior
    posterior_path: Path
    fit: pd.DataFrame
    fit_path: Path
    plot_path: Path
    identifiability: pd.DataFrame
    identifiability_path: Path
    outlets: pd.DataFrame | None = None
    outlets_path: Path | None = None


class Calibration:
    """A calibration of `priors` to `reports`, checked when made, done by `run`.

    `out` is the folder of posterior.csv, fit.csv and fit.png; `database` the pyabc history
    (default OUT/calibration.db). `population`, `generations`, `max_simulations` and
    `max_minutes` are the ABC-SMC budget (see `abc.calibrate`), `scale` the workers per agent
    while calibrating; `draws` and `seed` make the fit at full scale. `jobs` local processes,
    or the Dask scheduler at `scheduler`, do both. `inputs` are the files the reports and
    priors were read from (never replaced); `force` replaces files in `out` of the
    calibration's names that it did not write.
    """

    def __init__(self, reports: list[Report], priors: list[Prior], out: str | Path = "calibration",
                 database: str | Path | None = None, population: int = DEFAULT_POPULATION,
                 generations: int = DEFAULT_GENERATIONS, jobs: int = 1, scheduler: str | None = None,
                 resume: bool = False, scale: int = CALIBRATION_SCALE,
                 max_simulations: int | None = DEFAULT_MAX_SIMULATIONS,
                 max_minutes: float | None = DEFAULT_MAX_MINUTES, draws: int = DEFAULT_DRAWS, seed: int = 0,
                 inputs: Collection[str | Path] = (), force: bool = False) -> None:
        for name, value, least in (("population", population, 2), ("generations", generations, 1), ("jobs", jobs, 1),
                                   ("scale", scale, 1), ("draws", draws, 1), ("seed", seed, 0),
                                   ("max_simulations", max_simulations, 1)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
                raise InputError(f"--{name.replace('_', '-')}: must be a whole number of at least {least}, "
                                 f"got {value!r}")
        if max_minutes is not None and not (isinstance(max_minutes, (int, float)) and max_minutes > 0):
            raise InputError(f"--max-minutes: must be positive, got {max_minutes}")
        observations(reports)
        report_end(reports)
        check_scale(scale, priors)
        fitted = for_reports(priors, reports)  # the outlets' prior given to each outlet of the reports
        check_event_priors(fitted, reports_scenario(reports).events)
        self.out = Path(out)
        if not self.out.is_dir():
            raise InputError(f"--out: not a folder: {self.out}")
        self.database = Path(database) if database is not None else self.out / "calibration.db"
        self.inputs, self.force = [*inputs, self.database], force
        self.posterior_path = self.out / "posterior.csv"
        self.identifiability_path = self.out / "identifiability.csv"
        self.fit_path, self.plot_path, self.outlets_path = self.check_outputs()
        if scheduler:
            from ..ensemble.cluster import check_address

            check_address(scheduler)
        check_database(self.database, resume, fingerprint(reports, priors, scale))
        self.reports, self.priors = list(reports), fitted
        self.population, self.generations, self.resume = population, generations, resume
        self.jobs, self.scheduler, self.scale = jobs, scheduler, scale
        self.max_simulations = max_simulations
        self.max_minutes = max_minutes
        self.draws, self.seed = draws, seed

    def check_outputs(self) -> tuple[Path, Path, Path]:
        """Refuse (one InputError line) to replace a file in `out` that is an input or not the calibration's.

        posterior.csv by its header (`weight` and parameter columns), identifiability.csv by its
        header, fit.csv, fit.png and outlets.csv as `fit` checks them. Returns the fit's three paths.
        """
        check_replaceable(self.posterior_path, "--out", is_posterior_file, "calibrate", self.inputs, self.force)
        check_replaceable(self.identifiability_path, "--out", is_identifiability_table, "calibrate", self.inputs,
                          self.force)
        return check_fit_outputs(self.out / "fit.csv", "calibrate", self.inputs, self.force)

    def run(self, on_generation: Callable[[int, float, int], None] | None = None,
            on_posterior: Callable[[CalibrationResult, Posterior], None] | None = None,
            on_fit_draw: Callable[[int], None] | None = None) -> CalibrationOutcome:
        """Calibrate, write the posterior, fit it; the callbacks report progress.

        `on_generation(t, epsilon, simulations)` after each stored generation,
        `on_posterior(result, posterior)` once posterior.csv is written (before the fit starts),
        `on_fit_draw(1)` as each of the fit's draws arrives (the posterior's, then as many from
        the priors, which say which reports are informative and which parameters were learned).
        """
        result = calibrate(self.reports, self.priors, self.database, population=self.population,
                           generations=self.generations, jobs=self.jobs, scheduler=self.scheduler,
                           resume=self.resume, scale=self.scale, max_simulations=self.max_simulations,
                           max_minutes=self.max_minutes, on_generation=on_generation)
        self.check_outputs()  # again: a file may have appeared while the generations ran
        save_posterior(result, self.posterior_path)
        posterior = load_posterior(self.posterior_path)
        if on_posterior is not None:
            on_posterior(result, posterior)
        sample, values = prior_predictive(self.reports, self.priors, draws=self.draws, seed=self.seed, jobs=self.jobs,
                                          scheduler=self.scheduler, progress=on_fit_draw)
        table = fit_table(self.reports, posterior, draws=self.draws, seed=self.seed, jobs=self.jobs,
                          scheduler=self.scheduler, progress=on_fit_draw, prior_values=values)
        learned = identifiability(self.priors, posterior, sample, values, observations(self.reports))
        outlets = outlet_table(self.reports, posterior)
        self.check_outputs()
        write_fit(table, self.fit_path)
        write_fit(learned, self.identifiability_path)
        write_fit(outlets, self.outlets_path)
        plot_fit(table, self.plot_path, f"Fit at full scale, {self.draws} posterior draws "
                                        f"(calibrated at {describe_scale(self.scale)})")
        return CalibrationOutcome(result, posterior, self.posterior_path, table, self.fit_path, self.plot_path,
                                  learned, self.identifiability_path, outlets, self.outlets_path)

"""`labor-stocks explain`: which assumption and which report drive each place's projection.

Two questions a briefing meets ("why 15,000 in Jilin in 2026, not 25,000?"), two answers:

- which assumption: Sobol indices of the stock at each place and date over every calibrated
  parameter, every ranged event field and the model's own randomness (`sensitivity.py`);
- which report: how far the median and 90% interval move when one report is left out of
  the posterior (importance reweighting, `influence.py`).

From Python (a notebook):

    from labor_stocks.scenarios.scenario import load_scenario
    from labor_stocks.ensemble.posterior import load_posterior
    from labor_stocks.calibration.reports import load_reports
    from labor_stocks.outputs.explain import explain
    result = explain(load_scenario("scenarios/baseline.toml"), posterior=load_posterior("calibration/posterior.csv"),
                     reports=load_reports("calibration/reports.csv"), jobs=2)
    result.sensitivity  # as sensitivity.csv; result.influence as influence.csv

Runs are at `scale` workers per agent (default `EXPLAIN_SCALE`, one agent per 10 workers): the
baseline's design has 34 inputs, so its default of 32 samples is over a thousand runs, which at
full scale take half an hour on 2 cores rather than minutes. The posterior's particles were
weighed against the reports at full scale; at one agent per 10 workers their z carry a little
more of the model's randomness, and `chance` weighs somewhat more than at full scale. `--scale
1` gives the figure at full scale, every worker an agent, for a final briefing. The folder (`explain_folder.py`) is
written all at once and replaces only an explain's own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..calibration.observation import Observation, observations
from ..calibration.priors import Prior
from ..calibration.reports import Report
from ..ensemble.plan import Replicate
from ..ensemble.posterior import NO_POSTERIOR, Posterior
from ..ensemble.processes import run_tasks
from ..errors import InputError
from ..files import figure_metadata, staged_folder
from ..scenarios.history import HISTORY_START
from ..scenarios.scenario import Scenario
from ..world.population import describe_scale
from .explain_figure import plot_explain
from .explain_folder import (CORRELATIONS_FILE, CORRELATIONS_FIRST, EXPLAIN_SUBFOLDER, FIGURE_FILE, INFLUENCE_COLUMNS,
                             INFLUENCE_FILE, INPUTS_FILE, RECORD_FILE, SENSITIVITY_FILE, VECTOR_FILE,
                             check_explain_folder)
from .influence import (DEFAULT_PARTICLES, RELIABLE_SHARE, ParticleRun, influence_table, particle_plans, particle_run,
                        particle_runs, unreliable_reports)
from .projection import PLACES, REQUIRED_PLACES, periods
from .run import git_commit, versions
from .sensitivity import (DEFAULT_SAMPLES, DesignPoint, Input, Points, StockRun, chance_input, design_points,
                          event_inputs, inputs_table, posterior_inputs, prior_inputs, rank_correlations,
                          saltelli_design, sobol_table)

DEFAULT_PLACES: tuple[str, ...] = REQUIRED_PLACES
EXPLAIN_SCALE = 10
"""Workers per agent in explain's runs (minutes, not half an hour, on 2 cores); `--scale 1` for every worker an agent."""
STRONG_CORRELATION = 0.5
"""A posterior rank correlation this strong (or stronger) is said beside the indices."""
ESTIMATOR = ("Saltelli design (SALib sample.sobol, scrambled Sobol' sequence), Saltelli 2010 first-order and Jansen "
             "total-order estimators (SALib analyze.sobol), no second-order indices: N x (D + 2) runs")


def default_out(scenario: Scenario) -> Path:
    """`outputs/<name>/explain/`, from the current folder: beside the scenario's run."""
    return Path("outputs") / scenario.name / EXPLAIN_SUBFOLDER


def explain_points(scenario: Scenario, at: Sequence[dt.date] | None, places: Sequence[str],
                   today: dt.date | None = None) -> Points:
    """The places and dates explained: `at` (default today, one year out and the end), each as the period holding it.

    A stock is read at the end of that period, as in projection.csv. An unknown place or a
    date outside the run is one InputError.
    """
    for place in places:
        if place not in PLACES:
            raise InputError(f"--places: unknown place {place!r} (known: {', '.join(PLACES)})")
    if at:
        for day in at:
            if not scenario.start <= day <= scenario.end:
                raise InputError(f"--at: {day} is outside the run ({scenario.start} to {scenario.end})")
        wanted = list(at)
    else:
        today = today or dt.date.today()
        try:
            year_out = today.replace(year=today.year + 1)
        except ValueError:  # 29 February
            year_out = today + dt.timedelta(days=365)
        wanted = [min(max(day, scenario.start), scenario.end) for day in (today, year_out, scenario.end)]
    ends = periods(HISTORY_START, scenario.start, scenario.end, scenario.output_freq).dates
    chosen = sorted({next(end for end in ends if end >= day) for day in wanted})
    return Points(tuple(dict.fromkeys(places)), tuple(chosen))


@dataclass
class ExplainResult:
    """What explain wrote: the folder, its tables, the run record (explain.json) and warnings."""

    out: Path
    sensitivity: pd.DataFrame
    influence: pd.DataFrame
    inputs: pd.DataFrame
    correlations: pd.DataFrame | None
    record: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the terminal: per place and date, the inputs and the report it rests on most."""
        lines = []
        for (place, date), rows in self.sensitivity.groupby(["place", "date"], sort=False):
            top = rows.nsmallest(3, "rank")
            inputs = ", ".join(f"{r.input} ({max(r.ST, 0):.2f})" for r in top.itertuples())
            line = (f"{place} {date}: {rows.stock_median.iloc[0]:,.0f} workers (design 90%: "
                    f"{rows.stock_p05.iloc[0]:,.0f} to {rows.stock_p95.iloc[0]:,.0f}); rests most on {inputs}")
            moved = self.influence[(self.influence.place == place) & (self.influence.date == date)]
            if len(moved):
                best = moved.iloc[0]
                line += (f"; without report {best.report} the median moves {best.median_shift:+,.0f}"
                         f"{'' if best.reliable else ' (reweighting unreliable)'}")
            lines.append(line)
        return "\n".join(lines)


def _reports_within(reports: Sequence[Report], scenario: Scenario) -> tuple[list[Observation], list[str]]:
    """The reports the scenario's runs can be compared with (ending by its end), and a warning for the others."""
    kept = [r for r in reports if r.period_end <= scenario.end]
    left = [r.id for r in reports if r.period_end > scenario.end]
    warnings = [f"report{'s' if len(left) > 1 else ''} {', '.join(left)} end{'' if len(left) > 1 else 's'} after the "
                f"scenario's end ({scenario.end}): left out of the influence"] if left else []
    return observations(kept), warnings


def _inputs(scenario: Scenario, priors: Sequence[Prior] | None,
            posterior: Posterior | None) -> tuple[list[Input], list[str]]:
    """The design's inputs (calibrated parameters the scenario does not set, ranged event fields, chance), and
    a warning for each calibrated parameter the scenario holds."""
    fixed = set(scenario.parameters)
    calibrated = [p.name for p in priors] if priors is not None else list(posterior.particles[0]) if posterior else []
    held = [name for name in calibrated if name in fixed]
    warnings = [f"{name} is set by the scenario ({scenario.parameters[name]!r} in [parameters]): held there, "
                f"not varied" for name in held]
    chosen = prior_inputs(priors, fixed) if priors is not None else posterior_inputs(posterior, fixed)
    return [*chosen, *event_inputs(scenario.events), chance_input()], warnings


def explain(scenario: Scenario, out: str | Path | None = None, at: Sequence[dt.date] | None = None,
            places: Sequence[str] = DEFAULT_PLACES, samples: int = DEFAULT_SAMPLES,
            posterior: Posterior | None = None, posterior_name: str | None = None,
            priors: Sequence[Prior] | None = None, priors_name: str = "", reports: Sequence[Report] | None = None,
            particles: int = DEFAULT_PARTICLES, scale: int = EXPLAIN_SCALE, seed: int | None = None, jobs: int = 1,
            scheduler: str | None = None, progress: bool = False, force: bool = False, today: dt.date | None = None,
            command: list[str] | None = None, checkpoint: Callable[[], None] | None = None,
            on_start: Callable[[str], None] | None = None) -> ExplainResult:
    """Explain `scenario`'s stocks at `places` and dates `at`; write the folder (default `outputs/<name>/explain/`).

    The calibrated parameters are drawn from `posterior` (weighted marginals), or from `priors`
    when given; the reports' influence needs the posterior and `reports`. `samples` is N of
    Saltelli's design (N x (D + 2) runs), `particles` the posterior particles run for the
    influence; all runs at `scale` workers per agent, in `jobs` processes or on the Dask
    scheduler at `scheduler`. Everything is checked before the first run; then `on_start` is
    told, in a line, what will run.
    """
    began = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    target = Path(out) if out is not None else default_out(scenario)
    check_explain_folder(target, force=force)
    if samples < 1:
        raise InputError(f"--samples: must be at least 1, got {samples}")
    if priors is None and posterior is None:
        raise InputError(f"no posterior to draw the calibrated parameters from ({posterior_name or NO_POSTERIOR}); "
                         f"give --posterior FILE, or --prior to draw them from the priors")
    points = explain_points(scenario, at, places, today)
    inputs, warnings = _inputs(scenario, priors, posterior)
    if scenario.parameters.get("scale", scale) != scale:
        warnings.append(f"the scenario's scale ({scenario.parameters['scale']} workers per agent) is replaced by "
                        f"--scale {scale}")
    scaled = dataclasses.replace(scenario, parameters={**scenario.parameters, "scale": int(scale)})
    observed: list[Observation] = []
    if posterior is None or not reports:
        warnings.append("the reports' influence needs a posterior and reports: influence.csv is empty")
    else:
        observed, left_out = _reports_within(reports, scenario)
        warnings += left_out
    correlations = None
    if posterior is not None:
        names = [name for name in posterior.particles[0] if name not in scenario.parameters]
        correlations = rank_correlations(posterior, names) if names else None
        if correlations is not None:
            warnings += _strong_correlations(correlations)

    design = saltelli_design(inputs, samples, seed)
    design_runs = design_points(scaled, design, seed)
    plans, weights = particle_plans(scaled, posterior, particles, seed) if observed else ([], np.array([]))
    last = max(points.dates)
    end = max([last, *(o.report.period_end for o in observed)])
    planned = time.perf_counter()
    if on_start is not None:
        on_start(f"{len(design_runs)} runs for the sensitivity ({samples} samples x ({len(inputs)} inputs + 2): "
                 f"{', '.join(inp.name for inp in inputs)}), {len(plans)} posterior particles for the influence of "
                 f"{len(observed)} reports; {describe_scale(scale)}")
    work = ExplainRun(StockRun(tuple(scaled.events), last, points), particle_run(scaled, observed, points, end))
    bar = tqdm(total=len(design_runs) + len(plans), desc=f"explain {scenario.name}", unit="run", disable=not progress,
               leave=False)
    try:
        results = run_tasks(work, [*design_runs, *plans], jobs=jobs, scheduler=scheduler,
                            on_result=lambda _: bar.update())
    finally:
        bar.close()
    simulated = time.perf_counter()
    stocks = np.stack(results[:len(design_runs)]).astype(np.float64)
    sensitivity = sobol_table(design, stocks, points, seed)
    influence = (influence_table(particle_runs(weights, observed, results[len(design_runs):]), points) if plans
                 else pd.DataFrame(columns=list(INFLUENCE_COLUMNS)))
    lost = unreliable_reports(influence) if len(influence) else []
    if lost:
        warnings.append(f"leaving out {', '.join(lost)} leaves too few effective particles (below "
                        f"{RELIABLE_SHARE:.0%} of the posterior's): the reweighting cannot say how far "
                        f"{'they move' if len(lost) > 1 else 'it moves'} the projection; recalibrate without "
                        f"{'them' if len(lost) > 1 else 'it'} to know")
    inputs_shown = inputs_table(design, correlations)
    record = {
        "command": "labor-stocks explain", "scenario": scenario.name, "file": scenario.path, "seed": seed,
        "samples": samples, "scale": int(scale), "places": list(points.places),
        "dates": [d.isoformat() for d in points.dates],
        "inputs": [inp.name for inp in inputs], "estimator": ESTIMATOR,
        "drawn_from": (f"priors {priors_name}" if priors is not None else f"posterior {posterior_name or ''}").strip(),
        "posterior": posterior_name if posterior is not None else NO_POSTERIOR,
        "runs": {"sensitivity": int(len(design.unit)), "influence": len(plans)},
        "reports": [o.report.id for o in observed], "posterior_ess": _ess(weights) if len(weights) else None,
        "execution": {"jobs": None if scheduler else jobs, "scheduler": scheduler,
                      "command": command if command is not None else sys.argv},
        "versions": {**versions(), "SALib": _salib_version()}, "git": git_commit(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "warnings": warnings,
    }
    if checkpoint is not None:
        checkpoint()
    check_explain_folder(target, force=force)  # again: a file may have appeared while the runs ran
    with staged_folder(target) as staging:
        _write_table(sensitivity, staging / SENSITIVITY_FILE)
        _write_table(influence, staging / INFLUENCE_FILE)
        _write_table(inputs_shown, staging / INPUTS_FILE)
        _write_correlations(correlations, staging / CORRELATIONS_FILE)
        plot_explain(sensitivity, influence, points, [staging / FIGURE_FILE, staging / VECTOR_FILE],
                     title=f"{scenario.name}: what the projection of workers present rests on",
                     metadata=figure_metadata("explain"), samples=samples, particles=len(plans))
        record["timings"] = {"total_seconds": round(time.perf_counter() - began, 3),
                             "planning_seconds": round(planned - began, 3),
                             "simulation_seconds": round(simulated - planned, 3),
                             "seconds_per_run": round((simulated - planned) / max(len(results), 1), 4)}
        (staging / RECORD_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
        if checkpoint is not None:
            checkpoint()
    return ExplainResult(target, sensitivity, influence, inputs_shown, correlations, record, warnings)


@dataclass(frozen=True)
class ExplainRun:
    """One task of explain, in whichever process runs it: a design point, or a posterior particle's plan."""

    design: StockRun
    particle: ParticleRun

    def __call__(self, task: DesignPoint | Replicate) -> Any:
        return self.design(task) if isinstance(task, DesignPoint) else self.particle(task)


def _strong_correlations(correlations: pd.DataFrame) -> list[str]:
    names = list(correlations.index)
    found = [(abs(correlations.iloc[i, j]), names[i], names[j], correlations.iloc[i, j])
             for i in range(len(names)) for j in range(i + 1, len(names))
             if abs(correlations.iloc[i, j]) >= STRONG_CORRELATION]
    return [f"the posterior correlates {a} and {b} (rank correlation {rho:+.2f}); the design draws them "
            f"independently: read their indices together" for _, a, b, rho in sorted(found, reverse=True)]


def _ess(weights: np.ndarray) -> float:
    return round(float(1.0 / np.sum(np.square(weights))), 1)


def _salib_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("SALib")
    except metadata.PackageNotFoundError:
        return "not installed"


def _write_correlations(correlations: pd.DataFrame | None, path: Path) -> None:
    """correlations.csv: the square table, or its first column's name alone when there is no posterior."""
    if correlations is None:
        path.write_text(f"{CORRELATIONS_FIRST}\n", encoding="utf-8")
        return
    correlations.rename_axis(CORRELATIONS_FIRST).reset_index().to_csv(path, index=False, float_format="%.4f",
                                                                       lineterminator="\n")


def _write_table(table: pd.DataFrame, path: Path) -> None:
    table.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")

"""A scenario run from start to finish: ensemble, projection table, run record and plot, written at once.

`run_scenario` is what `labor-stocks run` calls, and what a notebook calls too:

    from labor_stocks.scenarios.scenario import load_scenario
    from labor_stocks.outputs.run import run_scenario
    result = run_scenario(load_scenario("scenarios/baseline.toml"), "outputs/baseline", jobs=2)
    result.table  # the projection (as projection.csv)

The folder receives `projection.csv`, `run.json` (the resolved scenario, seed, versions, git
commit, posterior, timings), `projection.png` and `replicates.npz` (every replicate's values
per period, which `labor-stocks compare` pairs across scenarios), all or none (see
`labor_stocks.files.staged_folder`); a folder holding anything else is never replaced (see
`labor_stocks.outputs.run_folder`), but for the `explain/` folder of `labor-stocks explain`,
which is kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..ensemble.plan import Replicate
from ..ensemble.runner import plan_replicates, run_ensemble
from ..errors import InputError
from ..scenarios.history import HISTORY_START
from ..files import staged_folder
from ..ensemble.posterior import DEFAULT_POSTERIOR, Posterior, load_posterior
from ..calibration.reports import Report, load_reports
from ..scenarios.scenario import Scenario
from ..world.events import Event
from .plotting import plot_projection
from .projection import QUANTITIES, REPLICATES_FILE, period_values, periods, summarise, write_projection, write_replicates
from .run_folder import FIGURE_FILE, KEPT, PROJECTION_FILE, PosteriorUse, RunRecord, check_run_folder, write_record

DEFAULT_REPORTS = Path("calibration/reports.csv")
NO_POSTERIOR = "none (default parameters)"
PACKAGES = ("labor-stocks", "numpy", "scipy", "pandas", "mesa", "matplotlib", "dask", "distributed", "tqdm", "pyabc")


@dataclass
class RunResult:
    """What a run wrote: the folder, the projection table and the run record (run.json)."""

    out: Path
    table: pd.DataFrame
    record: RunRecord
    warnings: list[str] = field(default_factory=list)


def posterior_candidates(scenario_path: str | Path | None = None) -> list[Path]:
    """Where a run looks for the calibrated posterior when none is named, in order.

    First the project the scenario file belongs to (`<project>/calibration/posterior.csv`
    for `<project>/scenarios/x.toml`), then the current folder's: running a scenario from
    another folder keeps its project's calibration.
    """
    found = []
    if scenario_path:
        project = Path(scenario_path).resolve().parent.parent
        found.append(project / DEFAULT_POSTERIOR)
    found.append(DEFAULT_POSTERIOR)
    return found


def choose_posterior(option: str | None, scenario_path: str | Path | None = None) -> tuple[Posterior | None, str]:
    """The posterior to draw from and how to name it: `option` (a file, or "none"), else the first candidate found."""
    if option is not None and option.lower() == "none":
        return None, NO_POSTERIOR
    if option is None:
        present = [path for path in posterior_candidates(scenario_path) if path.is_file()]
        if not present:
            looked = ", ".join(str(p) for p in dict.fromkeys(posterior_candidates(scenario_path)))
            return None, f"{NO_POSTERIOR}: no posterior at {looked}"
        option = str(present[0])
    posterior = load_posterior(option)
    return posterior, f"{option} ({len(posterior.particles)} particles)"


def ranged_fields(scenario: Scenario) -> list[tuple[str, Event, str]]:
    """Every ranged event field of `scenario` as (label, event, key); the label is "<event id or index>.<key>"."""
    out = []
    for index, event in enumerate(scenario.events, start=1):
        for key in sorted(event.ranges):
            out.append((f"{event.id or f'events[{index}]'}.{key}", event, key))
    return out


def ranged_draws(scenario: Scenario, plans: Sequence[Replicate]) -> tuple[list[str], np.ndarray]:
    """What each replicate drew for each ranged field: labels, and values [replicate, field] (dates as days since 1970)."""
    fields = ranged_fields(scenario)
    epoch = dt.date(1970, 1, 1)
    values = np.zeros((len(plans), len(fields)))
    for r, plan in enumerate(plans):
        for f, (_, event, key) in enumerate(fields):
            value = event.drawn_values(plan.seed)[key]
            values[r, f] = (dt.date.fromisoformat(value) - epoch).days if key == "date" else float(value)
    return [label for label, _, _ in fields], values


def default_out(scenario: Scenario) -> Path:
    """`outputs/<name>/`, from the current folder."""
    return Path("outputs") / scenario.name


def _reports(path: Path) -> tuple[list[Report], str | None]:
    """The reported figures to draw, and a warning when the ledger cannot be read (the run goes on)."""
    if not path.is_file():
        return [], None
    try:
        return load_reports(path), None
    except InputError as error:
        return [], f"reports not drawn: {error}"


def versions() -> dict[str, str]:
    """Python and the versions of the packages a result depends on."""
    out = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def git_commit() -> dict[str, Any] | None:
    """The commit of the code that ran, and whether files differed from it; None outside a git checkout."""
    folder = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10)
        if commit.returncode != 0:
            return None
        status = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "modified": bool(status.stdout.strip())}


def run_scenario(scenario: Scenario, out: str | Path | None = None, replicates: int | None = None,
                 seed: int | None = None, jobs: int = 1, scheduler: str | None = None,
                 posterior: Posterior | None = None, posterior_name: str = NO_POSTERIOR,
                 reports: str | Path = DEFAULT_REPORTS, progress: bool = False,
                 command: list[str] | None = None, checkpoint: Callable[[], None] | None = None,
                 force: bool = False) -> RunResult:
    """Run the ensemble of `scenario` and write its folder (default `outputs/<name>/`).

    `replicates` and `seed` override the scenario's; `jobs` local processes, or the Dask
    scheduler at `scheduler`; replicate i draws its parameters from `posterior` when given.
    The folder is checked before any simulation: it is replaced only when all it holds is a
    run's (`check_run_folder`; `force` replaces files with a run's names but other content).
    `checkpoint` is called after the simulations and just before the folder is put in place;
    it may raise to abandon the run (the command line re-raises an interruption there that a
    finaliser swallowed), leaving any earlier result untouched.
    """
    began = time.perf_counter()
    scenario = dataclasses.replace(scenario, replicates=replicates or scenario.replicates,
                                   seed=scenario.seed if seed is None else seed)
    target = Path(out) if out is not None else default_out(scenario)
    check_run_folder(target, force=force)
    reported, warning = _reports(Path(reports))

    plans = plan_replicates(scenario, scenario.replicates, scenario.seed, posterior)
    folding = periods(HISTORY_START, scenario.start, scenario.end, scenario.output_freq)
    simulating = time.perf_counter()
    outcomes = run_ensemble(scenario, plans, partial(period_values, periods=folding), jobs=jobs,
                            scheduler=scheduler, progress=progress)
    simulated = time.perf_counter()
    if checkpoint is not None:
        checkpoint()
    values = np.stack([outcome.value for outcome in outcomes])
    table = summarise(scenario.name, values, folding)

    replicate_seconds = [outcome.seconds for outcome in outcomes]
    record = RunRecord(
        scenario={**scenario.as_dict(), "own_events": [event.as_dict() for event in scenario.own_events]},
        seed=scenario.seed,
        replicates=scenario.replicates,
        replicate_seeds=[plan.seed for plan in plans],
        posterior=PosteriorUse(used=posterior_name, file=posterior.path if posterior is not None else None,
                               drawn=[plan.drawn for plan in plans] if posterior is not None else None),
        replicate_values={"file": REPLICATES_FILE, "arrays": list(QUANTITIES), "axes": ["replicate", "place", "period"],
                          "shape": [values.shape[0], values.shape[2], values.shape[3]], "unit": "workers"},
        reports={"file": str(reports), "drawn": len(reported), "warning": warning},
        execution={"jobs": None if scheduler else jobs, "scheduler": scheduler,
                   "command": command if command is not None else sys.argv},
        versions=versions(),
        git=git_commit(),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        ranges=[{"field": label, "event": event.as_dict()} for label, event, _ in ranged_fields(scenario)],
    )
    check_run_folder(target, force=force)  # again: a file may have appeared while the replicates ran
    with staged_folder(target, keep=KEPT) as staging:
        writing = time.perf_counter()
        write_projection(table, staging / PROJECTION_FILE)
        write_replicates(values, [plan.seed for plan in plans], folding, staging / REPLICATES_FILE,
                         ranged_draws(scenario, plans))
        plot_projection(table, scenario, reported, staging / FIGURE_FILE, scenario.replicates)
        write_seconds = time.perf_counter() - writing
        record = dataclasses.replace(record, timings={
            "total_seconds": round(time.perf_counter() - began, 3),
            "planning_seconds": round(simulating - began, 3),
            "simulation_seconds": round(simulated - simulating, 3),
            "replicate_seconds_mean": round(sum(replicate_seconds) / len(replicate_seconds), 3),
            "replicate_seconds_max": round(max(replicate_seconds), 3),
            "writing_seconds": round(write_seconds, 3),
        })
        write_record(record, staging)
        if checkpoint is not None:
            checkpoint()
    return RunResult(target, table, record, [warning] if warning else [])

"""Scenarios side by side (`labor-stocks compare`): gather the runs, then write one figure and one table.

The inputs are finished run folders (read back by `labor_stocks.outputs.run_folder`) and
scenario files, which are run first into `outputs/<name>/` as `labor-stocks run` would. Every
input and every place the command will write is checked before the first simulation. The
pieces live beside this module: the paired differences in `pairing`, the table in
`comparison_table`, the figure in `comparison_figure`.

From Python (a notebook):

    from labor_stocks.outputs.compare import compare
    result = compare(["outputs/baseline", "outputs/border_reopening"], "outputs/comparison.png",
                     relative_to="baseline")
    result.table  # as comparison.csv

What it may overwrite: the PNG, SVG and CSV of a comparison only when each is absent or a
comparison's own (the table by its header, a figure by its mark, or an image beside a
comparison table), never one of its inputs, never a file inside a run folder; a scenario's
run folder only when all it holds is a run's (`run_folder.check_run_folder`). `force`
replaces files of the right names that are not recognised; it never deletes other files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..calibration.reports import Report, load_reports
from ..ensemble.posterior import DEFAULT_POSTERIOR
from ..errors import InputError
from ..files import carries_mark, check_replaceable, inside, is_image, same_file, write_files
from ..scenarios.scenario import Scenario, load_scenario
from .comparison_figure import plot_comparison
from .comparison_table import comparison_table, is_comparison_table, table_dates, write_table
from .pairing import check_paired
from .projection import PLACES, QUANTITIES, REQUIRED_PLACES
from .run_folder import RUN_FILES, ComparedRun, check_run_folder, load_run

DEFAULT_OUT = Path("outputs/comparison.png")
DEFAULT_REPORTS = Path("calibration/reports.csv")
DEFAULT_PLACES: tuple[str, ...] = REQUIRED_PLACES


# --- the runs --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunOptions:
    """How scenario files given instead of run folders are run: as `labor-stocks run` would.

    `force` lets a run replace files with a run's names that are not recognisably a run's.
    """

    replicates: int | None = None
    seed: int | None = None
    jobs: int = 1
    scheduler: str | None = None
    posterior: str | None = None
    progress: bool = False
    command: list[str] | None = None
    force: bool = False


@dataclass
class Inputs:
    """A comparison's inputs as read, before anything runs: run folders loaded, scenario files resolved."""

    count: int
    runs: dict[int, ComparedRun]
    scenarios: list[tuple[int, Path, Scenario]]

    def targets(self) -> list[tuple[Path, Path]]:
        """Each scenario file and the run folder it is run into (`outputs/<name>/`)."""
        from .run import default_out

        return [(path, default_out(scenario)) for _, path, scenario in self.scenarios]

    def files(self) -> list[Path]:
        """Every file the comparison reads: the run folders' files, the scenario files and those they extend."""
        read = [run.folder / name for run in self.runs.values() for name in RUN_FILES]
        read += [Path(link) for _, _, scenario in self.scenarios for link in scenario.chain]
        return read

    def folders(self) -> list[Path]:
        """The run folders read and written: no other output may go inside one."""
        return [run.folder for run in self.runs.values()] + [out for _, out in self.targets()]


def read_inputs(inputs: Sequence[str | Path]) -> Inputs:
    """Read every run folder and scenario file given; InputError for the first that is wrong."""
    kinds: list[tuple[str, Path, Scenario | None]] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            kinds.append(("run", path, None))
        elif path.suffix == ".toml":
            kinds.append(("scenario", path, load_scenario(path)))
        elif not path.exists():
            raise InputError(f"{path}: no such run folder or scenario file")
        else:
            raise InputError(f"{path}: neither a run folder (from labor-stocks run) nor a scenario file (.toml)")
    runs: dict[int, ComparedRun] = {}
    for i, (kind, path, _) in enumerate(kinds):
        if kind != "run":
            continue
        twice = [run.folder for run in runs.values() if same_file(run.folder, [path])]
        if twice:
            also = f" (as {twice[0]})" if str(twice[0]) != str(path) else ""
            raise InputError(f"{path}: given twice{also}; to see a run against itself, compare it with "
                             f"a copy of its folder")
        runs[i] = load_run(path)
    scenarios = [(i, path, scenario) for i, (kind, path, scenario) in enumerate(kinds) if scenario is not None]
    named: dict[str, Path] = {}
    for _, path, scenario in scenarios:
        if scenario.name in named:
            raise InputError(f"{path}: names scenario {scenario.name!r}, as {named[scenario.name]} does; "
                             f"both would be written to outputs/{scenario.name}/")
        named[scenario.name] = path
    return Inputs(len(kinds), runs, scenarios)


def check_targets(found: Inputs, force: bool = False) -> None:
    """Before any run: each scenario's folder may be replaced, and none is a run folder given as an input."""
    for path, out in found.targets():
        given = [run.folder for run in found.runs.values() if same_file(run.folder, [out])]
        if given:
            raise InputError(f"{path}: would be run into {out}, which is also given as a run folder to compare; "
                             f"give only one of them")
        check_run_folder(out, option=str(path), force=force)


def run_scenarios(found: Inputs, options: RunOptions = RunOptions(),
                  on_run: Callable[[Scenario, Path, str], None] | None = None) -> list[ComparedRun]:
    """Run the scenario files into their folders and return every run, in the order given."""
    from .run import choose_posterior, run_scenario

    runs = dict(found.runs)
    if found.scenarios:
        posterior, posterior_name = choose_posterior(options.posterior, found.scenarios[0][1])
        for (i, path, scenario), (_, out) in zip(found.scenarios, found.targets()):
            if on_run is not None:
                on_run(scenario, out, posterior_name)
            run_scenario(scenario, out, replicates=options.replicates, seed=options.seed, jobs=options.jobs,
                         scheduler=options.scheduler, posterior=posterior, posterior_name=posterior_name,
                         progress=options.progress, command=options.command, force=options.force)
            runs[i] = load_run(out)
    ordered = [runs[i] for i in range(found.count)]
    names = [run.name for run in ordered]
    for run in ordered:
        if names.count(run.name) > 1:
            run.label = f"{run.name} ({run.folder})"
    return ordered


def gather_runs(inputs: Sequence[str | Path], options: RunOptions = RunOptions(),
                on_run: Callable[[Scenario, Path, str], None] | None = None) -> list[ComparedRun]:
    """Run folders as they are, scenario files run first into `outputs/<name>/`; in the order given.

    Every input is checked before any scenario runs, so a typo in the last argument costs
    no simulation. `on_run(scenario, folder, posterior_name)` is told before each run.
    """
    found = read_inputs(inputs)
    check_targets(found, options.force)
    return run_scenarios(found, options, on_run)


def check_comparable(runs: Sequence[ComparedRun], quantity: str, places: Sequence[str]) -> None:
    """Runs can share a figure and a table: the quantity, the places and the period length are in every one."""
    check_choices(quantity, places)
    for run in runs:
        rows = run.table[run.table["quantity"] == quantity]
        if rows.empty:
            raise InputError(f"{run.folder}/projection.csv: no rows for quantity {quantity!r}; runs cannot be compared")
        missing = [place for place in places if place not in set(rows["place"])]
        if missing:
            raise InputError(f"{run.folder}/projection.csv: no rows for place {missing[0]!r}; "
                             f"runs cannot be compared there")
    first = runs[0]
    for run in runs[1:]:
        if run.scenario.output_freq != first.scenario.output_freq:
            raise InputError(f"runs cannot be compared: {first.folder} has one value per "
                             f"{first.scenario.output_freq}, {run.folder} per {run.scenario.output_freq} "
                             f"(run them with the same output_freq)")


def check_choices(quantity: str, places: Sequence[str]) -> None:
    """The quantity and places asked for exist, and no place is named twice."""
    if quantity not in QUANTITIES:
        raise InputError(f"--quantity: unknown quantity {quantity!r} (known: {', '.join(QUANTITIES)})")
    for place in places:
        if place not in PLACES:
            raise InputError(f"--places: unknown place {place!r} (known: {', '.join(PLACES)})")
    if not places:
        raise InputError("--places: name at least one place")
    if len(set(places)) != len(places):
        raise InputError("--places: a place is named twice")


def _reports(path: Path | None) -> tuple[list[Report], str | None]:
    """The reported figures to draw, and a warning when the ledger cannot be read (the comparison goes on)."""
    if path is None or not Path(path).is_file():
        return [], None
    try:
        return load_reports(path), None
    except InputError as error:
        return [], f"reports not drawn: {error}"


# --- what is written -------------------------------------------------------------------------

@dataclass
class ComparisonResult:
    """What a comparison wrote: the figure (PNG, SVG), the table (CSV) and the runs it compared."""

    runs: list[ComparedRun]
    table: pd.DataFrame
    png: Path
    svg: Path
    csv: Path
    warnings: list[str] = field(default_factory=list)


def output_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """The PNG, the SVG beside it (same stem) and the CSV beside it (same stem: comparison.csv by default)."""
    png = Path(out)
    if png.suffix.lower() != ".png":
        raise InputError(f"--out: {png}: give a .png file name (the .svg and .csv are written beside it)")
    if png.is_dir():
        raise InputError(f"--out: {png} is a folder, not a file name")
    return png, png.with_suffix(".svg"), png.with_suffix(".csv")


def check_outputs(png: Path, svg: Path, csv: Path, inputs: Sequence[Path], run_folders: Sequence[Path],
                  force: bool = False) -> None:
    """The comparison may write its three files: none is an input or inside a run folder, each is absent or
    a comparison's own (the table by its header; a figure by its mark, or an image beside a comparison table)."""
    table_is_ours = csv.is_file() and not csv.is_symlink() and is_comparison_table(csv)
    for path in (png, svg, csv):
        for folder in run_folders:
            if inside(path.parent, folder):
                raise InputError(f"--out: {path} would be inside the run folder {folder}, which holds only a run's "
                                 f"files; write the comparison elsewhere")

        def ours(existing: Path) -> bool:
            if existing.suffix.lower() == ".csv":
                return is_comparison_table(existing)
            return carries_mark(existing, "compare") or (is_image(existing) and table_is_ours)

        check_replaceable(path, "--out", ours, "compare", inputs=inputs, force=force)


def compare(inputs: Sequence[str | Path], out: str | Path = DEFAULT_OUT, quantity: str = "stock",
            places: Sequence[str] = DEFAULT_PLACES, at: Sequence[dt.date] | None = None,
            since: dt.date | None = None, relative_to: str | None = None,
            reports: str | Path | None = DEFAULT_REPORTS, today: dt.date | None = None,
            options: RunOptions = RunOptions(),
            on_run: Callable[[Scenario, Path, str], None] | None = None) -> ComparisonResult:
    """Compare finished runs (folders) and scenario files (run first into outputs/<name>/).

    Writes `out` (PNG), the SVG and the table (CSV) beside it; returns the table. Every
    check that can fail (options, places, files, what would be overwritten) runs before any
    scenario is simulated; a refused comparison leaves every file as it was.
    """
    png, svg, csv = output_paths(out)
    places = list(places)
    check_choices(quantity, places)
    found = read_inputs(inputs)
    check_targets(found, options.force)
    read = [*found.files(), *([Path(reports)] if reports is not None else [])]
    for posterior in (options.posterior, str(DEFAULT_POSTERIOR)):
        if posterior is not None and posterior.lower() != "none":
            read.append(Path(posterior))
    check_outputs(png, svg, csv, read, found.folders(), options.force)

    runs = run_scenarios(found, options, on_run)
    check_comparable(runs, quantity, places)
    base = None
    if relative_to is not None:
        matches = [run for run in runs if relative_to in (run.label, run.name, str(run.folder))]
        if not matches:
            raise InputError(f"--relative-to: {relative_to!r} is not among the runs "
                             f"({', '.join(run.label for run in runs)})")
        if len(matches) > 1:
            raise InputError(f"--relative-to: {relative_to!r} names several runs; give the run folder instead")
        base = matches[0]
        for run in runs:
            if run is not base:
                check_paired(run, base)
    end = max(run.scenario.end for run in runs)
    if since is not None and since >= end:
        raise InputError(f"--since: {since} is not before the end of the runs ({end})")
    dates = table_dates(runs, quantity, at, today)
    table = comparison_table(runs, quantity, places, dates, base)
    drawn, warning = _reports(Path(reports) if reports is not None else None)
    check_outputs(png, svg, csv, read, found.folders(), options.force)  # again: the runs took a while
    try:
        png.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"--out: cannot create the folder {png.parent} ({error.strerror or error})") from None
    try:
        write_files([png, svg, csv], lambda paths: (
            plot_comparison(runs, quantity, places, drawn, paths[0], paths[1], since, base),
            write_table(table, paths[2])))
    except OSError as error:
        raise InputError(f"--out: cannot write {png} ({error.strerror or error})") from None
    return ComparisonResult(runs, table, png, svg, csv, [warning] if warning else [])


__all__ = ["DEFAULT_OUT", "DEFAULT_PLACES", "ComparisonResult", "Inputs", "RunOptions", "check_comparable",
           "check_outputs", "compare", "gather_runs", "output_paths", "read_inputs", "run_scenarios"]

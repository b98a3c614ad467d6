"""Scenarios side by side: one figure and one table from finished runs (`labor-stocks compare`).

Our users brief others with these figures, so the figure is meant to be pasted unchanged:
one panel per place (the four provinces and China by default), one colour per scenario
(the same colour for a scenario's name in every figure), each scenario's median with its
50% and 90% bands, the scenarios' own dated events on a numbered timeline, and the figures
reported in `calibration/reports.csv` drawn on top, so that a reader sees where the
scenarios part and which of them the reports support.

The difference view (`relative_to`) shows each scenario minus a base scenario. Its bands
come from paired replicates: replicate i of both runs had the same seed and the same
posterior draw (see `labor_stocks.ensemble.runner`), so their difference is what the scenarios change
and nothing else. Subtracting the two runs' quantiles instead would mix the spread of both
ensembles into the difference and show uncertainty that is not there.

From Python (a notebook):

    from labor_stocks.outputs.compare import compare
    result = compare(["outputs/baseline", "outputs/border_reopening"], "outputs/comparison.png",
                     relative_to="baseline")
    result.table  # as comparison.csv

The table (`comparison.csv`) holds each scenario's median and 90% interval per place at
the chosen dates, copied from each run's own projection.csv, plus the paired difference
from the base scenario when there is one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
import textwrap
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.legend_handler import HandlerTuple  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from ..errors import InputError  # noqa: E402
from ..world.events import Event, parse_event  # noqa: E402
from ..world.geography import CHINA, OVERSEAS, cities_in  # noqa: E402
from ..scenarios.history import HISTORY_START, load_history  # noqa: E402
from ..outputs.plotting import _label as event_label  # noqa: E402
from ..outputs.projection import (COLUMNS, PLACES, QUANTITIES, REPLICATES_FILE, REQUIRED_PLACES, Replicates,  # noqa: E402
                         periods, read_replicates)
from ..calibration.reports import Report, load_reports  # noqa: E402
from ..scenarios.scenario import Scenario, load_scenario  # noqa: E402

DEFAULT_OUT = Path("outputs/comparison.png")
DEFAULT_REPORTS = Path("calibration/reports.csv")
DEFAULT_PLACES: tuple[str, ...] = REQUIRED_PLACES
TABLE_COLUMNS: tuple[str, ...] = ("scenario", "run", "quantity", "place", "date", "median", "p05", "p95")
DIFFERENCE_COLUMNS: tuple[str, ...] = ("relative_to", "difference_median", "difference_p05", "difference_p95")

SCENARIO_COLOURS: dict[str, str] = {
    "baseline": "#0072B2",
    "border_reopening": "#E69F00",
    "sanctions_enforcement": "#D55E00",
    "northeast_expansion": "#009E73",
    "defection_response": "#CC79A7",
}
"""Fixed colours of the shipped scenarios (Okabe-Ito, readable by colour-blind readers): baseline is always blue."""

OTHER_COLOURS: tuple[str, ...] = ("#56B4E9", "#882255", "#44AA99", "#999933", "#332288", "#AA4499",
                                  "#117733", "#661100", "#6699CC", "#DDAA33")
"""Colours of other scenarios, picked by a checksum of the name so that a name keeps its colour across figures."""

REPORT_COLOUR = "#111111"
QUANTITY_TITLES = {"stock": "workers present", "inflow": "arrivals", "outflow": "departures (repatriation)",
                   "defections": "defections"}
PLACE_TITLES = {"Other": "Other (rest of China)", CHINA: "China (total)"}
_FREQ_WORDS = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}


# --- runs ------------------------------------------------------------------------------------

@dataclass
class ComparedRun:
    """A finished run folder as a comparison needs it: its scenario, run record and projection table."""

    label: str
    folder: Path
    scenario: Scenario
    record: dict[str, Any]
    table: pd.DataFrame
    _replicates: Replicates | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.scenario.name

    def dates(self, quantity: str = "stock") -> list[dt.date]:
        """The period dates of the projection (the last day of each period), in order."""
        rows = self.table[self.table["quantity"] == quantity]
        return sorted({dt.date.fromisoformat(d) for d in rows["date"]})

    def period_days(self) -> dict[dt.date, tuple[dt.date, int]]:
        """For each period date: the period's first day and its length in days (flows are sums over it)."""
        folded = periods(HISTORY_START, self.scenario.start, self.scenario.end, self.scenario.output_freq)
        first = self.scenario.start
        return {date: (first + dt.timedelta(days=int(start)), int(days))
                for date, start, days in zip(folded.dates, folded.starts, folded.days)}

    def replicates(self) -> Replicates:
        """Every replicate's values (replicates.npz), checked against run.json; read once."""
        if self._replicates is None:
            path = self.folder / REPLICATES_FILE
            if not path.is_file():
                raise InputError(f"{self.folder}: no {REPLICATES_FILE} (the run predates per-replicate output); "
                                 f"run the scenario again with labor-stocks run for a difference view")
            try:
                values = read_replicates(path)
            except (OSError, KeyError, ValueError) as error:
                raise InputError(f"{path}: cannot be read ({error})") from None
            if [int(s) for s in values.seeds] != [int(s) for s in self.record.get("replicate_seeds", [])]:
                raise InputError(f"{path}: its seeds differ from run.json's replicate_seeds; the folder is mixed up")
            self._replicates = values
        return self._replicates


def _scenario_of(record: dict[str, Any], where: str) -> Scenario:
    """The resolved scenario recorded in run.json, events included (history's and the scenario's own)."""
    table = record["scenario"]
    events = tuple(parse_event(e, f"{where}: scenario.events[{i}]") for i, e in enumerate(table["events"], 1))
    if "own_events" in table:
        own = tuple(parse_event(e, f"{where}: scenario.own_events[{i}]")
                    for i, e in enumerate(table["own_events"], 1))
    else:  # a run from before own_events were recorded: what the shared history does not hold
        shared = {json.dumps(e.as_dict(), sort_keys=True) for e in load_history()}
        own = tuple(e for e in events if json.dumps(e.as_dict(), sort_keys=True) not in shared)
    return Scenario(name=str(table["name"]), description=str(table.get("description", "")),
                    start=dt.date.fromisoformat(table["start"]), end=dt.date.fromisoformat(table["end"]),
                    replicates=int(record["replicates"]), seed=int(record["seed"]),
                    output_freq=str(table["output_freq"]), parameters=dict(table.get("parameters", {})),
                    events=events, own_events=own, chain=tuple(table.get("chain", ())))


def load_run(folder: str | Path) -> ComparedRun:
    """Read a folder written by `labor-stocks run`; InputError naming the folder when it is not one."""
    folder = Path(folder)
    for needed in ("run.json", "projection.csv"):
        if not (folder / needed).is_file():
            raise InputError(f"{folder}: not a finished run folder: no {needed} (make one with labor-stocks run)")
    where = str(folder / "run.json")
    try:
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{where}: cannot be read ({error})") from None
    try:
        scenario = _scenario_of(record, where)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InputError(f"{where}: not a run record: key {error} missing or wrong") from None
    try:
        table = pd.read_csv(folder / "projection.csv", keep_default_na=False, dtype={"date": str})
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"{folder / 'projection.csv'}: cannot be read ({str(error).splitlines()[0]})") from None
    if tuple(table.columns) != COLUMNS:
        raise InputError(f"{folder / 'projection.csv'}: not a projection table (columns {', '.join(table.columns)})")
    return ComparedRun(scenario.name, folder, scenario, record, table)


@dataclass(frozen=True)
class RunOptions:
    """How scenario files given instead of run folders are run: as `labor-stocks run` would."""

    replicates: int | None = None
    seed: int | None = None
    jobs: int = 1
    scheduler: str | None = None
    posterior: str | None = None
    progress: bool = False
    command: list[str] | None = None


def gather_runs(inputs: Sequence[str | Path], options: RunOptions = RunOptions(),
                on_run: Callable[[Scenario, Path, str], None] | None = None) -> list[ComparedRun]:
    """Run folders as they are, scenario files run first into `outputs/<name>/`; in the order given.

    Every input is checked before any scenario runs, so a typo in the last argument costs
    no simulation. `on_run(scenario, folder, posterior_name)` is told before each run.
    """
    from ..outputs.run import choose_posterior, default_out, run_scenario

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
    runs: dict[int, ComparedRun] = {i: load_run(path) for i, (kind, path, _) in enumerate(kinds) if kind == "run"}
    scenarios = [(i, path, scenario) for i, (kind, path, scenario) in enumerate(kinds) if scenario is not None]
    named: dict[str, Path] = {}
    for _, path, scenario in scenarios:
        if scenario.name in named:
            raise InputError(f"{path}: names scenario {scenario.name!r}, as {named[scenario.name]} does; "
                             f"both would be written to outputs/{scenario.name}/")
        named[scenario.name] = path
    if scenarios:
        posterior, posterior_name = choose_posterior(options.posterior)
        for i, path, scenario in scenarios:
            out = default_out(scenario)
            if on_run is not None:
                on_run(scenario, out, posterior_name)
            run_scenario(scenario, out, replicates=options.replicates, seed=options.seed, jobs=options.jobs,
                         scheduler=options.scheduler, posterior=posterior, posterior_name=posterior_name,
                         progress=options.progress, command=options.command)
            runs[i] = load_run(out)
    ordered = [runs[i] for i in range(len(kinds))]
    names = [run.name for run in ordered]
    for run in ordered:
        if names.count(run.name) > 1:
            run.label = f"{run.name} ({run.folder})"
    return ordered


def check_comparable(runs: Sequence[ComparedRun], quantity: str, places: Sequence[str]) -> None:
    """Runs can share a figure and a table: the quantity, the places and the period length are in every one."""
    if quantity not in QUANTITIES:
        raise InputError(f"--quantity: unknown quantity {quantity!r} (known: {', '.join(QUANTITIES)})")
    for place in places:
        if place not in PLACES:
            raise InputError(f"--places: unknown place {place!r} (known: {', '.join(PLACES)})")
    if not places:
        raise InputError("--places: name at least one place")
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


def check_paired(run: ComparedRun, base: ComparedRun) -> int:
    """How many replicates pair up; InputError when replicate i did not get the same seed and draw in both."""
    seeds = run.record.get("replicate_seeds") or []
    base_seeds = base.record.get("replicate_seeds") or []
    count = min(len(seeds), len(base_seeds))
    drawn = (run.record.get("posterior") or {}).get("drawn")
    base_drawn = (base.record.get("posterior") or {}).get("drawn")
    reason = None
    if count == 0:
        reason = "run.json lists no replicate seeds"
    elif seeds[:count] != base_seeds[:count]:
        reason = f"different seeds ({run.scenario.seed} and {base.scenario.seed})"
    elif (drawn is None) != (base_drawn is None) or (drawn is not None and drawn[:count] != base_drawn[:count]):
        used = [(r.record.get("posterior") or {}).get("used", "?") for r in (run, base)]
        reason = f"different posterior draws ({used[0]} and {used[1]})"
    if reason:
        raise InputError(f"{run.folder} and {base.folder} are not paired: {reason}; run both with the same "
                         f"--seed and --posterior for a difference view")
    return count


def paired_differences(run: ComparedRun, base: ComparedRun, quantity: str,
                       places: Sequence[str]) -> tuple[list[dt.date], np.ndarray]:
    """Replicate i of `run` minus replicate i of `base`: the dates both share, and an array [replicate, place, date].

    Only periods with the same first and last day in both runs are kept (a flow summed over
    different days would not be a difference of scenarios).
    """
    count = check_paired(run, base)
    mine, theirs = run.replicates(), base.replicates()
    spans, base_spans = run.period_days(), base.period_days()
    dates = [d for d in mine.dates if d in set(theirs.dates) and spans.get(d) == base_spans.get(d)]
    if not dates:
        raise InputError(f"{run.folder} and {base.folder} share no period; runs cannot be compared")
    for values, folder in ((mine, run.folder), (theirs, base.folder)):
        missing = [place for place in places if place not in values.places]
        if missing or quantity not in values.values:
            raise InputError(f"{folder}/{REPLICATES_FILE}: no values for {missing[0] if missing else quantity!r}")

    def pick(values: Replicates) -> np.ndarray:
        rows = [values.places.index(place) for place in places]
        columns = [values.dates.index(date) for date in dates]
        return values.values[quantity][:count][:, rows][:, :, columns].astype(np.int64)

    return dates, pick(mine) - pick(theirs)


def difference_bands(run: ComparedRun, base: ComparedRun, quantity: str, places: Sequence[str]) -> pd.DataFrame:
    """Median and 50%/90% bands of the paired differences, per place and date (columns as projection.csv)."""
    dates, differences = paired_differences(run, base, quantity, places)
    levels = np.quantile(differences.astype(np.float64), (0.05, 0.25, 0.5, 0.75, 0.95), axis=0)
    rows = []
    for p, place in enumerate(places):
        for t, date in enumerate(dates):
            rows.append({"scenario": run.name, "quantity": quantity, "place": place, "date": date.isoformat(),
                         "mean": float(differences[:, p, t].mean()), "p05": levels[0, p, t],
                         "p25": levels[1, p, t], "median": levels[2, p, t], "p75": levels[3, p, t],
                         "p95": levels[4, p, t]})
    return pd.DataFrame(rows, columns=list(COLUMNS))


# --- dates and the table ---------------------------------------------------------------------

def _in_period(run: ComparedRun, day: dt.date, quantity: str) -> dt.date | None:
    """The date of the period of `run` that holds `day` (its last day), None outside the run."""
    if not run.scenario.start <= day <= run.scenario.end:
        return None
    later = [d for d in run.dates(quantity) if d >= day]
    return later[0] if later else None


def table_dates(runs: Sequence[ComparedRun], quantity: str, at: Sequence[dt.date] | None = None,
                today: dt.date | None = None) -> list[dt.date]:
    """The dates of the table: `at`, else today, one year out and the end (clipped into the runs' common span).

    Each date becomes the period that holds it (e.g. the month's last day); every run must
    have that same period, otherwise the runs cannot be compared there.
    """
    if at:
        wanted, option = list(at), "--at"
    else:
        first = max(run.scenario.start for run in runs)
        last = min(run.scenario.end for run in runs)
        if first > last:
            raise InputError(f"runs cannot be compared: they share no dates ({runs[0].folder} runs "
                             f"{runs[0].scenario.start} to {runs[0].scenario.end}; "
                             f"others do not overlap it)")
        today = today or dt.date.today()
        try:
            year_out = today.replace(year=today.year + 1)
        except ValueError:  # 29 February
            year_out = today + dt.timedelta(days=365)
        wanted = [min(max(day, first), last) for day in (today, year_out, last)]
        option = "date"
    chosen: list[dt.date] = []
    for day in wanted:
        found = [(run, _in_period(run, day, quantity)) for run in runs]
        outside = [run for run, date in found if date is None]
        if outside:
            run = outside[0]
            raise InputError(f"{option} {day}: outside the run {run.folder} ({run.scenario.start} to "
                             f"{run.scenario.end}); runs cannot be compared there")
        dates = {date for _, date in found}
        if len(dates) > 1:
            (a, da), (b, db) = found[0], next(item for item in found if item[1] != found[0][1])
            raise InputError(f"{option} {day}: {a.folder} and {b.folder} have different periods there "
                             f"(ending {da} and {db}); runs cannot be compared there")
        date = dates.pop()
        if date not in chosen:
            chosen.append(date)
    return chosen


def comparison_table(runs: Sequence[ComparedRun], quantity: str, places: Sequence[str], dates: Sequence[dt.date],
                     relative_to: ComparedRun | None = None) -> pd.DataFrame:
    """Each scenario's median and 90% interval per place at `dates`, as in its projection.csv.

    With `relative_to`, also the median and 90% interval of the paired differences from it.
    """
    rows = []
    for run in runs:
        own = run.table[run.table["quantity"] == quantity].set_index(["place", "date"])
        differences = None
        if relative_to is not None:
            shared, values = paired_differences(run, relative_to, quantity, places)
            differences = (shared, values)
        for place in places:
            for date in dates:
                row = own.loc[(place, date.isoformat())]
                entry: dict[str, Any] = {"scenario": run.label, "run": str(run.folder), "quantity": quantity,
                                         "place": place, "date": date.isoformat(), "median": float(row["median"]),
                                         "p05": float(row["p05"]), "p95": float(row["p95"])}
                if differences is not None:
                    shared, values = differences
                    if date not in shared:
                        raise InputError(f"{run.folder} and {relative_to.folder}: the period ending {date} "
                                         f"differs between them; runs cannot be compared there")
                    series = values[:, places.index(place), shared.index(date)].astype(np.float64)
                    low, middle, high = np.quantile(series, (0.05, 0.5, 0.95))
                    entry.update({"relative_to": relative_to.label, "difference_median": middle,
                                  "difference_p05": low, "difference_p95": high})
                rows.append(entry)
    columns = [*TABLE_COLUMNS, *(DIFFERENCE_COLUMNS if relative_to is not None else ())]
    return pd.DataFrame(rows, columns=columns)


def format_table(table: pd.DataFrame) -> str:
    """The table as text for a terminal: one row per place and date, one column per scenario."""
    def cell(median: float, low: float, high: float, sign: bool = False) -> str:
        fmt = "{:+,.0f}" if sign else "{:,.0f}"
        return f"{fmt.format(median)} ({fmt.format(low)} to {fmt.format(high)})"

    quantity = table["quantity"].iloc[0] if len(table) else ""
    scenarios = list(dict.fromkeys(table["scenario"]))
    blocks = [f"{quantity}: median (90% interval) across replicates, in workers"]
    wide = table.assign(value=[cell(m, lo, hi) for m, lo, hi in zip(table["median"], table["p05"], table["p95"])])
    pivot = wide.pivot(index=["place", "date"], columns="scenario", values="value")
    order = list(dict.fromkeys(zip(table["place"], table["date"])))
    blocks.append(pivot.loc[order, scenarios].to_string())
    if "difference_median" in table.columns:
        base = table["relative_to"].iloc[0]
        wide = table.assign(value=[cell(m, lo, hi, sign=True) for m, lo, hi in
                                   zip(table["difference_median"], table["difference_p05"], table["difference_p95"])])
        pivot = wide.pivot(index=["place", "date"], columns="scenario", values="value")
        others = [s for s in scenarios if s != base]
        if others:
            blocks.append(f"\ndifference from {base}, paired replicates: median (90% interval), in workers")
            blocks.append(pivot.loc[order, others].to_string())
    return "\n".join(blocks)


def write_table(table: pd.DataFrame, path: Path) -> None:
    """comparison.csv: one decimal as in projection.csv, Unix newlines."""
    table.to_csv(path, index=False, float_format="%.1f", lineterminator="\n")


# --- colours and reports ---------------------------------------------------------------------

def scenario_colour(name: str) -> str:
    """The colour of scenario `name` in every figure: fixed for the shipped ones, from a checksum otherwise."""
    if name in SCENARIO_COLOURS:
        return SCENARIO_COLOURS[name]
    return OTHER_COLOURS[zlib.crc32(name.encode("utf-8")) % len(OTHER_COLOURS)]


def colours(runs: Sequence[ComparedRun]) -> dict[str, str]:
    """Colour per run label; two scenarios of one figure never share one (the later one takes the next free)."""
    out: dict[str, str] = {}
    for run in runs:
        colour = scenario_colour(run.name)
        if colour in out.values():
            colour = next(c for c in (*OTHER_COLOURS, *SCENARIO_COLOURS.values()) if c not in out.values())
        out[run.label] = colour
    return out


@dataclass(frozen=True)
class ReportMark:
    """A report as drawn on one panel: a point (with its range), a range, or a bound (at least, at most)."""

    report: Report
    shape: str
    first: dt.date
    last: dt.date
    value: float | None
    low: float | None
    high: float | None


def report_marks(reports: Sequence[Report], quantity: str, place: str) -> list[ReportMark]:
    """The reports that speak about `quantity` in `place`, per day for flows (as the panels are drawn).

    A report of the same place is a point or a range; one of a part of the place (a city
    in a province, a crossing in China) is a lower bound on it; the worldwide figure an
    upper bound on China.
    """
    marks = []
    for report in reports:
        if report.kind != quantity:
            continue
        per_day = 1.0 if quantity == "stock" or report.unit == "workers_per_day" else 1.0 / report.days
        scale = (lambda x: None if x is None else x * per_day)
        value, low, high = scale(report.value), scale(report.low), scale(report.high)
        if report.place == OVERSEAS:
            if place == CHINA and (value if value is not None else high) is not None:
                marks.append(ReportMark(report, "at_most", report.period_start, report.period_end, None, None,
                                        value if value is not None else high))
            continue
        try:
            theirs, mine = set(cities_in(report.place)), set(cities_in(place))
        except KeyError:
            continue
        if theirs == mine:
            if value is not None:
                shape = "point"
            elif low is not None and high is not None:
                shape = "range" if high > low else "point"
                value = low if high <= low else None
            else:
                shape = "at_least" if low is not None else "at_most"
        elif theirs < mine and (value is not None or low is not None):
            shape, low, high, value = "at_least", (value if value is not None else low), None, None
        else:
            continue
        marks.append(ReportMark(report, shape, report.period_start, report.period_end, value, low, high))
    return marks


def _reports(path: Path | None) -> tuple[list[Report], str | None]:
    """The reported figures to draw, and a warning when the ledger cannot be read (the comparison goes on)."""
    if path is None or not Path(path).is_file():
        return [], None
    try:
        return load_reports(path), None
    except InputError as error:
        return [], f"reports not drawn: {error}"


# --- the figure ------------------------------------------------------------------------------

def _thousands(value: float, _position: int) -> str:
    return f"{value:,.0f}" if abs(value) >= 1 or value == 0 else f"{value:,.1f}"


def _signed_thousands(value: float, _position: int) -> str:
    return "0" if value == 0 else f"{value:+,.0f}"


@dataclass(frozen=True)
class EventGroup:
    """The events of one scenario on one day, shown as one numbered marker."""

    number: int
    labels: tuple[str, ...]
    date: dt.date
    events: tuple[Event, ...]


def event_groups(runs: Sequence[ComparedRun], start: dt.date, end: dt.date) -> list[EventGroup]:
    """Each scenario's own events inside the window, one group per scenario and day, numbered in time order.

    An identical group in several scenarios (a child inheriting its parent's events) is one
    group naming them all.
    """
    seen: dict[tuple[dt.date, str], list[str]] = {}
    events: dict[tuple[dt.date, str], tuple[Event, ...]] = {}
    for run in runs:
        days: dict[dt.date, list[Event]] = {}
        for event in run.scenario.own_events:
            if start <= event.date <= end:
                days.setdefault(event.date, []).append(event)
        for day, group in days.items():
            key = (day, json.dumps([e.as_dict() for e in group], sort_keys=True))
            seen.setdefault(key, []).append(run.label)
            events[key] = tuple(group)
    ordered = sorted(seen, key=lambda key: (key[0], [r.label for r in runs].index(seen[key][0])))
    return [EventGroup(number, tuple(seen[key]), key[0], events[key]) for number, key in enumerate(ordered, start=1)]


def _draw_bands(ax: plt.Axes, series: Sequence[tuple[Sequence[dt.date], pd.DataFrame, str, np.ndarray]]) -> None:
    """Every scenario's bands first, then the medians on top; the first scenario given is drawn uppermost."""
    for dates, rows, colour, divide in reversed(series):
        x = np.asarray(dates, dtype="datetime64[D]")
        ax.fill_between(x, rows["p05"] / divide, rows["p95"] / divide, color=colour, alpha=0.13, linewidth=0)
        ax.fill_between(x, rows["p25"] / divide, rows["p75"] / divide, color=colour, alpha=0.30, linewidth=0)
    for dates, rows, colour, divide in reversed(series):
        ax.plot(np.asarray(dates, dtype="datetime64[D]"), rows["median"] / divide, color=colour, linewidth=1.8)


def _draw_reports(ax: plt.Axes, marks: Sequence[ReportMark], start: dt.date, end: dt.date) -> None:
    """Reported figures in black: points with error bars, ranges as bars, bounds as triangles."""
    top = ax.get_ylim()[1]
    near = [v for mark in marks if not (mark.last < start or mark.first > end)
            for v in (mark.value, mark.low, mark.high) if v is not None and math.isfinite(v) and top < v <= top * 1.3]
    if near:  # a report a little above the projections: the axis grows to show it
        ax.set_ylim(top=max(near) * 1.05)
    style = dict(color=REPORT_COLOUR, markeredgecolor="white", markeredgewidth=0.6, zorder=6)
    for mark in marks:
        if mark.last < start or mark.first > end:
            continue
        middle = mark.first + (mark.last - mark.first) / 2
        if mark.last > mark.first:  # a flow over a period: its span as a thin line
            y = next(v for v in (mark.value, mark.low, mark.high) if v is not None)
            if y <= top * 1.3:
                ax.plot([mark.first, mark.last + dt.timedelta(days=1)], [y, y], color=REPORT_COLOUR,
                        linewidth=1.0, alpha=0.7, zorder=5, solid_capstyle="butt")
        if mark.shape == "point":
            low = mark.value - mark.low if mark.low is not None else 0.0
            high = mark.high - mark.value if mark.high is not None and math.isfinite(mark.high) else 0.0
            y = mark.value
            if y > top * 1.3:
                _off_scale(ax, middle, top, f"{mark.value:,.0f}", "o")
                continue
            ax.errorbar([middle], [y], yerr=[[low], [high]] if low or high else None, fmt="o", markersize=5,
                        capsize=3, elinewidth=1.2, ecolor=REPORT_COLOUR, **style)
        elif mark.shape == "range":
            ax.errorbar([middle], [(mark.low + mark.high) / 2], yerr=[[(mark.high - mark.low) / 2]], fmt="none",
                        capsize=4, elinewidth=2.2, ecolor=REPORT_COLOUR, zorder=6)
        else:
            bound = mark.low if mark.shape == "at_least" else mark.high
            marker = "^" if mark.shape == "at_least" else "v"
            if bound > top * 1.3:
                label = "worldwide" if mark.report.place == OVERSEAS else mark.report.place
                _off_scale(ax, middle, top, f"{label} at most {bound:,.0f}", marker)
                continue
            ax.plot([middle], [bound], marker=marker, markersize=6, linestyle="", **style)


def _off_scale(ax: plt.Axes, day: dt.date, top: float, text: str, marker: str) -> None:
    """A report far above the projections: marked on the panel's top edge with its value, not stretching the axis."""
    ax.plot([day], [top], marker=marker, markersize=6, color=REPORT_COLOUR, linestyle="", clip_on=False, zorder=6)
    ax.annotate(f"{text} (off scale)", (day, top), xytext=(5, -7), textcoords="offset points", fontsize=6.5,
                color=REPORT_COLOUR, va="center")


def _timeline(ax: plt.Axes, runs: Sequence[ComparedRun], groups: Sequence[EventGroup], palette: dict[str, str],
              start: dt.date, end: dt.date) -> None:
    """The scenarios' events on one row per scenario, numbered; labels of close events are staggered."""
    rows = [run.label for run in runs if any(group.labels[0] == run.label for group in groups)]
    close = max((end - start).days / 70, 1)
    for row, label in enumerate(rows):
        y = len(rows) - 1 - row
        ax.axhline(y, color=palette[label], linewidth=0.8, alpha=0.35)
        previous, level = None, 0
        for group in (g for g in groups if g.labels[0] == label):
            level = (level + 1) % 2 if previous is not None and (group.date - previous).days < close else 0
            previous = group.date
            ax.plot([group.date], [y], marker="o", markersize=4.5, color=palette[label], linestyle="")
            ax.annotate(str(group.number), (group.date, y), xytext=(0, 4 + 7 * level), textcoords="offset points",
                        fontsize=7, fontweight="bold", color=palette[label], ha="center", va="bottom")
    ax.set_ylim(-0.6, max(len(rows) - 0.1, 0.6))
    ax.set_yticks(range(len(rows)), [textwrap.shorten(label, 28, placeholder="...") for label in reversed(rows)],
                  fontsize=7.5)
    for tick, label in zip(ax.get_yticklabels(), reversed(rows)):
        tick.set_color(palette[label])
    ax.set_xlim(start, end)
    ax.tick_params(axis="x", labelsize=7.5, length=2)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title("scenario events (numbered below)", fontsize=8, loc="left", color="#444444")
    locator = mdates.AutoDateLocator(minticks=6, maxticks=14)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def plot_comparison(runs: Sequence[ComparedRun], quantity: str, places: Sequence[str], reports: Sequence[Report],
                    png: Path, svg: Path | None = None, since: dt.date | None = None,
                    relative_to: ComparedRun | None = None) -> None:
    """Draw the scenarios side by side (or their paired differences from `relative_to`) as PNG and SVG."""
    palette = colours(runs)
    start = since or min(run.scenario.start for run in runs)
    end = max(run.scenario.end for run in runs)
    if start >= end:
        raise InputError(f"--since: {start} is not before the end of the runs ({end})")
    flow = quantity != "stock"
    freq = _FREQ_WORDS.get(runs[0].scenario.output_freq, runs[0].scenario.output_freq)
    groups = event_groups(runs, start, end)
    timeline_rows = len({group.labels[0] for group in groups})

    columns = min(3, len(places))
    rows = math.ceil(len(places) / columns)
    spare = rows * columns > len(places)
    width = 4.6 * columns + 0.6
    subtitle = _subtitle(runs, relative_to, width)
    footnote = _footnote(groups, reports_drawn=relative_to is None and bool(reports), width=width)
    header = 0.5 + 0.17 * (subtitle.count("\n") + 1)
    footer = 0.15 + 0.13 * (footnote.count("\n") + 1)
    strip = 0.22 * timeline_rows + 0.5 if groups else 0.0
    legend = 0.0 if spare else 0.6
    body = 3.1 * rows + strip + legend
    height = header + body + footer
    figure = plt.figure(figsize=(width, height), layout="constrained")
    figure.get_layout_engine().set(rect=(0, footer / height, 1, body / height), h_pad=0.06, w_pad=0.06)
    grid = figure.add_gridspec(rows + (1 if groups else 0), columns,
                               height_ratios=([strip] if groups else []) + [3.1] * rows)
    offset = 1 if groups else 0
    axes = [figure.add_subplot(grid[offset + i // columns, i % columns]) for i in range(len(places))]
    for ax in axes[1:]:
        ax.sharex(axes[0])

    for ax, place in zip(axes, places):
        if relative_to is not None:
            ax.axhline(0, color=palette[relative_to.label], linewidth=1.8, zorder=3)
        series = []
        for run in runs:
            if relative_to is not None and run is relative_to:
                continue
            spans = run.period_days()
            if relative_to is not None:
                rows_of = difference_bands(run, relative_to, quantity, [place])
            else:
                table = run.table
                rows_of = table[(table["quantity"] == quantity) & (table["place"] == place)]
            dates = [dt.date.fromisoformat(d) for d in rows_of["date"]]
            keep = [i for i, d in enumerate(dates) if d >= start]
            rows_of, dates = rows_of.iloc[keep], [dates[i] for i in keep]
            divide = np.array([spans[d][1] for d in dates], dtype=float) if flow else np.ones(len(dates))
            series.append((dates, rows_of, palette[run.label], divide))
        _draw_bands(ax, series)
        for group in groups:
            ax.axvline(group.date, color=palette[group.labels[0]], linestyle=(0, (2, 2)), linewidth=0.7,
                       alpha=0.55, zorder=1)
        if relative_to is None:
            ax.set_ylim(bottom=0)
            _draw_reports(ax, report_marks(reports, quantity, place), start, end)
            ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        else:
            ax.yaxis.set_major_formatter(FuncFormatter(_signed_thousands))
        ax.set_title(PLACE_TITLES.get(place, place), fontsize=10, loc="left", fontweight="bold")
        unit = (f"workers per day (average over each {freq})" if flow
                else f"workers (at the end of each {freq})")
        ax.set_ylabel(("difference, " if relative_to is not None else "") + unit, fontsize=8)
        ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)
        ax.tick_params(labelsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=7)
    axes[0].xaxis.set_major_locator(locator)
    axes[0].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes[0].set_xlim(start, end)
    for ax in axes:
        ax.tick_params(labelbottom=True)

    if groups:
        _timeline(figure.add_subplot(grid[0, :]), runs, groups, palette, start, end)

    handles, labels = _legend_entries(runs, palette, relative_to, reports_drawn=relative_to is None and bool(reports))
    tuples = {tuple: HandlerTuple(ndivide=None, pad=0)}
    if spare:
        holder = figure.add_subplot(grid[offset + rows - 1, columns - 1])
        holder.axis("off")
        holder.legend(handles, labels, loc="center left", fontsize=8.5, frameon=False, handler_map=tuples,
                      handlelength=2.4)
    else:
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 5), fontsize=8,
                      frameon=False, handler_map=tuples)
    what = QUANTITY_TITLES[quantity]
    heading = (f"North Korean workers in China: {what}, difference from {relative_to.label}"
               if relative_to is not None else f"North Korean workers in China: {what}, scenarios compared")
    figure.text(0.1 / width, 1 - 0.12 / height, heading, fontsize=13, fontweight="bold", va="top", ha="left")
    figure.text(0.1 / width, 1 - 0.48 / height, subtitle, fontsize=8.5, color="#333333", va="top", ha="left",
                linespacing=1.3)
    figure.text(0.1 / width, 0.08 / height, footnote, fontsize=7, color="#333333", va="bottom", ha="left",
                linespacing=1.35)
    figure.savefig(png, dpi=150, format="png")
    if svg is not None:
        figure.savefig(svg, format="svg")
    plt.close(figure)


def _subtitle(runs: Sequence[ComparedRun], relative_to: ComparedRun | None, width: float) -> str:
    """Which runs: scenarios, seeds, replicates and parameters (posterior), so the figure says how it was made."""
    def same(values: list[Any]) -> bool:
        return len(set(map(str, values))) == 1

    seeds = [run.scenario.seed for run in runs]
    counts = [run.scenario.replicates for run in runs]
    used = [(run.record.get("posterior") or {}).get("used", "unknown") for run in runs]
    parts = [f"Scenarios: {', '.join(run.label for run in runs)}."]
    if same(seeds) and same(counts):
        parts.append(f"Seed {seeds[0]}, {counts[0]} replicates each.")
    else:
        parts.append("; ".join(f"{run.label}: seed {s}, {c} replicates" for run, s, c in zip(runs, seeds, counts))
                     + ".")
    def parameters(used: str) -> str:
        return "the defaults (no calibrated posterior)" if used.startswith("none") else f"drawn from {used}"

    parts.append(f"Parameters: {parameters(used[0])}." if same(used) else
                 "Parameters: " + "; ".join(f"{run.label}: {parameters(u)}" for run, u in zip(runs, used)) + ".")
    if relative_to is not None:
        parts.append(f"Each scenario minus {relative_to.label}, replicate by replicate (same seeds and "
                     f"parameter draws); bands are quantiles of those differences.")
    return textwrap.fill(" ".join(parts), int(width * 15.5))


def _event_text(event: Event) -> str:
    """The projection plot's caption of an event, with the crossing where that caption leaves it out."""
    text = event_label(event)
    if event.type == "capacity":
        text = f"{event.values['crossing']} {text}"
    return text


def _footnote(groups: Sequence[EventGroup], reports_drawn: bool, width: float) -> str:
    """The numbered events and how the reports are drawn, as wrapped text under the panels."""
    notes = [f"({g.number}) {g.date.isoformat()} {' / '.join(g.labels)}: "
             f"{'; '.join(_event_text(e) for e in g.events)}." for g in groups]
    text = ("Scenario events, also dashed in the panels: " + "  ".join(notes)) if notes else \
        "No scenario event inside the window."
    if reports_drawn:
        text += ("  Reported figures (calibration/reports.csv), black: flows per day over their period; a part's "
                 "figure (a city, a crossing) is a lower bound on the whole, the worldwide figure an upper bound "
                 "on China.")
    return textwrap.fill(text, int(width * 18.5))


def _legend_entries(runs: Sequence[ComparedRun], palette: dict[str, str], relative_to: ComparedRun | None,
                    reports_drawn: bool) -> tuple[list[Any], list[str]]:
    """One entry per scenario (its median over its bands), then the key to bands and reports."""
    handles: list[Any] = []
    labels: list[str] = []
    for run in runs:
        colour = palette[run.label]
        if relative_to is not None and run is relative_to:
            handles.append(Line2D([], [], color=colour, linewidth=1.8))
            labels.append(f"{run.label} (the base: zero)")
            continue
        handles.append((Patch(color=colour, alpha=0.13, linewidth=0), Patch(color=colour, alpha=0.30, linewidth=0),
                        Line2D([], [], color=colour, linewidth=1.8)))
        labels.append(run.label)
    grey = "#7f7f7f"
    handles += [Line2D([], [], color=grey, linewidth=1.8), Patch(color=grey, alpha=0.45, linewidth=0),
                Patch(color=grey, alpha=0.18, linewidth=0)]
    labels += ["median across replicates", "50% band", "90% band"]
    if reports_drawn:
        handles += [Line2D([], [], color=REPORT_COLOUR, marker="o", linestyle="-", markersize=5, linewidth=0),
                    Line2D([], [], color=REPORT_COLOUR, marker="^", linestyle="", markersize=6),
                    Line2D([], [], color=REPORT_COLOUR, marker="v", linestyle="", markersize=6)]
        labels += ["reported figure (bar: its range)", "reported: at least", "reported: at most"]
    return handles, labels


# --- the whole command -----------------------------------------------------------------------

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


def _publish(targets: Sequence[Path], write: Callable[[list[Path]], None]) -> None:
    """`write` fills temporary files beside `targets`, which are then renamed into place: nothing half written."""
    temporaries: list[Path] = []
    try:
        for path in targets:
            handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
            os.close(handle)
            temporaries.append(Path(name))
        write(temporaries)
        for path, temporary in zip(targets, temporaries):
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


def compare(inputs: Sequence[str | Path], out: str | Path = DEFAULT_OUT, quantity: str = "stock",
            places: Sequence[str] = DEFAULT_PLACES, at: Sequence[dt.date] | None = None,
            since: dt.date | None = None, relative_to: str | None = None,
            reports: str | Path | None = DEFAULT_REPORTS, today: dt.date | None = None,
            options: RunOptions = RunOptions(),
            on_run: Callable[[Scenario, Path, str], None] | None = None) -> ComparisonResult:
    """Compare finished runs (folders) and scenario files (run first into outputs/<name>/).

    Writes `out` (PNG), the SVG and the table (CSV) beside it; returns the table. Every
    check that can fail (options, places, files) runs before any scenario is simulated.
    """
    png, svg, csv = output_paths(out)
    places = list(places)
    if quantity not in QUANTITIES:
        raise InputError(f"--quantity: unknown quantity {quantity!r} (known: {', '.join(QUANTITIES)})")
    for place in places:
        if place not in PLACES:
            raise InputError(f"--places: unknown place {place!r} (known: {', '.join(PLACES)})")
    if len(set(places)) != len(places):
        raise InputError("--places: a place is named twice")
    try:
        png.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"--out: cannot create the folder {png.parent} ({error.strerror or error})") from None
    if not os.access(png.parent, os.W_OK):
        raise InputError(f"--out: cannot write in {png.parent}")
    runs = gather_runs(inputs, options, on_run)
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
    dates = table_dates(runs, quantity, at, today)
    table = comparison_table(runs, quantity, places, dates, base)
    drawn, warning = _reports(Path(reports) if reports is not None else None)
    _publish([png, svg, csv], lambda paths: (
        plot_comparison(runs, quantity, places, drawn, paths[0], paths[1], since, base),
        write_table(table, paths[2])))
    return ComparisonResult(runs, table, png, svg, csv, [warning] if warning else [])

"""The comparison table (`comparison.csv`): each scenario's median and 90% interval per place at chosen dates.

The numbers are copied from each run's own projection.csv, plus the median and 90% interval
of the paired differences from a base scenario when there is one (`labor_stocks.outputs.pairing`).
The dates are `--at`, else today, one year out and the end; each becomes the period that
holds it. The table is printed for a terminal (`format_table`, which ends by naming the
`labor-stocks explain` command that says why) and written as CSV.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..files import starts_with_line
from .pairing import paired_differences
from .run_folder import ComparedRun

TABLE_COLUMNS: tuple[str, ...] = ("scenario", "run", "quantity", "place", "date", "median", "p05", "p95")
DIFFERENCE_COLUMNS: tuple[str, ...] = ("relative_to", "difference_median", "difference_p05", "difference_p95")


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
    if len(table):
        dates = " ".join(dict.fromkeys(str(d) for d in table["date"]))
        places = " ".join(shlex.quote(str(p)) for p in dict.fromkeys(table["place"]))
        blocks.append(f"\nwhy these stocks: labor-stocks explain SCENARIO.toml --at {dates} --places {places} "
                      f"says which assumptions and reports each rests on")
    return "\n".join(blocks)


def write_table(table: pd.DataFrame, path: Path) -> None:
    """comparison.csv: one decimal as in projection.csv, Unix newlines."""
    table.to_csv(path, index=False, float_format="%.1f", lineterminator="\n")


def is_comparison_table(path: Path) -> bool:
    """Whether the file at `path` is a comparison table (by its header line): one `labor-stocks compare` may replace."""
    return any(starts_with_line(path, ",".join(columns))
               for columns in (TABLE_COLUMNS, (*TABLE_COLUMNS, *DIFFERENCE_COLUMNS)))

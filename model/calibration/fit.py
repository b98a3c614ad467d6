"""The fit: each report beside what the calibrated model says, as a table and a plot.

For every report the model is run with parameter sets drawn from the posterior (at full
scale, every worker an agent, whatever scale the calibration used), and the report's
simulated counterpart (`observation.py`) is summarised by its median and 90% interval. A
report is `inside` when what it says (a point, or a range) meets that interval; `z` is the
standardized error of the median (0 inside a reported range).
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

import numpy as np
import pandas as pd

from ..calibration.abc import report_end
from ..files import figure_metadata, write_file
from ..ensemble.runner import simulate
from ..ensemble.runner import born_ignoring_ctrl_c, quiet_worker
from ..calibration.observation import Observation, observations
from ..world.parameters import with_overrides
from ..ensemble.posterior import Posterior
from ..calibration.reports import Report

FIT_COLUMNS = ("id", "kind", "place", "period_start", "period_end", "unit", "confidence", "reported", "low", "high",
               "median", "p05", "p95", "inside", "z", "source")


def _draw_values(task: tuple[dict, int, list[Observation], object]) -> list[float]:
    """One posterior draw: run the model and read every report's counterpart (a process-pool task)."""
    overrides, seed, observed, end = task
    series = simulate(with_overrides(overrides, "posterior"), None, end, seed, crossings=True)
    return [o.simulate(series) for o in observed]


def fit_table(reports: list[Report], posterior: Posterior | None, draws: int = 40, seed: int = 0, jobs: int = 1,
              scale: int = 1, progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """One row per report: what it says and what the model says (median, 90% interval), inside, z."""
    observed = observations(reports)
    end = report_end(reports)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(draws)]
    tasks = []
    for i in range(draws):
        overrides = posterior.draw(seed, i) if posterior is not None else {}
        overrides["scale"] = scale
        tasks.append((overrides, seeds[i], observed, end))
    values = np.zeros((draws, len(observed)))
    if jobs > 1:
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=quiet_worker)
        try:
            with born_ignoring_ctrl_c():  # Ctrl-C is the main process's to handle (see labor_stocks.ensemble.runner)
                rows = pool.map(_draw_values, tasks)
            for i, row in enumerate(rows):
                values[i] = row
                if progress:
                    progress(1)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # after Ctrl-C: the draws not started are dropped
    else:
        for i, task in enumerate(tasks):
            values[i] = _draw_values(task)
            if progress:
                progress(1)
    rows = []
    for j, o in enumerate(observed):
        report = o.report
        p05, median, p95 = np.percentile(values[:, j], [5, 50, 95])
        low, high = o.interval
        rows.append({
            "id": report.id, "kind": report.kind, "place": report.place,
            "period_start": report.period_start.isoformat(), "period_end": report.period_end.isoformat(),
            "unit": report.unit, "confidence": report.confidence,
            "reported": report.value if report.value is not None else math.nan,
            "low": low, "high": high, "median": median, "p05": p05, "p95": p95,
            "inside": bool(low <= p95 and high >= p05), "z": o.z(float(median)), "source": report.source,
        })
    return pd.DataFrame(rows, columns=list(FIT_COLUMNS))


def print_table(table: pd.DataFrame) -> str:
    """The fit as a fixed-width text table for the terminal."""
    shown = table[["id", "place", "kind", "reported", "low", "high", "median", "p05", "p95", "inside", "z"]].copy()
    for column in ("reported", "low", "high", "median", "p05", "p95"):
        shown[column] = shown[column].map(lambda v: "" if not np.isfinite(v) else f"{v:,.0f}" if abs(v) >= 10
                                          else f"{v:.1f}")
    shown["z"] = shown["z"].map(lambda v: f"{v:+.2f}")
    shown["inside"] = shown["inside"].map(lambda v: "yes" if v else "NO")
    return shown.to_string(index=False)


def plot_fit(table: pd.DataFrame, path: str | os.PathLike[str], title: str = "") -> None:
    """A forest plot: per report, the model's 90% interval and median against what the report says."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = len(table)
    figure, axes = plt.subplots(figsize=(10, 0.42 * rows + 1.6))
    shift = 10.0  # the observation model's offset: lets zero and small counts sit on a log axis
    y = np.arange(rows)[::-1]
    for yi, (_, row) in zip(y, table.iterrows()):
        colour = "#1b7837" if row.inside else "#b2182b"
        axes.plot([row.p05 + shift, row.p95 + shift], [yi, yi], color=colour, lw=3, alpha=0.6, solid_capstyle="butt")
        axes.plot(row["median"] + shift, yi, "o", color=colour, ms=5)
        low, high = row.low, row.high
        if low == high:
            axes.plot(low + shift, yi, "D", color="black", ms=6, mfc="white")
        else:
            right = high if np.isfinite(high) else max(row.p95, low) * 3
            axes.annotate("", xy=(right + shift, yi + 0.22), xytext=(low + shift, yi + 0.22),
                          arrowprops={"arrowstyle": "|-|" if np.isfinite(high) else "-|>", "color": "black", "lw": 1})
    axes.set_xscale("log")
    axes.set_yticks(y, [f"{r.id}  ({r.place}, {r.kind})" for r in table.itertuples()], fontsize=8)
    axes.set_xlabel("workers (or workers per day), log scale shifted by 10")
    axes.set_title(title or "Reports (black: point or range) against the model (median and 90% interval)")
    axes.grid(axis="x", alpha=0.3)
    with warnings.catch_warnings():  # matplotlib's layout warnings are not the analyst's business
        warnings.simplefilter("ignore", UserWarning)
        figure.tight_layout()
        write_file(path, lambda temporary: figure.savefig(temporary, dpi=120, format="png",
                                                          metadata=figure_metadata("fit")))
    plt.close(figure)


def write_fit(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write the fit table atomically (`labor_stocks.files.write_file`)."""
    write_file(path, lambda temporary: table.to_csv(temporary, index=False, float_format="%.6g"))

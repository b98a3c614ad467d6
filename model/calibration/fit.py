"""The fit: each report beside what the calibrated model says, as a table and a plot.

The fit is an ensemble (`labor_stocks.ensemble`) of the run the reports are compared with
(the shared history up to the last report, `observation.reports_scenario`), at full scale,
every worker an agent, whatever scale the calibration used: draw i is the ensemble's
replicate i (its seed and posterior draw from `labor_stocks.ensemble.plan`), and it runs
here, in local processes or on a Dask cluster like any ensemble. Each report's simulated
counterpart (`observation.py`) is summarised by its median and 90% interval. A report is
`inside` when what it says (a point, or a range) meets the interval of what its outlet would
report (the model's interval, times the outlet's estimated bias as `z` takes it: the same
interval for an outlet taken at its word); `z` is the standardized error of the median (0
inside a reported range). The `posterior` column names
the parameter sets drawn from. `informative` is false for a report that the prior predictive
(runs with parameters drawn from the priors, `identifiability.py`) almost never misses: such a
report cannot teach the calibration anything, and its `inside` is no evidence for the model.

Each report's `z` weighs it as the calibration did: with its outlet's estimated bias and
accuracy (the posterior's weighted medians; an outlet the posterior does not estimate is
taken at its word). `outlet_table` shows those estimates, one row per outlet of the reports
(`outlets.csv` beside `fit.csv`): the bias as a log and as a factor, the accuracy, each with
its 90% interval.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
import warnings
from collections.abc import Collection
from typing import Callable

import numpy as np
import pandas as pd

from ..ensemble.plan import plan_replicates
from ..ensemble.posterior import NO_POSTERIOR, OUTLET, Posterior, column_kind, outlet_column
from ..ensemble.runner import run_ensemble
from .identifiability import UNINFORMATIVE_SHARE, inside_share
from .observation import TAKEN_AT_THEIR_WORD, Counterparts, Outlet, observations, outlets_of, reports_scenario
from .reports import Report
from ..files import carries_mark, check_replaceable, figure_metadata, is_image, starts_with_line, write_file

FIT_COLUMNS = ("id", "kind", "place", "period_start", "period_end", "unit", "confidence", "reported", "low", "high",
               "median", "p05", "p95", "inside", "z", "informative", "prior_inside_share", "source", "posterior",
               "outlet", "statement")
EARLIER_FIT_COLUMNS = FIT_COLUMNS[:-2]
"""The fit table's header before `outlet` and `statement`: a fit.csv with it is still the fit's own."""
OUTLET_COLUMNS = ("outlet", "reports", "statements", "estimated", "bias_p05", "bias_median", "bias_p95",
                  "factor_median", "accuracy_p05", "accuracy_median", "accuracy_p95", "posterior")


def posterior_outlets(posterior: Posterior | None) -> dict[str, Outlet]:
    """Each outlet the posterior estimates, at its weighted median bias and accuracy."""
    if posterior is None:
        return {}
    summary = posterior.summary().set_index("parameter")["median"]
    return outlets_of({name: float(value) for name, value in summary.items()
                       if (column_kind(str(name)) or ("",))[0] == OUTLET})


def outlet_table(reports: list[Report], posterior: Posterior | None) -> pd.DataFrame:
    """One row per outlet of the reports: how many reports and statements, and its estimated bias and accuracy.

    `estimated` is false for an outlet the posterior does not estimate (a reference outlet, or a
    posterior calibrated without outlet priors): its bias is 0 and its accuracy 1 by assumption.
    """
    summary = posterior.summary().set_index("parameter") if posterior is not None else pd.DataFrame()
    used = posterior.path if posterior is not None else NO_POSTERIOR
    rows = []
    for outlet in dict.fromkeys(r.origin for r in reports):
        mine = [r for r in reports if r.origin == outlet]
        row: dict[str, object] = {"outlet": outlet, "reports": len(mine),
                                  "statements": len({r.statement_key for r in mine}), "posterior": used}
        estimated = True
        for part, default in (("bias", 0.0), ("accuracy", 1.0)):
            name = outlet_column(outlet, part)
            if name in summary.index:
                row.update({f"{part}_{q}": float(summary.loc[name, q]) for q in ("p05", "median", "p95")})
            else:
                estimated = False
                row.update({f"{part}_{q}": default for q in ("p05", "median", "p95")})
        row["estimated"] = estimated
        row["factor_median"] = math.exp(float(row["bias_median"]))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(OUTLET_COLUMNS))


def print_outlets(table: pd.DataFrame) -> str:
    """The outlets' estimates for the terminal: bias as a factor (x1.50: figures half again the truth)."""
    shown = pd.DataFrame({
        "outlet": table.outlet, "reports": table.reports, "statements": table.statements,
        "bias (factor, 90%)": [f"x{math.exp(m):.2f} ({math.exp(a):.2f}-{math.exp(b):.2f})" if e else "x1 (not estimated)"
                               for m, a, b, e in zip(table.bias_median, table.bias_p05, table.bias_p95, table.estimated)],
        "accuracy (x sigma, 90%)": [f"{m:.2f} ({a:.2f}-{b:.2f})" if e else "1 (not estimated)" for m, a, b, e in
                                    zip(table.accuracy_median, table.accuracy_p05, table.accuracy_p95, table.estimated)],
    })
    return shown.to_string(index=False)


def fit_table(reports: list[Report], posterior: Posterior | None, draws: int = 40, seed: int = 0, jobs: int = 1,
              scale: int = 1, progress: Callable[[int], None] | None = None,
              scheduler: str | None = None, prior_values: np.ndarray | None = None) -> pd.DataFrame:
    """One row per report: what it says and what the model says (median, 90% interval), inside, z.

    `draws` replicates with `seed`, in `jobs` local processes or on the Dask scheduler at
    `scheduler`; `progress(1)` is called as each draw arrives. `prior_values` (runs from the
    priors, [run, report], from `identifiability.prior_predictive`) fill `informative`; without
    them the column is empty (unknown).
    """
    observed = observations(reports)
    scenario = reports_scenario(reports, scale)
    plans = plan_replicates(scenario, draws, seed, posterior)
    outcomes = run_ensemble(scenario, plans, Counterparts(tuple(observed)), jobs=jobs, scheduler=scheduler,
                            crossings=True, on_outcome=(lambda _: progress(1)) if progress else None)
    values = np.array([[outcome.value[o.report.id] for o in observed] for outcome in outcomes])
    used = posterior.path if posterior is not None else NO_POSTERIOR
    shares = inside_share(observed, prior_values) if prior_values is not None else None
    outlets = posterior_outlets(posterior)
    rows = []
    for j, o in enumerate(observed):
        report = o.report
        p05, median, p95 = np.percentile(values[:, j], [5, 50, 95])
        low, high = o.interval
        outlet = outlets.get(report.origin, TAKEN_AT_THEIR_WORD)
        rows.append({
            "id": report.id, "kind": report.kind, "place": report.place,
            "period_start": report.period_start.isoformat(), "period_end": report.period_end.isoformat(),
            "unit": report.unit, "confidence": report.confidence,
            "reported": report.value if report.value is not None else math.nan,
            "low": low, "high": high, "median": median, "p05": p05, "p95": p95,
            "inside": bool(low <= outlet.reported(float(p95)) and high >= outlet.reported(float(p05))),
            "z": o.z(float(median), outlet),
            "informative": None if shares is None else bool(shares[j] < UNINFORMATIVE_SHARE),
            "prior_inside_share": math.nan if shares is None else float(shares[j]), "source": report.source,
            "posterior": used, "outlet": report.origin, "statement": report.statement,
        })
    return pd.DataFrame(rows, columns=list(FIT_COLUMNS))


def print_table(table: pd.DataFrame) -> str:
    """The fit as a fixed-width text table for the terminal."""
    shown = table[["id", "place", "kind", "reported", "low", "high", "median", "p05", "p95", "inside", "z",
                   "informative"]].copy()
    for column in ("reported", "low", "high", "median", "p05", "p95"):
        shown[column] = shown[column].map(lambda v: "" if not np.isfinite(v) else f"{v:,.0f}" if abs(v) >= 10
                                          else f"{v:.1f}")
    shown["z"] = shown["z"].map(lambda v: f"{v:+.2f}")
    shown["inside"] = shown["inside"].map(lambda v: "yes" if v else "NO")
    shown["informative"] = shown["informative"].map(lambda v: "?" if v is None or v != v else "yes" if v else "no")
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


def is_fit_table(path: str | os.PathLike[str]) -> bool:
    """Whether the file is a fit table (its header is the fit's, now or before outlets and statements)."""
    return any(starts_with_line(Path(path), ",".join(columns)) for columns in (FIT_COLUMNS, EARLIER_FIT_COLUMNS))


def is_outlet_table(path: str | os.PathLike[str]) -> bool:
    """Whether the file is an outlets table that `fit` or `calibrate` wrote (by its header)."""
    return starts_with_line(Path(path), ",".join(OUTLET_COLUMNS))


def outlets_path(fit_path: str | os.PathLike[str]) -> Path:
    """Where the outlets' table goes beside a fit table: `outlets.csv` beside `fit.csv`, else `NAME_outlets.csv`."""
    fit_path = Path(fit_path)
    return fit_path.with_name("outlets.csv" if fit_path.stem == "fit" else f"{fit_path.stem}_outlets.csv")


def check_fit_outputs(table: Path, command: str, inputs: Collection[str | os.PathLike[str]] = (),
                      force: bool = False, option: str = "--out") -> tuple[Path, Path, Path]:
    """The fit table, its figure and its outlets' table, each checked with `files.check_replaceable`.

    Shared by `fit` and `calibrate`, which write the same three files: each is replaced only
    when it is a fit's own (the table and the outlets' by their headers, the figure by its
    mark or, beside a fit table, by being a PNG), never an input; `force` for any other file.
    Returns the three paths (table, figure, outlets).
    """
    table = Path(table)
    png, outlets = table.with_suffix(".png"), outlets_path(table)
    table_is_ours = table.is_file() and not table.is_symlink() and is_fit_table(table)
    check_replaceable(table, option, is_fit_table, command, inputs, force)
    check_replaceable(png, option, lambda path: carries_mark(path, "fit") or (is_image(path) and table_is_ours),
                      command, inputs, force)
    check_replaceable(outlets, option, is_outlet_table, command, inputs, force)
    return table, png, outlets


def write_fit(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write the fit table (or the outlets') atomically (`labor_stocks.files.write_file`)."""
    write_file(path, lambda temporary: table.to_csv(temporary, index=False, float_format="%.6g"))

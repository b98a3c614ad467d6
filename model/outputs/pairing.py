"""Paired replicates: scenario minus base, replicate by replicate, and the bands of those differences.

Replicate i of two runs had the same seed and the same posterior draw when both were run with
the same `--seed` and `--posterior` (see `labor_stocks.ensemble.runner`), so their difference is
what the scenarios change and nothing else. Subtracting the two runs' quantiles instead would
mix the spread of both ensembles into the difference and show uncertainty that is not there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .projection import COLUMNS, REPLICATES_FILE, Replicates
from .run_folder import ComparedRun


def check_paired(run: ComparedRun, base: ComparedRun) -> int:
    """How many replicates pair up; InputError when replicate i did not get the same seed and draw in both."""
    seeds = run.record.replicate_seeds
    base_seeds = base.record.replicate_seeds
    count = min(len(seeds), len(base_seeds))
    drawn = run.record.posterior.drawn
    base_drawn = base.record.posterior.drawn
    reason = None
    if count == 0:
        reason = "run.json lists no replicate seeds"
    elif seeds[:count] != base_seeds[:count]:
        reason = f"different seeds ({run.scenario.seed} and {base.scenario.seed})"
    elif (drawn is None) != (base_drawn is None) or (drawn is not None and drawn[:count] != base_drawn[:count]):
        used = [r.record.posterior.used for r in (run, base)]
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

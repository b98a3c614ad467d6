"""The calibrated posterior: parameter sets with weights, and how runs draw from it.

`calibration/posterior.csv` has one row per particle of the last ABC-SMC generation: a
`weight` column and one column per calibrated parameter (names as in
`labor_stocks.world.parameters.Parameters`). Two more kinds of column are optional:
- `event.ID.FIELD`, an event field the calibration learned (the event with that `id` in the
  history or a scenario; a `date` as YYYY-MM-DD, any other field a number): each replicate's
  event takes the particle's value instead of drawing its range (`plan.py`);
- `outlet.NAME.bias` and `outlet.NAME.accuracy`, what the calibration learned of an outlet's
  figures (`labor_stocks.calibration.observation`): they describe the reports, not the
  world, so runs carry them in their draws and the model never sees them.
A run draws one particle per replicate. Replicate i always
gets the same particle for a given seed, whatever the scenario, so that two scenarios run
with the same seed are paired replicate by replicate (same parameters, same random
streams) and their difference shows only what the scenarios change.

A posterior file is checked whole when it is read: every particle, drawn or not, must be a
parameter set the model accepts, so a bad row is found before any run and named.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..files import SCAN_BYTES, write_file
from ..world.events import parse_date
from ..world.parameters import Parameters, with_overrides

DEFAULT_POSTERIOR = Path("calibration/posterior.csv")
EVENT = "event"
OUTLET = "outlet"
OUTLET_PARTS = ("bias", "accuracy")
"""Column names `event.ID.FIELD` and `outlet.NAME.bias` / `outlet.NAME.accuracy` (see the module's docstring)."""
NO_POSTERIOR = "none (default parameters)"
"""How runs and fits name the absence of a posterior."""
_NUMERIC = {f.name: type(getattr(Parameters(), f.name)) for f in fields(Parameters)}


@dataclass(frozen=True)
class Posterior:
    """Particles (one dict of parameter values each) and their normalised weights."""

    path: str
    particles: tuple[dict[str, float], ...]
    weights: np.ndarray

    def draw(self, seed: int, replicate: int) -> dict[str, float]:
        """The particle of `replicate` under `seed`: the same for every scenario."""
        rng = np.random.default_rng([int(seed), int(replicate), 0x5E1EC7])
        return dict(self.particles[int(rng.choice(len(self.particles), p=self.weights))])

    def summary(self) -> pd.DataFrame:
        """Weighted median and 90% interval of each column (an event's date as YYYY-MM-DD)."""
        table = pd.DataFrame(list(self.particles))
        rows = []
        for name in table.columns:
            dates = _is_date_column(name)
            values = table[name].map(lambda v: event_day(v, name).toordinal()).to_numpy(dtype=float) if dates \
                else table[name].to_numpy(dtype=float)
            at = weighted_quantiles(values, self.weights, (0.05, 0.5, 0.95))
            if dates:
                at = {q: dt.date.fromordinal(int(v)).isoformat() for q, v in at.items()}
            rows.append({"parameter": name, "p05": at[0.05], "median": at[0.5], "p95": at[0.95]})
        return pd.DataFrame(rows)


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, quantiles: tuple[float, ...]) -> dict[float, float]:
    """The smallest value at or above each quantile of the weighted sample."""
    order = np.argsort(values)
    values = np.asarray(values, dtype=float)[order]
    cumulative = np.cumsum(np.asarray(weights, dtype=float)[order])
    cumulative /= cumulative[-1]
    return {q: float(values[min(int(np.searchsorted(cumulative, q)), len(values) - 1)]) for q in quantiles}


def _is_date_column(name: str) -> bool:
    kind = column_kind(name)
    return kind is not None and kind[0] == EVENT and kind[2] == "date"


def event_column(event_id: str, field: str) -> str:
    """The column (and calibration parameter) of an event's field: `event.ID.FIELD`."""
    return f"{EVENT}.{event_id}.{field}"


def outlet_column(outlet: str, part: str) -> str:
    """The column (and calibration parameter) of an outlet's bias or accuracy: `outlet.NAME.bias`."""
    return f"{OUTLET}.{outlet}.{part}"


def column_kind(name: str) -> tuple[str, str, str] | None:
    """("event", id, field) or ("outlet", name, part) for such a column; None for anything else (a parameter)."""
    for prefix in (EVENT, OUTLET):
        if name.startswith(prefix + ".") and name.count(".") >= 2:
            owner, part = name[len(prefix) + 1:].rsplit(".", 1)
            if owner and part and (prefix == EVENT or part in OUTLET_PARTS):
                return prefix, owner, part
    return None


def model_parameters(particle: dict[str, Any]) -> dict[str, Any]:
    """The particle's parameters of the model: every value but event fields and outlets'."""
    return {k: v for k, v in particle.items() if column_kind(k) is None}


def event_day(value: Any, where: str) -> dt.date:
    """An event date from a particle: what a scenario's date may be (`world.events.parse_date`: a date or
    YYYY-MM-DD, here with blanks around it allowed), or a day number (`date.toordinal`, as calibration draws it)."""
    if isinstance(value, str):
        value = value.strip()
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
            and math.isfinite(value) and 1 <= value < dt.date.max.toordinal():
        return dt.date.fromordinal(int(math.floor(value)))
    return parse_date(value, where)


def integer_safe(values: dict[str, float]) -> dict[str, float | int]:
    """Round values of whole-number parameters, so a particle can override them."""
    return {k: v if column_kind(k) is not None else int(round(v)) if _NUMERIC.get(k) is int else float(v)
            for k, v in values.items()}


def load_posterior(path: str | os.PathLike[str]) -> Posterior:
    """Read and check a posterior file; any problem is one InputError naming the file and column."""
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such posterior file") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise InputError(f"{path}: cannot read the posterior: {str(error).splitlines()[0]}") from None
    if "weight" not in table.columns:
        raise InputError(f"{path}: column weight: missing")
    if table.empty:
        raise InputError(f"{path}: no particles")
    for column in table.columns:
        shown = column if str(column).isprintable() and len(str(column)) <= 60 else repr(str(column)[:60])
        kind = column_kind(str(column))
        if column != "weight" and kind is None and column not in _NUMERIC:
            raise InputError(f"{path}: column {shown}: not a parameter of the model, an event field (event.ID.FIELD) "
                             f"or an outlet's bias or accuracy (outlet.NAME.bias, outlet.NAME.accuracy)")
        if column != "weight" and kind is None and _NUMERIC[column] is dict:
            raise InputError(f"{path}: column {column}: a table parameter cannot be calibrated")
        if column == "scale":
            raise InputError(f"{path}: column scale: the workers per agent are not calibrated (runs are at full scale)")
        if _is_date_column(column):
            for number, value in enumerate(table[column], start=1):
                try:
                    event_day(value, "")
                except InputError:
                    raise InputError(f"{path}: row {number}, column {shown}: not a date (YYYY-MM-DD): "
                                     f"{value!r}") from None
            table[column] = table[column].map(lambda v: event_day(v, "").isoformat())
            continue
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.fillna(0))
        if kind is not None and kind[0] == OUTLET and kind[2] == "accuracy":
            bad |= values.fillna(1) <= 0
        if bad.any():
            what = "not a positive number" if kind is not None and kind[2] == "accuracy" else "not a number"
            raise InputError(f"{path}: row {int(np.flatnonzero(bad)[0]) + 1}, column {shown}: {what}")
        table[column] = values
    weights = table.pop("weight").to_numpy(dtype=float)
    if (weights < 0).any() or not math.isfinite(weights.sum()) or weights.sum() <= 0:
        raise InputError(f"{path}: column weight: weights must be non-negative and not all zero")
    particles = tuple(integer_safe(row) for row in table.to_dict("records"))
    for number, particle in enumerate(particles, start=1):
        with_overrides(model_parameters(particle), f"{path}: row {number}")
    return Posterior(str(path), particles, weights / weights.sum())


def is_posterior_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file's header is a posterior's: `weight`, then only parameter, event and outlet columns.

    How `calibrate` recognises a posterior.csv as its own before replacing it; the rows are not read.
    """
    try:
        with open(path, "rb") as handle:
            first = handle.read(SCAN_BYTES).split(b"\n", 1)[0]
    except OSError:
        return False
    try:
        columns = first.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r").decode("utf-8").split(",")
    except UnicodeDecodeError:
        return False
    return columns[0] == "weight" and len(columns) > 1 and all(
        (column in _NUMERIC and column != "scale") or column_kind(column) is not None for column in columns[1:])


def write_posterior(particles: pd.DataFrame, weights: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write `weight` and the parameter columns, atomically (`labor_stocks.files.write_file`).

    An event's date (drawn by the calibration as a day number) is written as YYYY-MM-DD.
    """
    path = Path(path)
    table = particles.copy()
    for column in table.columns:
        if _is_date_column(str(column)):
            table[column] = table[column].map(lambda v: event_day(v, str(column)).isoformat())
    table.insert(0, "weight", weights)
    write_file(path, lambda temporary: table.to_csv(temporary, index=False, float_format="%.6g"))

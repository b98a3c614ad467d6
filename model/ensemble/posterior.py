"""The calibrated posterior: parameter sets with weights, and how runs draw from it.

`calibration/posterior.csv` has one row per particle of the last ABC-SMC generation: a
`weight` column and one column per calibrated parameter (names as in
`labor_stocks.world.parameters.Parameters`). A run draws one particle per replicate. Replicate i always
gets the same particle for a given seed, whatever the scenario, so that two scenarios run
with the same seed are paired replicate by replicate (same parameters, same random
streams) and their difference shows only what the scenarios change.

A posterior file is checked whole when it is read: every particle, drawn or not, must be a
parameter set the model accepts, so a bad row is found before any run and named.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..files import write_file
from ..world.parameters import Parameters, with_overrides

DEFAULT_POSTERIOR = Path("calibration/posterior.csv")
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
        """Weighted median and 90% interval of each parameter."""
        table = pd.DataFrame(list(self.particles))
        rows = []
        for name in table.columns:
            order = np.argsort(table[name].to_numpy())
            values = table[name].to_numpy()[order]
            cumulative = np.cumsum(self.weights[order])
            at = {q: float(values[min(np.searchsorted(cumulative, q), len(values) - 1)]) for q in (0.05, 0.5, 0.95)}
            rows.append({"parameter": name, "p05": at[0.05], "median": at[0.5], "p95": at[0.95]})
        return pd.DataFrame(rows)


def integer_safe(values: dict[str, float]) -> dict[str, float | int]:
    """Round values of whole-number parameters, so a particle can override them."""
    return {k: int(round(v)) if _NUMERIC.get(k) is int else float(v) for k, v in values.items()}


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
        if column != "weight" and column not in _NUMERIC:
            shown = column if str(column).isprintable() and len(str(column)) <= 40 else repr(str(column)[:40])
            raise InputError(f"{path}: column {shown}: not a parameter of the model")
        if column != "weight" and _NUMERIC[column] is dict:
            raise InputError(f"{path}: column {column}: a table parameter cannot be calibrated")
        if column == "scale":
            raise InputError(f"{path}: column scale: the workers per agent are not calibrated (runs are at full scale)")
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.fillna(0))
        if bad.any():
            raise InputError(f"{path}: row {int(np.flatnonzero(bad)[0]) + 1}, column {column}: not a number")
        table[column] = values
    weights = table.pop("weight").to_numpy(dtype=float)
    if (weights < 0).any() or not math.isfinite(weights.sum()) or weights.sum() <= 0:
        raise InputError(f"{path}: column weight: weights must be non-negative and not all zero")
    particles = tuple(integer_safe(row) for row in table.to_dict("records"))
    for number, particle in enumerate(particles, start=1):
        with_overrides(particle, f"{path}: row {number}")
    return Posterior(str(path), particles, weights / weights.sum())


def write_posterior(particles: pd.DataFrame, weights: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write `weight` and the parameter columns, atomically (`labor_stocks.files.write_file`)."""
    path = Path(path)
    table = particles.copy()
    table.insert(0, "weight", weights)
    write_file(path, lambda temporary: table.to_csv(temporary, index=False, float_format="%.6g"))

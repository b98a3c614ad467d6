"""The priors: what we believe about each calibrated parameter before the reports (`calibration/priors.toml`).

Each table of the file names a numeric parameter of `labor_stocks.world.parameters.Parameters`
and gives its `distribution` ("uniform" or "loguniform"), `low`, `high` and the `reason` for
the range. Everything that can be wrong with a prior is found when the file is read, before
any simulation: a bound outside the parameter's domain (a share above 1, a negative rate) is
one line naming the file and the key.

`check_scale` holds a calibration's workers-per-agent scale to the priors: one agent may stand
for at most as many workers as the smallest starting stock and the median factory the
priors allow, so that neither rounds to zero agents.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..ensemble.posterior import integer_safe
from ..world.parameters import Parameters, with_overrides

DISTRIBUTIONS = ("uniform", "loguniform")
SCALE_BOUNDS = {"initial_stock": "the starting stock", "factory_size_median": "a factory of the median size"}
"""Parameters, counted in workers, that one agent may not outnumber (see `check_scale`)."""
_WHERE = "\x00prior"


@dataclass(frozen=True)
class Prior:
    """A calibrated parameter: its prior distribution, range and the reason for it."""

    name: str
    distribution: str
    low: float
    high: float
    reason: str

    def pyabc_rv(self) -> Any:
        import pyabc

        if self.distribution == "uniform":
            return pyabc.RV("uniform", self.low, self.high - self.low)
        return pyabc.RV("loguniform", self.low, self.high)


def _in_domain(name: str, bound: str, value: float, where: str) -> None:
    """The parameter at `value` (rounded as a particle is) must pass the model's own checks."""
    try:
        with_overrides(integer_safe({name: value}), _WHERE)
    except InputError as error:
        reason = str(error).removeprefix(f"{_WHERE}: key {name}: ").removeprefix(f"{_WHERE}: ")
        raise InputError(f"{where}.{bound}: {value:g} is outside the parameter's domain ({reason})") from None


def load_priors(path: str | os.PathLike[str]) -> list[Prior]:
    """Read and check the priors file; one InputError naming the file and key on any problem."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        raise InputError(f"{path}: no such priors file") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the priors: {error}") from None
    known = Parameters()
    priors = []
    for name, spec in table.items():
        where = f"{path}: key {name}"
        if not hasattr(known, name) or isinstance(getattr(known, name), dict):
            raise InputError(f"{where}: not a numeric parameter of the model")
        if name == "scale":
            raise InputError(f"{where}: the workers per agent are not calibrated (calibrate --scale sets them)")
        if not isinstance(spec, dict):
            raise InputError(f"{where}: must be a table with distribution, low, high, reason")
        unknown = set(spec) - {"distribution", "low", "high", "reason"}
        if unknown:
            raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        if spec.get("distribution") not in DISTRIBUTIONS:
            raise InputError(f"{where}.distribution: must be one of {', '.join(DISTRIBUTIONS)}")
        low, high = spec.get("low"), spec.get("high")
        for key, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"{where}.{key}: must be a number")
        if not low < high or (spec["distribution"] == "loguniform" and low <= 0):
            raise InputError(f"{where}: need 0 <= low < high (low > 0 for loguniform), got {low}, {high}")
        for key, value in (("low", low), ("high", high)):
            _in_domain(name, key, value, where)
        if not isinstance(spec.get("reason"), str) or not spec["reason"].strip():
            raise InputError(f"{where}.reason: say why this range (an article or an argument)")
        priors.append(Prior(name, spec["distribution"], float(low), float(high), spec["reason"]))
    if not priors:
        raise InputError(f"{path}: no parameters to calibrate")
    return priors


def check_scale(scale: int, priors: list[Prior], where: str = "--scale") -> None:
    """Refuse a scale at which the starting stock or a median factory could round to zero agents.

    The rule: `scale` may not exceed the smallest `initial_stock` or `factory_size_median` the
    priors allow (their default where they are not calibrated).
    """
    defaults = Parameters()
    lows = {p.name: p.low for p in priors}
    bounds = {name: lows.get(name, getattr(defaults, name)) for name in SCALE_BOUNDS}
    name = min(bounds, key=bounds.get)
    if scale > bounds[name]:
        source = "the prior's low end" if name in lows else "its default"
        raise InputError(f"{where}: one agent per {scale:,} workers leaves {SCALE_BOUNDS[name]} ({bounds[name]:,.0f} "
                         f"workers, {source}) without an agent; use at most {math.floor(bounds[name]):,}")

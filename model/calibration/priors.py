"""The priors: what we believe about each calibrated parameter before the reports (`calibration/priors.toml`).

Each table of the file names a numeric parameter of `labor_stocks.world.parameters.Parameters`
and gives its `distribution` ("uniform" or "loguniform"), `low`, `high` and the `reason` for
the range. Everything that can be wrong with a prior is found when the file is read, before
any simulation: a bound outside the parameter's domain (a share above 1, a negative rate) is
one line naming the file and the key.

Two more kinds of table:

- An event field, by the event's `id` (given in the history or a scenario) and the field:

      [event.dandong-trains.date]        # a date: uniform over the days, both ends included
      earliest = 2023-01-15
      latest = 2023-08-31
      reason = "000: passenger trains resumed 'last year'"

      [event.liaoning-2024.level]        # a number: as a parameter's prior
      distribution = "uniform"
      low = 0.7
      high = 1.0
      reason = "..."

  The calibration then learns that field (a pyabc parameter named `event.ID.FIELD`, a date
  drawn as a day number, `date.toordinal`) and each simulation's event takes the particle's
  value instead of drawing the field's range; the posterior keeps the column, so runs with it
  do the same. Whether the id and the field exist and both ends are valid for the field
  (`check_event_priors`) is checked against the events, before any simulation.

- What the outlets' figures are worth (`observation.py`), one table for every outlet of the
  ledger:

      [outlets]
      bias = { distribution = "normal", low = -0.5, high = 0.5 }
      accuracy = { distribution = "loguniform", low = 0.5, high = 2.0 }
      reference = ["UN Panel of Experts"]
      reason = "..."

  `bias` (log scale) is "normal" with `low`..`high` its 90% interval (centred on 0 unless the
  reason says otherwise) or "uniform"; `accuracy`, the multiplier of each report's confidence
  sigma, is "loguniform" or "uniform" with `low` > 0 (so a report's error is still by its
  confidence: the accuracy only scales it). `reference` outlets are the benchmark (IMEM's
  benchmark sources): taken at their word, bias 0 and accuracy 1, they anchor the scale that
  the other outlets' biases are measured against. Every other outlet of the reports gets
  two parameters, `outlet.NAME.bias` and `outlet.NAME.accuracy` (`for_reports`). Without an
  `[outlets]` table no outlet is estimated.

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

from collections.abc import Sequence

from ..errors import InputError
from ..ensemble.plan import field_value
from ..ensemble.posterior import EVENT, event_column, integer_safe, outlet_column
from ..world.events import Event, parse_date
from ..world.parameters import Parameters, with_overrides
from .reports import Report

DISTRIBUTIONS = ("uniform", "loguniform")
OUTLETS = "outlets"
"""The priors file's table of the outlets' shared prior; its parameters are `outlets.bias` and `outlets.accuracy`
until `for_reports` gives each outlet its own."""
OUTLET_DISTRIBUTIONS = {"bias": ("normal", "uniform"), "accuracy": ("loguniform", "uniform")}
Z90 = 1.6448536269514722
"""The standard normal's 95% quantile: a normal prior's `low` and `high` are its 90% interval."""
SCALE_BOUNDS = {"initial_stock": "the starting stock", "factory_size_median": "a factory of the median size"}
"""Parameters, counted in workers, that one agent may not outnumber (see `check_scale`)."""
_WHERE = "\x00prior"


@dataclass(frozen=True)
class Prior:
    """A calibrated parameter: its prior distribution, range and the reason for it."""

    name: str
    distribution: str
    """"uniform", "loguniform", or "normal" (an outlet's bias) with `low`..`high` its 90% interval."""
    low: float
    high: float
    reason: str
    dates: bool = False
    """An event's date: uniform over day numbers (`date.toordinal`) from `low` to `high` - 1, both included."""
    reference: tuple[str, ...] = ()
    """On the outlets' shared prior only: the outlets taken at their word (bias 0, accuracy 1)."""

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def sd(self) -> float:
        """A normal prior's standard deviation."""
        return (self.high - self.low) / (2 * Z90)

    def pyabc_rv(self) -> Any:
        import pyabc

        if self.distribution == "uniform":
            return pyabc.RV("uniform", self.low, self.high - self.low)
        if self.distribution == "normal":
            return pyabc.RV("norm", self.mean, self.sd)
        return pyabc.RV("loguniform", self.low, self.high)

    def quantile(self, q: float) -> float:
        """The prior's quantile `q` (0 < q < 1)."""
        if self.distribution == "loguniform":
            return math.exp(math.log(self.low) + q * (math.log(self.high) - math.log(self.low)))
        if self.distribution == "normal":
            from scipy.stats import norm

            return float(self.mean + self.sd * norm.ppf(q))
        return self.low + q * (self.high - self.low)


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
        if name == EVENT:
            priors.extend(_event_priors(spec, where))
            continue
        if name == OUTLETS:
            priors.extend(_outlet_priors(spec, where))
            continue
        if not hasattr(known, name) or isinstance(getattr(known, name), dict):
            hint = (" (an event field is a table [event.ID.FIELD], the outlets' prior the table [outlets])"
                    if "." in name else "")
            raise InputError(f"{where}: not a numeric parameter of the model{hint}")
        if name == "scale":
            raise InputError(f"{where}: the workers per agent are not calibrated (calibrate --scale sets them)")
        low, high = _range(spec, where, DISTRIBUTIONS)
        for key, value in (("low", low), ("high", high)):
            _in_domain(name, key, value, where)
        priors.append(Prior(name, spec["distribution"], low, high, _reason(spec, where)))
    if not [p for p in priors if p.name not in (f"{OUTLETS}.bias", f"{OUTLETS}.accuracy")]:
        raise InputError(f"{path}: no parameters to calibrate")
    return priors


def _reason(spec: dict[str, Any], where: str) -> str:
    if not isinstance(spec.get("reason"), str) or not spec["reason"].strip():
        raise InputError(f"{where}.reason: say why this range (an article or an argument)")
    return spec["reason"]


def _range(spec: Any, where: str, distributions: tuple[str, ...], extra: tuple[str, ...] = ("reason",)) -> tuple[float, float]:
    """`distribution`, `low` and `high` of a table, checked; (low, high)."""
    if not isinstance(spec, dict):
        raise InputError(f"{where}: must be a table with distribution, low, high{', reason' if extra else ''}")
    unknown = set(spec) - {"distribution", "low", "high", *extra}
    if unknown:
        raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    if spec.get("distribution") not in distributions:
        raise InputError(f"{where}.distribution: must be one of {', '.join(distributions)}")
    low, high = spec.get("low"), spec.get("high")
    for key, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{where}.{key}: must be a number")
    if not low < high or (spec["distribution"] == "loguniform" and low <= 0):
        raise InputError(f"{where}: need 0 <= low < high (low > 0 for loguniform), got {low}, {high}")
    return float(low), float(high)


def _event_priors(spec: Any, where: str) -> list[Prior]:
    """The tables [event.ID.FIELD]: a date between `earliest` and `latest`, or a number as a parameter's."""
    if not isinstance(spec, dict):
        raise InputError(f"{where}: write event fields as tables [event.ID.FIELD] (e.g. [event.dandong-trains.date])")
    priors = []
    for event_id, fields in spec.items():
        if not isinstance(fields, dict) or not fields or not all(isinstance(f, dict) for f in fields.values()):
            raise InputError(f"{where}.{event_id}: write event fields as tables [event.ID.FIELD] "
                             f"(e.g. [event.{event_id}.date])")
        for field, table in fields.items():
            here = f"{where}.{event_id}.{field}"
            name = event_column(event_id, field)
            if field == "date":
                unknown = set(table) - {"earliest", "latest", "reason"}
                if unknown:
                    raise InputError(f"{here}: unknown key {sorted(unknown)[0]!r} (a date's prior has earliest, "
                                     "latest, reason)")
                missing = [key for key in ("earliest", "latest") if key not in table]
                if missing:
                    raise InputError(f"{here}.{missing[0]}: missing (a date's prior has earliest, latest, reason)")
                bounds = [parse_date(table[key], f"{here}.{key}") for key in ("earliest", "latest")]
                if bounds[0] > bounds[1]:
                    raise InputError(f"{here}: earliest ({bounds[0]}) is after latest ({bounds[1]})")
                priors.append(Prior(name, "uniform", float(bounds[0].toordinal()), float(bounds[1].toordinal() + 1),
                                    _reason(table, here), dates=True))
            else:
                low, high = _range(table, here, DISTRIBUTIONS)
                priors.append(Prior(name, table["distribution"], low, high, _reason(table, here)))
    return priors


def _outlet_priors(spec: Any, where: str) -> list[Prior]:
    """The table [outlets]: the shared prior of every outlet's bias and accuracy, and the reference outlets."""
    if not isinstance(spec, dict):
        raise InputError(f"{where}: must be a table with bias, accuracy, reason (and reference)")
    unknown = set(spec) - {"bias", "accuracy", "reference", "reason"}
    if unknown:
        raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: bias, accuracy, reference, reason)")
    reason = _reason(spec, where)
    reference = spec.get("reference", [])
    if not isinstance(reference, list) or not all(isinstance(r, str) and r.strip() for r in reference):
        raise InputError(f"{where}.reference: must be a list of outlet names, e.g. [\"UN Panel of Experts\"]")
    priors = []
    for part in ("bias", "accuracy"):
        if part not in spec:
            raise InputError(f"{where}.{part}: missing (e.g. {part} = {{ distribution = "
                             f"\"{OUTLET_DISTRIBUTIONS[part][0]}\", low = ..., high = ... }})")
        low, high = _range(spec[part], f"{where}.{part}", OUTLET_DISTRIBUTIONS[part], extra=())
        if part == "accuracy" and low <= 0:
            raise InputError(f"{where}.accuracy: low must be above 0 (a multiplier of the sigma), got {low}")
        priors.append(Prior(f"{OUTLETS}.{part}", spec[part]["distribution"], low, high, reason,
                            reference=tuple(r.strip() for r in reference)))
    return priors


def outlets_of_reports(reports: Sequence[Report]) -> list[str]:
    """The outlets of the reports (`Report.origin`), in the order they first appear."""
    return list(dict.fromkeys(report.origin for report in reports))


def for_reports(priors: Sequence[Prior], reports: Sequence[Report]) -> list[Prior]:
    """The priors with the outlets' shared prior given to each outlet of `reports` that is not a reference.

    A reference outlet that none of the reports names changes nothing (a fit of a few reports
    need not hold the benchmark's); the outlets table (`fit.outlet_table`) shows which outlets
    were estimated. Priors already given per outlet pass unchanged.
    """
    shared = {p.name: p for p in priors if p.name in (f"{OUTLETS}.bias", f"{OUTLETS}.accuracy")}
    out = [p for p in priors if p.name not in shared]
    if not shared:
        return out
    outlets = outlets_of_reports(reports)
    reference = next(iter(shared.values())).reference
    for outlet in outlets:
        if outlet in reference:
            continue
        for part in ("bias", "accuracy"):
            prior = shared[f"{OUTLETS}.{part}"]
            out.append(Prior(outlet_column(outlet, part), prior.distribution, prior.low, prior.high, prior.reason))
    return out


def accuracy_floor(priors: Sequence[Prior]) -> float:
    """The least accuracy the priors allow an outlet (1 when no outlet is estimated): see `observation.distance`."""
    lows = [p.low for p in priors if p.name.endswith(".accuracy") and p.name.startswith(("outlet.", "outlets."))]
    return min([1.0, *lows])


def check_event_priors(priors: Sequence[Prior], events: Sequence[Event], where: str = "priors") -> None:
    """Every event field a prior names exists, and both ends of its prior are valid values of it."""
    by_id = {}
    for event in events:
        if event.id:
            by_id.setdefault(event.id, event)
    for prior in priors:
        if not prior.name.startswith(EVENT + "."):
            continue
        event_id, field = prior.name[len(EVENT) + 1:].rsplit(".", 1)
        here = f"{where}: key {prior.name}"
        event = by_id.get(event_id)
        if event is None:
            raise InputError(f"{here}: no event of the history has the id {event_id!r} "
                             f"(ids: {', '.join(sorted(by_id)) or 'none; give the event an id'})")
        ends = (prior.low, prior.high - 1) if prior.dates else (prior.low, prior.high)
        for end in ends:
            field_value(event, field, end, here)


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

"""The observation model: how a report is compared with what the model simulates.

A report names a kind (stock, inflow, outflow, defections), a place, a period and a unit.
The simulated counterpart is computed from a run's daily records:

- `stock` in `workers`: the stock at the end of `period_end` in the place;
- a flow in `workers`: the flow summed over the period, both ends included;
- a flow in `workers_per_day`: that sum divided by the days of the period;
- place `overseas` (a worldwide figure, 003's ~100,000 in some 40 countries): China's stock,
  and the figure is only an upper bound on it;
- a crossing (e.g. Dandong-Sinuiju): the sum over the cities whose workers cross there.

A report says either a point ("about 4,000") or a range or bound ("hundreds": 200 to 999;
"over 20": at least 21; "no new assignments": at most 0). Inside a range the error is zero;
outside it, and for a point, the error is measured on a log scale with an offset, so that
relative errors count for large figures and small absolute ones do not explode near zero:

    z = (log(simulated + OFFSET) - log(nearest reported bound + OFFSET)) / SIGMA[confidence]

SIGMA is how far (as a factor) a report of that confidence may be off at one standard
error: about 15% for a UN panel figure (high), 35% for a named single source (medium), 80%
for hearsay or a qualitative statement turned into a bound (low). OFFSET is 10 workers.

Sources of unequal worth (after IMEM, Raymer et al., "Integrated modeling of European
migration", JASA 2013: each data source has its own bias and accuracy, estimated together
with the true flows). Each outlet (the ledger's `outlet` column, or else the row's `source`)
has a bias b on the log scale, so that it reports about e^b times the truth, and an accuracy
a, a multiplier of its reports' confidence sigma:

    z = (log(simulated + OFFSET) + b - log(nearest reported bound + OFFSET)) / (a * SIGMA[confidence])

and zero when log(simulated + OFFSET) + b lies inside the reported range. Without outlet
priors every outlet has b = 0 and a = 1, the formula above. With them (`priors.py`), b and a
are calibration parameters beside the model's (the model never sees them).

Reports that restate one statement (the ledger's `statement` key: Daily NK's October 4,000,
November's 2,000, "200 a day" and "6,000 in two months" are one source's one account) count
once. A statement contributes the mean of its rows' terms, so that it weighs as one report
whatever the number of rows it was copied into. The mean rather than one chosen row because
each row reads the account differently (a month, ten days, a daily rate) and a model that
fits one reading but not another should be told so; rather than the sum because the rows
share one source's error: if they restate one figure, their z are one z, and the mean of n
equal z^2 is that z^2, exactly one report's weight, where the sum would be n.

The calibration distance is the root of the sum over statements of those means, each row's
term being

    z^2 + 2 log(a / a_floor)

The second part is the normal likelihood's own price for a wide error (2 log of the sigma):
without it an outlet's accuracy would always grow, since a wider sigma shrinks every z. The
floor a_floor is the least accuracy the priors allow (1 without outlet priors), so that each
term is at least zero; it shifts every simulation's distance alike. Without outlet priors
and statements the distance is the root of the summed z^2 over the reports.

The run that reports are compared with (`reports_scenario`) is the shared history from its
first day to the last day any report covers. A report whose period starts before the
history's first day (2017-01-01) has no counterpart: it is refused, never left out.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..ensemble.posterior import OUTLET, column_kind, outlet_column
from ..errors import InputError
from ..scenarios.history import HISTORY_PATH, HISTORY_START, load_history
from ..scenarios.scenario import Scenario
from ..world.events import Event
from ..world.geography import CHINA, OVERSEAS
from .reports import Report

SIGMA = {"high": math.log(1.15), "medium": math.log(1.35), "low": math.log(1.8)}
"""Log-scale standard error a report of each confidence is allowed."""

OFFSET = 10.0
"""Workers added before taking logs: small counts and zero bounds get an absolute tolerance."""


@dataclass(frozen=True)
class Outlet:
    """What one outlet's figures are worth: it reports about e^bias times the truth, with accuracy times its sigma."""

    bias: float = 0.0
    """Log scale: +0.41 means the outlet's figures run about 1.5 times the truth."""
    accuracy: float = 1.0
    """Multiplier of each of its reports' confidence sigma: 2 means twice as far off as the confidence says."""

    def reported(self, simulated: float) -> float:
        """What the outlet would report for a simulated figure: e^bias times it, on `z`'s log scale.

        Never below zero: on that scale an outlet that under-reports would turn a true zero into
        a negative figure, which no outlet gives ("no new assignments" stays zero).
        """
        return max(math.exp(math.log(simulated + OFFSET) + self.bias) - OFFSET, 0.0) if self.bias else simulated


TAKEN_AT_THEIR_WORD = Outlet()
"""An outlet whose bias and accuracy are not estimated: its reports are worth what their confidence says."""


def outlets_of(parameters: Mapping[str, float]) -> dict[str, Outlet]:
    """The outlets' bias and accuracy from parameters named `outlet.NAME.bias` and `outlet.NAME.accuracy`."""
    parts: dict[str, dict[str, float]] = {}
    for name, value in parameters.items():
        kind = column_kind(name)
        if kind is not None and kind[0] == OUTLET:
            parts.setdefault(kind[1], {})[kind[2]] = float(value)
    return {name: Outlet(**values) for name, values in parts.items()}


def outlet_parameters(outlets: Mapping[str, Outlet]) -> dict[str, float]:
    """The inverse of `outlets_of`."""
    out = {}
    for name, outlet in outlets.items():
        out[outlet_column(name, "bias")] = outlet.bias
        out[outlet_column(name, "accuracy")] = outlet.accuracy
    return out


@dataclass(frozen=True)
class Observation:
    """A report tied to the model's time axis: which series, which days, which interval."""

    report: Report
    first_day: int
    last_day: int

    @classmethod
    def of(cls, report: Report) -> "Observation":
        return cls(report, (report.period_start - HISTORY_START).days, (report.period_end - HISTORY_START).days)

    @property
    def place(self) -> str:
        return CHINA if self.report.place == OVERSEAS else self.report.place

    @property
    def interval(self) -> tuple[float, float]:
        """What the report allows, as (low, high); a point is a zero-width interval."""
        report = self.report
        if report.place == OVERSEAS:
            return (0.0, report.value if report.value is not None else (report.high or math.inf))
        if report.low is not None or report.high is not None:
            return (report.low if report.low is not None else 0.0,
                    report.high if report.high is not None else math.inf)
        return (report.value, report.value)

    def simulate(self, series: dict[str, dict[str, np.ndarray]]) -> float:
        """The simulated counterpart, from daily series by quantity and place (in workers)."""
        daily = series[self.report.kind][self.place]
        if self.report.kind == "stock":
            return float(daily[self.last_day])
        total = float(daily[self.first_day:self.last_day + 1].sum())
        if self.report.unit == "workers_per_day":
            return total / (self.last_day - self.first_day + 1)
        return total

    def z(self, simulated: float, outlet: Outlet = TAKEN_AT_THEIR_WORD) -> float:
        """Signed standardized error, given what the report's outlet is worth; zero inside the reported range."""
        low, high = self.interval
        seen = math.log(simulated + OFFSET) + outlet.bias
        bottom, top = math.log(low + OFFSET), math.log(high + OFFSET) if math.isfinite(high) else math.inf
        if bottom <= seen <= top:
            return 0.0
        bound = bottom if seen < bottom else top
        return (seen - bound) / (SIGMA[self.report.confidence] * outlet.accuracy)


def observations(reports: list[Report]) -> list[Observation]:
    """Every report tied to the model's days; a report the model cannot simulate is one InputError naming it."""
    for report in reports:
        if report.period_start < HISTORY_START:
            raise InputError(f"report {report.id}: its period starts on {report.period_start}, before the "
                             f"model's first day ({HISTORY_START}); the model cannot say what it was")
    return [Observation.of(r) for r in reports]


def report_end(reports: list[Report]) -> dt.date:
    """The last day any report covers: simulations need not run further."""
    if not reports:
        raise InputError("no reports to compare the model with")
    return max(r.period_end for r in reports)


def reports_scenario(reports: list[Report], scale: int = 1, events: Sequence[Event] | None = None) -> Scenario:
    """The run the reports are compared with: the shared history up to the last report, at `scale` workers per agent.

    `events` replace the shared history (a notebook's or a test's own; None: the history).
    """
    end = report_end(reports)
    own = events is not None
    return Scenario(name="reports", description="the shared history, up to the last report", start=HISTORY_START,
                    end=end, replicates=1, seed=0, output_freq="day", parameters={"scale": int(scale)},
                    events=tuple(events) if own else tuple(load_history()),
                    chain=("events given" if own else str(HISTORY_PATH),))


@dataclass(frozen=True)
class Counterparts:
    """Every report's simulated counterpart from a run's daily series, by report id (an ensemble's reduce)."""

    observed: tuple[Observation, ...]

    def __call__(self, series: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
        return {o.report.id: o.simulate(series) for o in self.observed}


def statement_terms(observed: Sequence[Observation], simulated: Mapping[str, float],
                    outlets: Mapping[str, Outlet] | None = None, accuracy_floor: float = 1.0) -> dict[str, float]:
    """Each statement's term of the distance: the mean over its rows of z^2 + 2 log(accuracy / floor).

    Keys are the statement keys; a report without one is a statement of its own (keyed by its
    place in `observed`). `outlets` give each outlet's bias and accuracy (missing: taken at their word).
    """
    rows: dict[str, list[float]] = {}
    for j, o in enumerate(observed):
        outlet = outlets.get(o.report.origin, TAKEN_AT_THEIR_WORD) if outlets else TAKEN_AT_THEIR_WORD
        z = o.z(simulated[o.report.id], outlet)
        price = 2 * math.log(outlet.accuracy / accuracy_floor) if outlet.accuracy != accuracy_floor else 0.0
        rows.setdefault(o.report.statement or f"\x00{j}", []).append(z * z + price)
    return {key: sum(terms) / len(terms) for key, terms in rows.items()}


def distance(observed: Sequence[Observation], simulated: Mapping[str, float],
             outlets: Mapping[str, Outlet] | None = None, accuracy_floor: float = 1.0) -> float:
    """The ABC distance: root of the summed statement terms (see the module's docstring)."""
    return math.sqrt(max(0.0, sum(statement_terms(observed, simulated, outlets, accuracy_floor).values())))

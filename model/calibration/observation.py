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
The calibration distance is the root of the sum of z squared over the reports.

The run that reports are compared with (`reports_scenario`) is the shared history from its
first day to the last day any report covers. A report whose period starts before the
history's first day (2017-01-01) has no counterpart: it is refused, never left out.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..scenarios.history import HISTORY_PATH, HISTORY_START, load_history
from ..scenarios.scenario import Scenario
from ..world.geography import CHINA, OVERSEAS
from .reports import Report

SIGMA = {"high": math.log(1.15), "medium": math.log(1.35), "low": math.log(1.8)}
"""Log-scale standard error a report of each confidence is allowed."""

OFFSET = 10.0
"""Workers added before taking logs: small counts and zero bounds get an absolute tolerance."""


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

    def z(self, simulated: float) -> float:
        """Signed standardized error; zero inside the reported range."""
        low, high = self.interval
        if low <= simulated <= high:
            return 0.0
        bound = low if simulated < low else high
        return (math.log(simulated + OFFSET) - math.log(bound + OFFSET)) / SIGMA[self.report.confidence]


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


def reports_scenario(reports: list[Report], scale: int = 1) -> Scenario:
    """The run the reports are compared with: the shared history up to the last report, at `scale` workers per agent."""
    end = report_end(reports)
    return Scenario(name="reports", description="the shared history, up to the last report", start=HISTORY_START,
                    end=end, replicates=1, seed=0, output_freq="day", parameters={"scale": int(scale)},
                    events=tuple(load_history()), chain=(str(HISTORY_PATH),))


@dataclass(frozen=True)
class Counterparts:
    """Every report's simulated counterpart from a run's daily series, by report id (an ensemble's reduce)."""

    observed: tuple[Observation, ...]

    def __call__(self, series: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
        return {o.report.id: o.simulate(series) for o in self.observed}


def distance(observed: list[Observation], simulated: dict[str, float]) -> float:
    """Root of the summed squared z over the reports (the ABC distance)."""
    return math.sqrt(sum(o.z(simulated[o.report.id]) ** 2 for o in observed))

"""Which assumption drives each place's projection: Sobol indices (SALib) of the stock at chosen dates.

The inputs are every calibrated parameter (drawn from the posterior, or from the priors),
every ranged field of the scenario's events (`{ low, high }`, `{ earliest, latest }`, drawn
from its range), and `chance`: the seed of the run, which stands for the model's own
randomness (who falls ill, who defects, which factory closes). Parameters the scenario sets
in `[parameters]` are its explicit assumptions: they are held at their value, not varied.

**Indices.** For the stock Y at a place and date, the first-order index of input i is
S1 = Var(E[Y | x_i]) / Var(Y), the share of Y's spread that would go away if x_i alone were
known exactly; the total index ST = E[Var(Y | all but x_i)] / Var(Y) is the share in which
x_i plays a part, alone or through its interplay with other inputs. An input that cannot
affect Y has ST = 0; ST - S1 is what it does together with others. The indices come with
95% bootstrap intervals (`S1_low` .. `ST_high`): with the default `--samples` these are wide,
and `--samples 128` (or more) narrows them for a final figure.

**Estimator.** Saltelli's design (SALib `sample.sobol`, a scrambled Sobol' sequence, seeded)
with Saltelli's (2010) first-order and Jansen's total-order estimators (SALib
`analyze.sobol`), without the second-order indices, which would double the cost: N x (D + 2)
runs for N `--samples` and D inputs. The cheaper estimators in SALib give less: RBD-FAST
and the delta index no total index, eFAST about the same number of runs for both. One run
gives every place and date, so they all share the runs.

**Chance as an input.** Making the seed an input of its own keeps the other indices honest:
within a Saltelli row, the runs that differ in one input share their seed, so an input that
cannot affect a place gives exactly the same stock there and gets ST = 0, instead of the
model's noise spread over every input. The chance row says how much of the spread is luck.

**Dependent inputs.** Saltelli's design assumes independent inputs with known marginals; a
posterior's parameters are correlated (reports pin down combinations: more workers at the
start and more sent home can give the same 2024 stock). Here each calibrated parameter is
drawn from its own weighted posterior marginal (the inverse of the weighted particles' CDF,
interpolated between particles) independently of the others. The indices therefore describe
the model over every combination of plausible values, including combinations the posterior
finds unlikely, and the design's spread can exceed the posterior's: read them as how much
the projection hangs on each assumption's uncertainty, not as a decomposition of the
posterior's own spread. `inputs.csv` and `correlations.csv` give the posterior's rank
correlations beside: where two inputs are strongly correlated, read their indices together
(what the reports fix is their combination).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from ..calibration.priors import Prior
from ..ensemble.plan import replicate
from ..ensemble.posterior import Posterior, column_kind, integer_safe
from ..ensemble.runner import simulate
from ..scenarios.history import HISTORY_START
from ..scenarios.scenario import Scenario
from ..world.events import Event
from ..world.parameters import Parameters
from ..world.ranges import Range
from .explain_folder import INPUTS_COLUMNS, SENSITIVITY_COLUMNS

DEFAULT_SAMPLES = 32
"""Base samples N of the Saltelli design (a power of two, as Sobol' sequences want)."""
MAX_SAMPLES = 65_536
CHANCE = "chance"
RESAMPLES = 200
"""Bootstrap resamples of SALib's confidence intervals."""
_PARAMETER_UNITS = {f.name: f.metadata.get("unit", "") for f in fields(Parameters)}


# --- what is explained -------------------------------------------------------------------------

@dataclass(frozen=True)
class Points:
    """The stocks explained: each place at each date (the last day of a period), places first."""

    places: tuple[str, ...]
    dates: tuple[dt.date, ...]

    @property
    def pairs(self) -> list[tuple[str, dt.date]]:
        return [(place, date) for place in self.places for date in self.dates]

    def stocks(self, daily: dict[str, dict[str, np.ndarray]]) -> np.ndarray:
        """The stock at every (place, date), in workers, from a run's daily series."""
        return np.array([daily["stock"][place][(date - HISTORY_START).days] for place, date in self.pairs],
                        dtype=np.int64)


# --- the inputs --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Input:
    """One input of the design: its name, kind, where its values come from, and its inverse CDF on [0, 1]."""

    name: str
    kind: str
    """"parameter", "event" (a ranged field of an event) or "chance" (the run's seed)."""
    drawn_from: str
    unit: str
    quantile: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)
    event: int | None = None
    key: str | None = None
    dates: bool = False


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: Any) -> np.ndarray:
    """Quantiles `q` of weighted values: the weighted CDF through each value's mid-weight, interpolated."""
    weights = np.asarray(weights, dtype=float)
    values = np.asarray(values, dtype=float)[weights > 0]
    order = np.argsort(values, kind="stable")
    w = weights[weights > 0][order]
    w = w / w.sum()
    middle = np.cumsum(w) - w / 2
    return np.interp(q, middle, values[order])


def _weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each value's weighted mid-CDF (ties share theirs): the rank scale of a weighted sample."""
    order = np.argsort(values, kind="stable")
    w = weights[order] / weights.sum()
    middle = np.cumsum(w) - w / 2
    sorted_values = values[order]
    ranks = np.empty_like(middle)
    ranks[order] = middle
    for value in np.unique(sorted_values[np.r_[False, np.diff(sorted_values) == 0]]):
        tied = values == value
        ranks[tied] = np.average(ranks[tied], weights=weights[tied]) if weights[tied].sum() > 0 else ranks[tied].mean()
    return ranks


def rank_correlations(posterior: Posterior, names: Sequence[str]) -> pd.DataFrame:
    """The posterior's weighted rank (Spearman) correlations between parameters `names`, as a square table."""
    table = pd.DataFrame(list(posterior.particles))
    w = posterior.weights
    ranks = {name: _weighted_ranks(table[name].to_numpy(dtype=float), w) for name in names}
    matrix = np.eye(len(names))
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            b = names[j]
            ra, rb = ranks[a] - np.average(ranks[a], weights=w), ranks[b] - np.average(ranks[b], weights=w)
            spread = math.sqrt(np.average(ra ** 2, weights=w) * np.average(rb ** 2, weights=w))
            matrix[i, j] = matrix[j, i] = np.average(ra * rb, weights=w) / spread if spread > 0 else 0.0
    return pd.DataFrame(matrix, index=list(names), columns=list(names))


def posterior_inputs(posterior: Posterior, fixed: Sequence[str] = ()) -> list[Input]:
    """One input per calibrated parameter of the model in the posterior (those the scenario fixes left out).

    An outlet's bias and accuracy never reach the model (they weigh its reports), so they are
    no input of a projection; an event field the posterior holds is an input as the scenario's
    ranged field (`event_inputs`).
    """
    table = pd.DataFrame(list(posterior.particles))
    inputs = []
    for name in table.columns:
        if name in fixed or column_kind(name) is not None:
            continue
        values = table[name].to_numpy(dtype=float)
        inputs.append(Input(name, "parameter", "posterior marginal (weighted particles)", _PARAMETER_UNITS.get(name, ""),
                            lambda u, v=values: weighted_quantile(v, posterior.weights, u)))
    return inputs


def prior_quantile(prior: Prior, u: np.ndarray) -> np.ndarray:
    """The prior's inverse CDF: uniform, or uniform in the logarithm."""
    u = np.asarray(u, dtype=float)
    if prior.distribution == "loguniform":
        return np.exp(math.log(prior.low) + u * (math.log(prior.high) - math.log(prior.low)))
    return prior.low + u * (prior.high - prior.low)


def prior_inputs(priors: Sequence[Prior], fixed: Sequence[str] = ()) -> list[Input]:
    """One input per parameter of the model in the priors (those the scenario fixes left out; not the outlets')."""
    return [Input(p.name, "parameter", f"prior {p.distribution} {p.low:g} to {p.high:g}",
                  _PARAMETER_UNITS.get(p.name, ""), lambda u, p=p: prior_quantile(p, u))
            for p in priors if p.name not in fixed and not p.name.startswith(("outlet.", "outlets.", "event."))]


def range_quantile(span: Range, u: np.ndarray) -> np.ndarray:
    """A range's inverse CDF: dates as day ordinals (each day equally likely), numbers as drawn per replicate."""
    u = np.asarray(u, dtype=float)
    if span.dates:
        return np.minimum(np.floor(span.low + u * (span.high - span.low + 1)), span.high)
    if span.high == span.low:
        values = np.full_like(u, span.low)
    elif span.distribution == "triangular":
        from scipy.stats import triang

        values = triang.ppf(u, (span.mode - span.low) / (span.high - span.low), loc=span.low,
                            scale=span.high - span.low)
    else:
        values = span.low + u * (span.high - span.low)
    return np.round(values) if span.whole else values


def event_label(event: Event) -> str:
    """How an event is named among the inputs: its id, or its type and (earliest) date."""
    return event.id or f"{event.type}@{event.date.isoformat()}"


def event_inputs(events: Sequence[Event]) -> list[Input]:
    """One input per ranged field of the events, named `event.key` (e.g. `dispatch@2025-03-01.size`)."""
    inputs, seen = [], set()
    for index, event in enumerate(events):
        for key in sorted(event.ranges):
            span = event.ranges[key]
            name = f"{event_label(event)}.{key}"
            if name in seen:
                name = f"{name}#{index + 1}"
            seen.add(name)
            if span.dates:
                words = (f"range {dt.date.fromordinal(int(span.low))} to {dt.date.fromordinal(int(span.high))}, "
                         f"each day equally likely")
            else:
                words = f"range {span.distribution} {span.low:g} to {span.high:g}"
            inputs.append(Input(name, "event", words, "date" if span.dates else "",
                                lambda u, s=span: range_quantile(s, u), index, key, span.dates))
    return inputs


def chance_input() -> Input:
    return Input(CHANCE, "chance", "one seed per run (the model's own randomness)", "", lambda u: np.asarray(u))


# --- the design and its runs -------------------------------------------------------------------

@dataclass(frozen=True)
class Design:
    """Saltelli's design: `unit` the points in [0, 1) per input, `values` the inputs' values there [run, input]."""

    inputs: tuple[Input, ...]
    samples: int
    unit: np.ndarray
    values: np.ndarray

    @property
    def base_rows(self) -> np.ndarray:
        """The rows of the two independent base samples (A and B), the others mixing them."""
        rows = np.arange(len(self.unit))
        return rows[np.isin(rows % (len(self.inputs) + 2), (0, len(self.inputs) + 1))]


def saltelli_design(inputs: Sequence[Input], samples: int, seed: int) -> Design:
    """N x (D + 2) points of Saltelli's design over the inputs' quantiles, reproducibly from `seed`."""
    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": len(inputs), "names": [i.name for i in inputs], "bounds": [[0.0, 1.0]] * len(inputs)}
    with warnings.catch_warnings():  # SALib warns when N is not a power of two; the design stays valid
        warnings.simplefilter("ignore")
        unit = sobol_sample.sample(problem, samples, calc_second_order=False, scramble=True, seed=int(seed))
    unit = np.clip(unit, 0.0, np.nextafter(1.0, 0.0))
    values = np.column_stack([inp.quantile(unit[:, k]) for k, inp in enumerate(inputs)])
    return Design(tuple(inputs), samples, unit, values)


@dataclass(frozen=True)
class DesignPoint:
    """One run of the design: its row, seed, parameters and the values of the events' ranged fields."""

    index: int
    seed: int
    params: Parameters
    event_values: dict[int, dict[str, Any]]


def fixed_event(event: Event, values: dict[str, Any]) -> Event:
    """The event with its ranged fields set to `values` (a date for "date")."""
    fields, date = dict(event.values), event.date
    for key, value in values.items():
        if key == "date":
            date = value
        else:
            fields[key] = value
    return type(event)(date, fields, event.note, {}, event.id)


@dataclass(frozen=True)
class StockRun:
    """What a process does with a design point: one run to `end`, the stocks at `points` (picklable)."""

    events: tuple[Event, ...]
    end: dt.date
    points: Points

    def __call__(self, point: DesignPoint) -> np.ndarray:
        events = [fixed_event(e, point.event_values[i]) if i in point.event_values else e.drawn(point.seed)
                  for i, e in enumerate(self.events)]
        return self.points.stocks(simulate(point.params, events, self.end, point.seed))


def chance_seed(seed: int, u: float) -> int:
    """The simulation seed of a run whose chance input is `u`: the same `u` and `seed`, the same seed."""
    return int(np.random.SeedSequence([int(seed), 0xC4A9CE, int(u * 2 ** 32)]).generate_state(1, np.uint64)[0])


def design_points(scenario: Scenario, design: Design, seed: int) -> list[DesignPoint]:
    """The design's runs: parameters checked (the scenario's `[parameters]` on top), seeds from `chance`."""
    points = []
    for row, (unit, values) in enumerate(zip(design.unit, design.values)):
        drawn: dict[str, float] = {}
        events: dict[int, dict[str, Any]] = {}
        run_seed = 0
        for inp, u, value in zip(design.inputs, unit, values):
            if inp.kind == "parameter":
                drawn[inp.name] = float(value)
            elif inp.kind == "event":
                events.setdefault(inp.event, {})[inp.key] = (
                    dt.date.fromordinal(int(value)) if inp.dates
                    else int(value) if scenario.events[inp.event].ranges[inp.key].whole else float(value))
            else:
                run_seed = chance_seed(seed, float(u))
        plan = replicate(scenario, row, run_seed, integer_safe(drawn), "explain: design point")
        points.append(DesignPoint(row, run_seed, plan.params, events))
    return points


# --- the indices -------------------------------------------------------------------------------

def sobol_table(design: Design, stocks: np.ndarray, points: Points, seed: int) -> pd.DataFrame:
    """One row per place, date and input: S1 and ST with 95% intervals, the rank by ST, the design's stock spread.

    A stock that does not vary over the design (no input moves it) gets indices of zero.
    """
    from SALib.analyze import sobol

    names = [inp.name for inp in design.inputs]
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    rows = []
    base = design.base_rows
    for j, (place, date) in enumerate(points.pairs):
        y = stocks[:, j]
        p05, median, p95 = np.quantile(y[base], (0.05, 0.5, 0.95))
        if np.ptp(y) == 0:
            zero = np.zeros(len(names))
            indices = {"S1": zero, "S1_conf": zero, "ST": zero, "ST_conf": zero}
        else:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                indices = sobol.analyze(problem, y, calc_second_order=False, num_resamples=RESAMPLES,
                                        conf_level=0.95, seed=int(seed) + 1)
        order = np.argsort(-np.nan_to_num(np.asarray(indices["ST"], dtype=float), nan=-1.0), kind="stable")
        rank = np.empty(len(names), dtype=int)
        rank[order] = np.arange(1, len(names) + 1)
        for k, name in enumerate(names):
            s1, s1c = float(indices["S1"][k]), float(indices["S1_conf"][k])
            st, stc = float(indices["ST"][k]), float(indices["ST_conf"][k])
            rows.append({"place": place, "date": date.isoformat(), "input": name,
                         "S1": s1, "S1_low": s1 - s1c, "S1_high": s1 + s1c, "ST": st, "ST_low": st - stc,
                         "ST_high": st + stc, "rank": int(rank[k]), "stock_p05": p05, "stock_median": median,
                         "stock_p95": p95})
    table = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
    return table.sort_values(["place", "date", "rank"], key=_place_order(points), kind="stable").reset_index(drop=True)


def _place_order(points: Points) -> Callable[[pd.Series], pd.Series]:
    """Sort places in the order asked for (then dates, ranks as they are)."""
    position = {place: i for i, place in enumerate(points.places)}
    return lambda column: column.map(position) if column.name == "place" else column


def inputs_table(design: Design, correlations: pd.DataFrame | None) -> pd.DataFrame:
    """One row per input: what it is, where it is drawn from, its 5%, 50% and 95% values, its strongest correlation."""
    rows = []
    for k, inp in enumerate(design.inputs):
        if inp.kind == "chance":
            shown = ["", "", ""]
        else:
            low, middle, high = inp.quantile(np.array([0.05, 0.5, 0.95]))
            shown = ([dt.date.fromordinal(int(v)).isoformat() for v in (low, middle, high)] if inp.dates
                     else [f"{v:.6g}" for v in (low, middle, high)])
        partner, rho = "", ""
        if correlations is not None and inp.name in correlations.index and len(correlations) > 1:
            others = correlations.loc[inp.name].drop(inp.name)
            best = others.abs().idxmax()
            partner, rho = best, f"{others[best]:+.3f}"
        rows.append({"input": inp.name, "kind": inp.kind, "drawn_from": inp.drawn_from, "unit": inp.unit,
                     "p05": shown[0], "median": shown[1], "p95": shown[2], "most_correlated_with": partner,
                     "rank_correlation": rho})
    return pd.DataFrame(rows, columns=list(INPUTS_COLUMNS))

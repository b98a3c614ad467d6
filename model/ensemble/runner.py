"""An ensemble: many replicates of one scenario, run here, in local processes or on a Dask cluster.

Replicate i's seed and parameters come from the plan (`plan.py`): the same for every
scenario run with the same seed. Each replicate returns only what its caller needs (a
`reduce` of the daily series per place: the projection's periods, or every report's
counterpart for the fit), never the model, so that 100 replicates fit in little memory;
results come back in replicate order, so the outputs are the same bytes whether one
process, several or a cluster ran them (`processes.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from tqdm import tqdm

from ..scenarios.history import HISTORY_START, load_history
from ..scenarios.scenario import Scenario
from ..world.events import Event
from ..world.parameters import Parameters
from ..world.records import PROJECTED
from ..world.sim import LaborModel
from .plan import Replicate, plan_replicates, with_event_values
from .processes import run_tasks

__all__ = ["Daily", "Outcome", "Replicate", "plan_replicates", "run_ensemble", "run_replicate", "simulate"]

Daily = dict[str, dict[str, np.ndarray]]
"""Daily series per quantity and place (city, province, China), in workers, from the first simulated day."""


@dataclass(frozen=True)
class Outcome:
    """What a replicate sends back: its index, its reduced series and how long it took (seconds)."""

    index: int
    value: Any
    seconds: float


def simulate(params: Parameters, events: Sequence[Event] | None, end: Any, seed: int, crossings: bool = False) -> Daily:
    """One run from the history's start to `end`: daily series per place in workers (agents x scale).

    `events` None means the shared history alone; with `crossings`, the series also hold one
    place per border crossing (the observation model compares some reports with those).
    """
    model = LaborModel(params, load_history() if events is None else list(events), HISTORY_START, end, seed).run()
    return {q: model.records.by_place(q, crossings) for q in PROJECTED}


def run_replicate(scenario: Scenario, plan: Replicate, reduce: Callable[[Daily], Any] | None = None,
                  crossings: bool = False) -> Outcome:
    """Simulate one planned replicate of `scenario` and reduce its daily series (None: keep them all).

    Every ranged event field is drawn here, from the event's own generator seeded by the
    replicate's seed (`Event.drawn`), so replicate i of two scenarios sharing an event draws
    the same value, in whatever process it runs. A field the plan sets (`plan.event_values`:
    a calibrated event field) takes the plan's value instead; the event's other fields are
    drawn as they would be without it.
    """
    began = time.perf_counter()
    events = [with_event_values(event.drawn(plan.seed), plan.event_values.get(event.id, {})) if event.id
              else event.drawn(plan.seed) for event in scenario.events]
    daily = simulate(plan.params, events, scenario.end, plan.seed, crossings)
    value = reduce(daily) if reduce is not None else daily
    return Outcome(plan.index, value, time.perf_counter() - began)


def run_ensemble(scenario: Scenario, plans: Sequence[Replicate], reduce: Callable[[Daily], Any] | None = None,
                 jobs: int = 1, scheduler: str | None = None, progress: bool = False, crossings: bool = False,
                 on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run every planned replicate; outcomes in replicate order.

    `reduce` (a picklable function of the daily series) runs where the replicate runs, so
    only its result travels back. `jobs` local processes (1: in this process), or the Dask
    scheduler at `scheduler` when given. `progress` shows a bar; `on_outcome` is called with
    each outcome as it arrives.
    """
    bar = tqdm(total=len(plans), desc=scenario.name, unit="replicate", disable=not progress, leave=False)

    def arrived(outcome: Outcome) -> None:
        bar.update()
        if on_outcome is not None:
            on_outcome(outcome)

    try:
        outcomes = run_tasks(partial(run_replicate, scenario, reduce=reduce, crossings=crossings), list(plans),
                             jobs=jobs, scheduler=scheduler, on_result=arrived)
    finally:
        bar.close()
    return outcomes

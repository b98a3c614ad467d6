"""An ensemble: many replicates of one scenario, run here, in local processes or on a Dask cluster.

Replicate i of an ensemble with seed S always gets the same simulation seed and the same
posterior draw, whatever the scenario and however many replicates there are: both come from
child i of `np.random.SeedSequence(S).spawn(n)`. Two scenarios run with the same seed are
therefore paired replicate by replicate (common random numbers), which is what a comparison
of scenarios needs.

Each replicate returns only what the projection needs (its `reduce` of the daily series per
place), never the model, so that 100 replicates fit in little memory; results come back in
replicate order, so the outputs are the same bytes whether one process, several or a cluster
ran them.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from .errors import InputError
from .events import Event
from .history import HISTORY_START
from .parameters import Parameters, with_overrides
from .posterior import Posterior
from .projection import QUANTITIES
from .scenario import Scenario
from .sim import LaborModel

Daily = dict[str, dict[str, np.ndarray]]
"""Daily series per quantity and place (city, province, China), in workers, from the first simulated day."""


@dataclass(frozen=True)
class Replicate:
    """One replicate's plan: its index, simulation seed, posterior draw (None without) and parameters."""

    index: int
    seed: int
    drawn: dict[str, Any] | None
    params: Parameters


@dataclass(frozen=True)
class Outcome:
    """What a replicate sends back: its index, its reduced series and how long it took (seconds)."""

    index: int
    value: Any
    seconds: float


def plan_replicates(scenario: Scenario, replicates: int, seed: int, posterior: Posterior | None = None) -> list[Replicate]:
    """Seeds, posterior draws and parameters of replicates 0 .. replicates-1.

    Parameters: the defaults, then the particle drawn for (seed, i) (`Posterior.draw`, the same
    draw `labor-stocks fit` makes), then the scenario's `[parameters]`.
    """
    plans = []
    for index, child in enumerate(np.random.SeedSequence(seed).spawn(replicates)):
        simulation_seed = int(child.generate_state(1, np.uint64)[0])
        drawn = posterior.draw(seed, index) if posterior is not None else None
        base = with_overrides(drawn, f"{posterior.path}: particle") if posterior is not None else None
        plans.append(Replicate(index, simulation_seed, drawn, scenario.parameters_for(base)))
    return plans


def simulate(params: Parameters, events: Sequence[Event], end: Any, seed: int) -> Daily:
    """One run from the history's start to `end`: daily series per place in workers (agents x scale)."""
    model = LaborModel(params, list(events), HISTORY_START, end, seed).run()
    scale = int(params.scale)
    return {q: {place: series * scale for place, series in model.records.by_place(q).items()} for q in QUANTITIES}


def _run_one(plan: Replicate, events: tuple[Event, ...], end: Any, reduce: Callable[[Daily], Any] | None) -> Outcome:
    began = time.perf_counter()
    daily = simulate(plan.params, events, end, plan.seed)
    value = reduce(daily) if reduce is not None else daily
    return Outcome(plan.index, value, time.perf_counter() - began)


def _quiet_worker() -> None:
    """Local worker processes leave Ctrl-C and SIGTERM to the main process, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_ensemble(scenario: Scenario, plans: Sequence[Replicate], reduce: Callable[[Daily], Any] | None = None,
                 jobs: int = 1, scheduler: str | None = None, progress: bool = False) -> list[Outcome]:
    """Run every planned replicate; outcomes in replicate order.

    `reduce` (a picklable function of the daily series) runs where the replicate runs, so
    only its result travels back. `jobs` local processes (1: in this process), or the Dask
    scheduler at `scheduler` when given.
    """
    bar = tqdm(total=len(plans), desc=scenario.name, unit="replicate", disable=not progress, leave=False)
    try:
        if scheduler:
            outcomes = _on_dask(scenario, plans, reduce, scheduler, bar)
        elif jobs <= 1 or len(plans) <= 1:
            outcomes = []
            for plan in plans:
                outcomes.append(_run_one(plan, scenario.events, scenario.end, reduce))
                bar.update()
        else:
            outcomes = _in_processes(scenario, plans, reduce, min(jobs, len(plans)), bar)
    finally:
        bar.close()
    return sorted(outcomes, key=lambda outcome: outcome.index)


def _in_processes(scenario: Scenario, plans: Sequence[Replicate], reduce: Callable[[Daily], Any] | None,
                  jobs: int, bar: tqdm) -> list[Outcome]:
    executor = ProcessPoolExecutor(max_workers=jobs, initializer=_quiet_worker)
    pending = set()
    try:
        pending = {executor.submit(_run_one, plan, scenario.events, scenario.end, reduce) for plan in plans}
        outcomes = []
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                outcomes.append(future.result())
                bar.update()
        return outcomes
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def _on_dask(scenario: Scenario, plans: Sequence[Replicate], reduce: Callable[[Daily], Any] | None,
             address: str, bar: tqdm) -> list[Outcome]:
    from distributed import Client, as_completed

    try:
        client = Client(address, timeout=os.environ.get("LABOR_STOCKS_DASK_TIMEOUT", "10s"), set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError(f"--scheduler: cannot reach a Dask scheduler at {address!r} ({error})") from None
    futures = []
    try:
        futures = [client.submit(_run_one, plan, scenario.events, scenario.end, reduce, pure=False) for plan in plans]
        outcomes = []
        for future in as_completed(futures, loop=client.loop):
            outcomes.append(future.result())
            bar.update()
        return outcomes
    finally:
        if futures:
            client.cancel(futures)
        client.close()

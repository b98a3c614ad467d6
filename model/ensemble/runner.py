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

import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from ..world.events import Event
from ..scenarios.history import HISTORY_START, load_history
from ..world.records import PROJECTED
from ..world.parameters import Parameters, with_overrides
from ..ensemble.posterior import Posterior
from ..scenarios.scenario import Scenario
from ..world.sim import LaborModel

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


def simulate(params: Parameters, events: Sequence[Event] | None, end: Any, seed: int, crossings: bool = False) -> Daily:
    """One run from the history's start to `end`: daily series per place in workers (agents x scale).

    `events` None means the shared history alone; with `crossings`, the series also hold one
    place per border crossing (the observation model compares some reports with those).
    """
    model = LaborModel(params, load_history() if events is None else list(events), HISTORY_START, end, seed).run()
    return {q: model.records.by_place(q, crossings) for q in PROJECTED}


def _run_one(plan: Replicate, events: tuple[Event, ...], end: Any, reduce: Callable[[Daily], Any] | None) -> Outcome:
    began = time.perf_counter()
    daily = simulate(plan.params, events, end, plan.seed)
    value = reduce(daily) if reduce is not None else daily
    return Outcome(plan.index, value, time.perf_counter() - began)


def quiet_worker() -> None:
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


@contextmanager
def born_ignoring_ctrl_c() -> Iterator[None]:
    """Processes started inside this block ignore SIGINT from birth.

    Ctrl-C in a terminal reaches every process of the group; a worker still importing numpy
    and mesa (before `quiet_worker` runs) would print a traceback. An ignored SIGINT is
    inherited and kept by a new Python, so the main process alone handles the Ctrl-C.
    """
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _in_processes(scenario: Scenario, plans: Sequence[Replicate], reduce: Callable[[Daily], Any] | None,
                  jobs: int, bar: tqdm) -> list[Outcome]:
    executor = ProcessPoolExecutor(max_workers=jobs, initializer=quiet_worker)
    pending = set()
    try:
        with born_ignoring_ctrl_c():  # the executor starts its processes during the first submits
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
    """Replicates as tasks on the Dask cluster at `address`.

    A worker that dies mid-run loses only the replicates it had not finished: the scheduler
    runs them again on the workers left (up to `distributed.scheduler.allowed-failures` times
    per task), and a replicate's seed is in its plan, so the rerun gives the same result.
    Each result is released as soon as it is fetched, so the loss of a worker that held it
    costs nothing; unfinished tasks are cancelled if the run stops (an error, Ctrl-C).
    """
    from distributed import as_completed

    from ..ensemble.cluster import connect

    client = connect(address)
    unfinished = set()
    try:
        futures = [client.submit(_run_one, plan, scenario.events, scenario.end, reduce, pure=False) for plan in plans]
        unfinished = set(futures)
        outcomes = []
        for future in as_completed(futures, loop=client.loop):
            outcomes.append(future.result())
            unfinished.discard(future)
            future.release()
            bar.update()
        return outcomes
    finally:
        if unfinished:
            client.cancel(list(unfinished))
        client.close()

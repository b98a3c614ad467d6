"""Work in local processes or on a Dask cluster, with one way of leaving Ctrl-C to the main process.

`run_tasks` runs a picklable function over tasks here (one process), in local processes or
on the Dask scheduler at an address, and returns the results in the tasks' order. Ensembles
(`runner.py`), and through them the fit, use it; pyabc's samplers start their own processes
and call `quiet_worker` from the simulation they run.

Interruptions: Ctrl-C in a terminal reaches every process of the group, and a `kill` reaches
the main process only. Either way the main process alone handles it (the command line turns
both into an exception that removes temporary files on the way out) and stops the workers;
a worker never prints a traceback of its own.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

_QUIET: set[int] = set()
"""Processes (by id) where `quiet_worker` already ran."""


def quiet_worker() -> None:
    """In a worker process: ignore Ctrl-C (SIGINT) and let SIGTERM end it without a word.

    Forked workers inherit the main process's handlers, which would make each print a
    traceback when the main process stops them. Cheap after the first call in a process, so a
    sampler's simulation may call it every time; in a thread (a Dask worker's) it does nothing.
    """
    if os.getpid() in _QUIET:
        return
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # not the main thread: signals are not ours to handle
        return
    _QUIET.add(os.getpid())


@contextmanager
def born_ignoring_ctrl_c() -> Iterator[None]:
    """Processes started inside this block ignore SIGINT from birth.

    A worker still importing numpy and mesa (before `quiet_worker` runs) would print a
    traceback on Ctrl-C. An ignored SIGINT is inherited and kept by a new Python, so the main
    process alone handles the Ctrl-C.
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


def run_tasks(function: Callable[[Any], Any], tasks: Sequence[Any], jobs: int = 1, scheduler: str | None = None,
              on_result: Callable[[Any], None] | None = None) -> list[Any]:
    """`function(task)` for every task, results in the tasks' order.

    Here when `jobs` is 1 (or there is one task), in `jobs` local processes otherwise, or on the
    Dask scheduler at `scheduler` when given. `on_result` is called in this process with each
    result as it arrives (for a progress bar).
    """
    if scheduler:
        from .cluster import on_cluster

        return on_cluster(function, tasks, scheduler, on_result)
    if jobs <= 1 or len(tasks) <= 1:
        results = []
        for task in tasks:
            results.append(function(task))
            if on_result is not None:
                on_result(results[-1])
        return results
    return _in_processes(function, tasks, min(jobs, len(tasks)), on_result)


def _in_processes(function: Callable[[Any], Any], tasks: Sequence[Any], jobs: int,
                  on_result: Callable[[Any], None] | None) -> list[Any]:
    executor = ProcessPoolExecutor(max_workers=jobs, initializer=quiet_worker)
    pending: set = set()
    try:
        with born_ignoring_ctrl_c():  # the executor starts its processes during the first submits
            position = {executor.submit(function, task): i for i, task in enumerate(tasks)}
        pending = set(position)
        results: list[Any] = [None] * len(tasks)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                results[position[future]] = future.result()
                if on_result is not None:
                    on_result(results[position[future]])
        return results
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


# --- the main process: SIGTERM and Ctrl-C during a long job -------------------------------------

class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main process like Ctrl-C so that the same clean-up runs (exit 143)."""


_RECEIVED: list[int] = []
"""SIGINT and SIGTERM received while a long job runs (see `raise_if_interrupted`)."""


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While a long job runs, SIGTERM raises `Terminated` and SIGINT `KeyboardInterrupt`: temporary
    folders are removed on the way out. Both are also recorded, for `raise_if_interrupted`."""
    def _raise(signum: int, _frame: object) -> None:
        _RECEIVED.append(signum)
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    def _unraisable(unraisable: Any) -> None:  # an interruption lost in a finaliser: no traceback
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            hook(unraisable)

    _RECEIVED.clear()
    try:
        previous = {sig: signal.signal(sig, _raise) for sig in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread (e.g. called from a notebook's worker thread)
        yield
        return
    hook, sys.unraisablehook = sys.unraisablehook, _unraisable
    try:
        yield
    finally:
        sys.unraisablehook = hook
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def raise_if_interrupted() -> None:
    """Raise the interruption again if a signal came but its exception was lost.

    Python drops an exception raised while a finaliser runs (it prints "Exception ignored
    in ..." and goes on); pyabc leaves SQLAlchemy connections to the garbage collector, so
    during a calibration Ctrl-C or SIGTERM can land in one. Checked after each generation.
    """
    if _RECEIVED:
        raise Terminated() if signal.SIGTERM in _RECEIVED else KeyboardInterrupt()

"""A Dask distributed cluster: connecting to its scheduler (`--scheduler ADDRESS`) and running tasks on it.

One place turns a malformed or unreachable address into one line naming it, exit code 2.
The address is checked before a `Client` exists: a Client that failed on a malformed
address prints a traceback from its finaliser when Python exits, which a user must not see.

How long to wait for the scheduler: `LABOR_STOCKS_DASK_TIMEOUT` (a Dask duration such as
"30s"), default 10 seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InputError

DEFAULT_TIMEOUT = "10s"


def check_address(address: str) -> None:
    """Refuse a malformed scheduler address (no port, unknown scheme) with one line, before any work."""
    from distributed.comm import get_address_host_port

    try:
        get_address_host_port(address)
    except ValueError as error:
        raise InputError(f"--scheduler: cannot reach a Dask scheduler at {address!r} ({error}; "
                         "write e.g. tcp://10.0.0.5:8786)") from None


def connect(address: str) -> Any:
    """A `distributed.Client` connected to the scheduler at `address`, e.g. tcp://10.0.0.5:8786.

    Raises InputError ("--scheduler: cannot reach a Dask scheduler at ...") for an address
    that is malformed (no port, unknown scheme) or where no scheduler answers in time.
    """
    from distributed import Client

    check_address(address)
    try:
        return Client(address, timeout=os.environ.get("LABOR_STOCKS_DASK_TIMEOUT", DEFAULT_TIMEOUT),
                      set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError(f"--scheduler: cannot reach a Dask scheduler at {address!r} ({error})") from None


def on_cluster(function: Callable[[Any], Any], tasks: Sequence[Any], address: str,
               on_result: Callable[[Any], None] | None = None) -> list[Any]:
    """`function(task)` for every task as tasks on the Dask cluster at `address`; results in the tasks' order.

    A worker that dies mid-run loses only the tasks it had not finished: the scheduler runs
    them again on the workers left (up to `distributed.scheduler.allowed-failures` times per
    task), and a replicate's seed is in its task, so the rerun gives the same result. Each
    result is released as soon as it is fetched, so the loss of a worker that held it costs
    nothing; unfinished tasks are cancelled if the run stops (an error, Ctrl-C).
    """
    from distributed import as_completed

    client = connect(address)
    unfinished: set = set()
    try:
        futures = [client.submit(function, task, pure=False) for task in tasks]
        position = {future.key: i for i, future in enumerate(futures)}
        unfinished = set(futures)
        results: list[Any] = [None] * len(tasks)
        for future in as_completed(futures, loop=client.loop):
            results[position[future.key]] = future.result()
            unfinished.discard(future)
            future.release()
            if on_result is not None:
                on_result(results[position[future.key]])
        return results
    finally:
        if unfinished:
            client.cancel(list(unfinished))
        client.close()

"""Connecting to a Dask distributed scheduler (`--scheduler ADDRESS` of `run` and `calibrate`).

One place turns a malformed or unreachable address into one line naming it, exit code 2.
The address is checked before a `Client` exists: a Client that failed on a malformed
address prints a traceback from its finaliser when Python exits, which a user must not see.

How long to wait for the scheduler: `LABOR_STOCKS_DASK_TIMEOUT` (a Dask duration such as
"30s"), default 10 seconds.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import InputError

DEFAULT_TIMEOUT = "10s"


def connect(address: str) -> Any:
    """A `distributed.Client` connected to the scheduler at `address`, e.g. tcp://10.0.0.5:8786.

    Raises InputError ("--scheduler: cannot reach a Dask scheduler at ...") for an address
    that is malformed (no port, unknown scheme) or where no scheduler answers in time.
    """
    from distributed import Client
    from distributed.comm import get_address_host_port

    try:
        get_address_host_port(address)
    except ValueError as error:
        raise InputError(f"--scheduler: cannot reach a Dask scheduler at {address!r} ({error}; "
                         "write e.g. tcp://10.0.0.5:8786)") from None
    try:
        return Client(address, timeout=os.environ.get("LABOR_STOCKS_DASK_TIMEOUT", DEFAULT_TIMEOUT),
                      set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError(f"--scheduler: cannot reach a Dask scheduler at {address!r} ({error})") from None

"""labor-stocks: an agent-based simulation of North Korean workers in China, province by province.

The package is a pipeline; each stage is a sub-package that imports only from the stages
above it in this list (tests/test_layout.py checks it):

    errors        the one exception a user's mistake becomes (used by every stage)
    files         every file written atomically, and what a command may replace (every stage)
    world/        one replicate, day by day: workers, factories, agencies, border; no file I/O
    scenarios/    scenario files resolved on top of the shared history (depends on world)
    ensemble/     replicate plans, posterior draws, runs here, in processes or on Dask
    calibration/  the reports ledger, the observation model, ABC-SMC and the fit
    outputs/      the projection table, run folders, figures and comparisons
    cli           the command line on top: it parses, calls the library, prints
"""

from .errors import InputError
from .world.events import Event, parse_event, parse_events
from .world.parameters import Parameters, with_overrides
from .world.sim import LaborModel
from .scenarios.history import load_history

__all__ = ["InputError", "Event", "LaborModel", "Parameters", "load_history", "parse_event", "parse_events",
           "with_overrides"]
__version__ = "0.1.0"

"""labor-stocks: an agent-based simulation of North Korean workers in China, province by province."""

from .errors import InputError
from .events import Event, parse_event, parse_events
from .history import load_history
from .parameters import Parameters, with_overrides
from .sim import LaborModel

__all__ = ["InputError", "Event", "LaborModel", "Parameters", "load_history", "parse_event", "parse_events",
           "with_overrides"]
__version__ = "0.1.0"

"""Shared helpers: small, fast models for mechanism tests."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    # CI replays the same examples every time, so a red run is about the change, not the draw;
    # local runs keep exploring new examples (and hypothesis keeps any failure it finds).
    settings.load_profile("ci")

from labor_stocks import LaborModel, Parameters, parse_event, with_overrides

START = dt.date(2017, 1, 1)


def event(**table):
    """An event from keyword arguments, as a scenario file would give it."""
    return parse_event(table, "test")


def small_model(events=(), end=dt.date(2018, 12, 31), seed=1, **overrides) -> LaborModel:
    """A model of a few thousand workers with only the given events (no shared history)."""
    base = {"initial_stock": 4000}
    base.update(overrides)
    return LaborModel(with_overrides(base), list(events), START, end, seed)


@pytest.fixture
def params() -> Parameters:
    return Parameters()


def stored_generations(database):
    """The generations a calibration has stored in its pyabc database (t >= 0), as a table."""
    import pyabc

    populations = pyabc.History(f"sqlite:///{database}").get_all_populations()
    return populations[populations.t >= 0].reset_index(drop=True)

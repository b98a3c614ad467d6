"""The parameters and seed of replicate i: one recipe for ensembles, the fit and calibration.

Replicate i of a run with seed S gets
- its simulation seed from child i of `np.random.SeedSequence(S).spawn(n)`;
- its posterior draw from `Posterior.draw(S, i)` (when a posterior is given);
- its parameters as the defaults, then that draw, then the scenario's `[parameters]` (the
  analyst's explicit assumptions win over anything calibrated);
- its event values: a draw's `event.ID.FIELD` columns (an event field the calibration
  learned) replace that field of the event with that `id`, instead of a draw from the field's
  range; every other ranged field is drawn as usual (`runner.run_replicate`). A draw's
  `outlet.*` columns describe the reports, not the world: the model never sees them.

Both depend on S and i alone, never on the scenario or on how many replicates there are, so
two scenarios run with the same seed are paired replicate by replicate (common random
numbers), and the fit's draw i is an ensemble's replicate i. During calibration pyabc
chooses the particle and seeds the generator of each of its processes: `replicate` turns
that particle and a seed from that generator into parameters the same way.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..scenarios.scenario import Scenario
from ..world.events import Event, parse_event
from ..world.parameters import Parameters, with_overrides
from .posterior import EVENT, Posterior, column_kind, event_day, model_parameters


@dataclass(frozen=True)
class Replicate:
    """One replicate's plan: its index, simulation seed, posterior draw (None without), parameters and event values."""

    index: int
    seed: int
    drawn: dict[str, Any] | None
    params: Parameters
    event_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    """By event id, the fields the draw sets ({"dandong-trains": {"date": date(2023, 4, 2)}}), checked."""


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Simulation seeds of replicates 0 .. replicates-1 of a run with `seed` (64-bit integers)."""
    return [int(child.generate_state(1, np.uint64)[0]) for child in np.random.SeedSequence(seed).spawn(replicates)]


def replicate(scenario: Scenario, index: int, seed: int, drawn: dict[str, Any] | None, source: str) -> Replicate:
    """Replicate `index` with simulation `seed`: the defaults, the particle `drawn` (from `source`), the scenario's."""
    base = with_overrides(model_parameters(drawn), source) if drawn is not None else None
    values = event_values(scenario.events, drawn, source) if drawn is not None else {}
    return Replicate(index, seed, drawn, scenario.parameters_for(base), values)


def event_values(events: tuple[Event, ...] | list[Event], drawn: dict[str, Any],
                 source: str) -> dict[str, dict[str, Any]]:
    """The particle's `event.ID.FIELD` values, by event id and field, each checked against its event.

    A value is one the event could have been given in a file: a date, a whole number for a
    count, inside the field's domain; an id that names no event of the scenario, or a field its
    event does not have, is one InputError naming `source` and the column.
    """
    by_id: dict[str, Event] = {}
    for event in events:
        if event.id:
            by_id.setdefault(event.id, event)
    values: dict[str, dict[str, Any]] = {}
    for name, value in drawn.items():
        kind = column_kind(name)
        if kind is None or kind[0] != EVENT:
            continue
        _, event_id, key = kind
        where = f"{source}: {name}" if source else name
        event = by_id.get(event_id)
        if event is None:
            known = ", ".join(sorted(by_id)) or "none"
            raise InputError(f"{where}: no event has the id {event_id!r} (ids: {known})")
        values.setdefault(event_id, {})[key] = field_value(event, key, value, where)
    return values


def field_value(event: Event, key: str, value: Any, where: str) -> Any:
    """`value` as `event`'s field `key` (a date, a whole number, a number), checked as a file's would be."""
    if key == "date":
        value = event_day(value, where)
    else:
        spec = type(event).FIELDS.get(key)
        kinds = () if spec is None else spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
        if int not in kinds and float not in kinds:
            raise InputError(f"{where}: a {event.type} event has no numeric field {key!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not math.isfinite(value):
            raise InputError(f"{where}: must be a number, got {value!r}")
        value = int(round(value)) if float not in kinds else float(value)
    table = {k: v for k, v in event.as_dict().items() if k != key}
    checked = parse_event({**table, key: value}, where)
    return checked.date if key == "date" else checked.values[key]


def with_event_values(event: Event, values: dict[str, Any]) -> Event:
    """`event` (its ranges already drawn) with the fields in `values` set: the draw's, not the range's."""
    if not values:
        return event
    date = values.get("date", event.date)
    fields = {**event.values, **{k: v for k, v in values.items() if k != "date"}}
    ranges = {k: r for k, r in event.ranges.items() if k not in values}
    return type(event)(date if isinstance(date, dt.date) else event_day(date, event.id), fields, event.note,
                       ranges, event.id)


def plan_replicates(scenario: Scenario, replicates: int, seed: int,
                    posterior: Posterior | None = None) -> list[Replicate]:
    """Seeds, posterior draws and parameters of replicates 0 .. replicates-1 of `scenario` run with `seed`."""
    source = f"{posterior.path}: particle" if posterior is not None else ""
    return [replicate(scenario, index, simulation_seed, posterior.draw(seed, index) if posterior is not None else None,
                      source)
            for index, simulation_seed in enumerate(replicate_seeds(seed, replicates))]

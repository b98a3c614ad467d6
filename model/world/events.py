"""Dated events: what happens to the border, the two states' policies and the workforce.

The shared history (`model/scenarios/history.toml`) and every scenario are lists of these. An event
says what happened or is assumed to happen (a closure, an order, a dispatch); the flows
that follow from it (how many go home per day, how many arrive) come out of the model's
mechanisms, never from the event itself.

Each event type is declared once, in `EVENT_FIELDS`, with the type, default and allowed
values of its keys; `parse_event` checks a table from a TOML file against it and names the
file, the event and the key in any error.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..world.geography import CHINA, CROSSING_INDEX, PROVINCE_INDEX, SECTORS, city_name
from ..world.parameters import MAX_WORKERS

BORDER_STATUSES = ("closed", "freight", "open")
"""closed: nobody crosses; freight: goods only, no workers; open: workers up to the capacity."""

RELATIONS = ("warm", "normal", "chilly")

PRIORITY_CLASSES = (
    "sick",
    "mentally_ill",
    "troublemaker",
    "confined",
    "no_workplace",
    "small_factory",
    "ordinary",
)
"""Who a repatriation order takes first (000, 003, 004): the sick and injured, the mentally ill,
those who caused trouble, confined defectors, workers whose factory closed, then ordinary workers
from small factories (200 or fewer) before those of large ones."""

ISSUERS = ("north_korea", "china")

@dataclass(frozen=True)
class Spec:
    """How one key of an event is read: its type, whether it is required, its default and allowed values."""

    kind: type | tuple[type, ...]
    required: bool = False
    default: Any = None
    allowed: tuple[str, ...] | None = None


EVENT_FIELDS: dict[str, dict[str, Spec]] = {
    "border": {
        "crossing": Spec(str, True),
        "status": Spec(str, True, allowed=BORDER_STATUSES),
        "capacity": Spec((int, float, str)),
    },
    "capacity": {
        "crossing": Spec(str, True),
        "persons": Spec((int, float)),
        "vehicles": Spec((int, float)),
    },
    "enforcement": {
        "province": Spec(str, True),
        "level": Spec((int, float), True),
    },
    "relations": {
        "level": Spec(str, True, allowed=RELATIONS),
    },
    "repatriation_order": {
        "places": Spec(list, True),
        "share": Spec((int, float)),
        "count": Spec(int),
        "priorities": Spec(list, default=list(PRIORITY_CLASSES)),
        "replace": Spec(bool, default=False),
        "issuer": Spec(str, default="north_korea", allowed=ISSUERS),
    },
    "dispatch": {
        "destination": Spec(str, True),
        "sector": Spec(str, allowed=SECTORS),
        "size": Spec(int),
        "days": Spec(int, default=1),
        "experienced_only": Spec(bool, default=False),
    },
    "defection_shock": {
        "place": Spec(str, True),
        "size": Spec(int),
        "sector": Spec(str, allowed=SECTORS),
    },
    "lists": {},
    "rotation": {
        "active": Spec(bool, True),
    },
}
"""Every event type and its keys. Besides these, every event has `type`, `date` and an optional `note`."""


@dataclass(frozen=True)
class Event:
    """One dated event. `values` holds the type's keys after defaults; `note` says where it comes from."""

    type: str
    date: dt.date
    values: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def as_dict(self) -> dict[str, Any]:
        """The event as a plain table, in the form a scenario file uses."""
        out: dict[str, Any] = {"type": self.type, "date": self.date.isoformat()}
        out.update({k: v for k, v in self.values.items() if v is not None})
        if self.note:
            out["note"] = self.note
        return out


def parse_date(value: Any, where: str) -> dt.date:
    """A date from TOML (a date) or a string 'YYYY-MM-DD'; InputError naming `where` otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"{where}: not a date (YYYY-MM-DD): {value!r}")


def _is_province_or_all(name: str) -> bool:
    return name in PROVINCE_INDEX or name == "all"


def _is_place(name: str) -> bool:
    return name == CHINA or name in PROVINCE_INDEX or city_name(name) is not None


def parse_event(table: Any, where: str) -> Event:
    """Check one `[[events]]` table and turn it into an Event.

    `where` names the file and the event (e.g. "scenarios/x.toml: events[3]"); every error
    message starts with it and names the key at fault.
    """
    if not isinstance(table, dict):
        raise InputError(f"{where}: an event must be a table, got {table!r}")
    kind = table.get("type")
    if not isinstance(kind, str) or kind not in EVENT_FIELDS:
        raise InputError(f"{where}: key type: unknown event type {kind!r} (known: {', '.join(EVENT_FIELDS)})")
    if "date" not in table:
        raise InputError(f"{where}: key date: missing")
    date = parse_date(table["date"], f"{where}: key date")
    note = table.get("note", "")
    if not isinstance(note, str):
        raise InputError(f"{where}: key note: must be text, got {note!r}")
    specs = EVENT_FIELDS[kind]
    values: dict[str, Any] = {}
    for key in table:
        if key not in specs and key not in ("type", "date", "note"):
            raise InputError(f"{where}: unknown key {key!r} for a {kind} event (known: {', '.join(specs) or 'none'})")
    for key, spec in specs.items():
        if key not in table:
            if spec.required:
                raise InputError(f"{where}: key {key}: missing (required for a {kind} event)")
            values[key] = list(spec.default) if isinstance(spec.default, list) else spec.default
            continue
        value = table[key]
        kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join("number" if k in (int, float) else k.__name__ for k in kinds)
            raise InputError(f"{where}: key {key}: must be {names}, got {value!r}")
        if spec.allowed is not None and value not in spec.allowed:
            raise InputError(f"{where}: key {key}: {value!r} is not one of {', '.join(spec.allowed)}")
        values[key] = value
    _check_values(kind, values, where)
    return Event(kind, date, values, note)


def _check_values(kind: str, values: dict[str, Any], where: str) -> None:
    """Checks that go beyond a key's type: places that exist, numbers in range, exclusive keys."""
    if kind in ("border", "capacity"):
        crossing = values["crossing"]
        if crossing != "all" and crossing not in CROSSING_INDEX:
            raise InputError(f"{where}: key crossing: unknown crossing {crossing!r} "
                             f"(known: {', '.join(CROSSING_INDEX)}, all)")
    if isinstance(values.get("capacity"), str) and values["capacity"] != "limited":
        raise InputError(f"{where}: key capacity: a number of persons per day or \"limited\", got {values['capacity']!r}")
    for key in ("capacity", "persons", "vehicles", "size", "count", "level", "share"):
        if isinstance(values.get(key), float) and not math.isfinite(values[key]):
            raise InputError(f"{where}: key {key}: must be a finite number, got {values[key]}")
    for key in ("capacity", "persons", "vehicles", "size", "count"):
        if isinstance(values.get(key), (int, float)) and values[key] < 0:
            raise InputError(f"{where}: key {key}: must not be negative, got {values[key]}")
    if kind == "dispatch" and values["size"] is not None and values["size"] > MAX_WORKERS:
        raise InputError(f"{where}: key size: must be at most {MAX_WORKERS:,} workers, got {values['size']:,}")
    if kind == "capacity" and (values["persons"] is None) == (values["vehicles"] is None):
        raise InputError(f"{where}: key persons/vehicles: give exactly one of them")
    if kind == "enforcement":
        if not _is_province_or_all(values["province"]):
            raise InputError(f"{where}: key province: unknown province {values['province']!r} "
                             f"(known: {', '.join(PROVINCE_INDEX)}, all)")
        if not 0 <= values["level"] <= 1:
            raise InputError(f"{where}: key level: must be between 0 and 1, got {values['level']}")
    if kind == "repatriation_order":
        if not values["places"]:
            raise InputError(f"{where}: key places: must name at least one place")
        for place in values["places"]:
            if not isinstance(place, str) or not _is_place(place):
                raise InputError(f"{where}: key places: unknown place {place!r}")
        if (values["share"] is None) == (values["count"] is None):
            raise InputError(f"{where}: key share/count: give exactly one of them")
        if values["share"] is not None and not 0 <= values["share"] <= 1:
            raise InputError(f"{where}: key share: must be between 0 and 1, got {values['share']}")
        for cls in values["priorities"]:
            if cls not in PRIORITY_CLASSES:
                raise InputError(f"{where}: key priorities: unknown class {cls!r} "
                                 f"(known: {', '.join(PRIORITY_CLASSES)})")
    if kind == "dispatch":
        if not _is_place(values["destination"]):
            raise InputError(f"{where}: key destination: unknown place {values['destination']!r} "
                             "(a city, a province or China)")
        if values["days"] < 1:
            raise InputError(f"{where}: key days: must be at least 1, got {values['days']}")
    if kind == "defection_shock":
        if city_name(values["place"]) is None:
            raise InputError(f"{where}: key place: unknown city {values['place']!r}")
        if values["size"] is not None and values["size"] < 1:
            raise InputError(f"{where}: key size: must be at least 1, got {values['size']}")


def parse_events(tables: Any, where: str) -> list[Event]:
    """Parse a list of event tables, in date order (stable for events on the same day)."""
    if not isinstance(tables, list):
        raise InputError(f"{where}: key events: must be a list of tables ([[events]])")
    events = [parse_event(t, f"{where}: events[{i + 1}]") for i, t in enumerate(tables)]
    return sorted(events, key=lambda e: e.date)

"""Dated events: what happens to the border, the two states' policies and the workforce.

The shared history (`model/scenarios/history.toml`) and every scenario are lists of these. An
event changes the world's conditions (a crossing opens, a province enforces, Pyongyang orders
returns); the flows that follow (how many go home per day, how many arrive) come out of the
agents' rules, never from the event itself.

Each event type is one class (Covasim's interventions): its keys with their types, defaults
and allowed values (`FIELDS`), the checks beyond a key's type (`check`), what it does to the
world on its day (`apply`) and its caption in figures (`caption`). `EVENT_TYPES` maps the
`type` of a TOML table to its class; `parse_event` checks a table against it and names the
file, the event and the key in any error. A new event type is one new class here.

Any date or number of an event may be a range (`ranges.py`); `Event.drawn` gives the event a
replicate sees, with each ranged field drawn from that replicate's own generator.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from ..errors import InputError
from .agencies import ChineseAgency, NorthKoreanAgency
from .border import Border
from .geography import CHINA, CROSSING_INDEX, PROVINCE_INDEX, PROVINCES, SECTORS, city_name
from .parameters import MAX_WORKERS
from .ranges import Range, generator, identity, parse_date_range, parse_number_range
from .repatriation import PRIORITY_CLASSES

BORDER_STATUSES = ("closed", "freight", "open")
"""closed: nobody crosses; freight: goods only, no workers; open: workers up to the capacity."""

RELATIONS = ("warm", "normal", "chilly")

ISSUERS = ("north_korea", "china")


class World(Protocol):
    """What an event acts on: the border, the two states' agencies, and collective defections."""

    border: Border
    chinese: list[ChineseAgency]
    north_korea: NorthKoreanAgency

    def defection_shock(self, day: int, place: str, size: int | None, sector: str | None) -> int: ...


@dataclass(frozen=True)
class Spec:
    """How one key of an event is read: its type, whether it is required, its default and allowed values."""

    kind: type | tuple[type, ...]
    required: bool = False
    default: Any = None
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Event(ABC):
    """One dated event. `values` holds the type's keys after defaults; `note` says where it comes from."""

    date: dt.date
    values: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    ranges: dict[str, Range] = field(default_factory=dict)
    """Fields given as ranges ("date" among them): `values` (and `date`) hold their lower bounds."""
    id: str = ""
    """A name for the event, so that priors (and readers) can refer to it."""

    type: ClassVar[str] = ""
    FIELDS: ClassVar[dict[str, Spec]] = {}

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def as_dict(self) -> dict[str, Any]:
        """The event as a plain table, in the form a scenario file uses (ranges as tables)."""
        out: dict[str, Any] = {"type": self.type, "date": self.date.isoformat()}
        if self.id:
            out["id"] = self.id
        out.update({k: v for k, v in self.values.items() if v is not None})
        out.update({k: r.as_dict() for k, r in self.ranges.items()})
        if self.note:
            out["note"] = self.note
        return out

    def drawn(self, seed: int) -> Event:
        """The event as the replicate with simulation seed `seed` sees it: every range drawn."""
        if not self.ranges:
            return self
        rng = generator(seed, identity(self.as_dict()))
        values, date = dict(self.values), self.date
        for key in sorted(self.ranges):
            value = self.ranges[key].draw(rng)
            if key == "date":
                date = value
            else:
                values[key] = value
        return type(self)(date, values, self.note, {}, self.id)

    def drawn_values(self, seed: int) -> dict[str, Any]:
        """The values drawn for this event's ranged fields in that replicate (dates as text)."""
        event = self.drawn(seed)
        return {key: event.date.isoformat() if key == "date" else event.values[key] for key in sorted(self.ranges)}

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        """Checks beyond a key's type (places that exist, numbers in range); InputError naming the key."""

    @abstractmethod
    def apply(self, world: World, day: int) -> None:
        """Change the world's conditions on the event's day."""

    def caption(self) -> str:
        """A short caption for figures, e.g. 'enforcement 0.9 Liaoning'."""
        return self.type


# --- the border ------------------------------------------------------------------------------

def _check_crossing(values: dict[str, Any], where: str) -> None:
    crossing = values["crossing"]
    if crossing != "all" and crossing not in CROSSING_INDEX:
        raise InputError(f"{where}: key crossing: unknown crossing {crossing!r} "
                         f"(known: {', '.join(CROSSING_INDEX)}, all)")


class BorderStatus(Event):
    """A crossing (or all) closes, opens to freight only, or opens to people (000, 001, 003)."""

    type = "border"
    FIELDS = {
        "crossing": Spec(str, True),
        "status": Spec(str, True, allowed=BORDER_STATUSES),
        "capacity": Spec((int, float, str)),
    }

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        _check_crossing(values, where)
        if isinstance(values["capacity"], str) and values["capacity"] != "limited":
            raise InputError(f"{where}: key capacity: a number of persons per day or \"limited\", "
                             f"got {values['capacity']!r}")

    def apply(self, world: World, day: int) -> None:
        world.border.set_status(self["crossing"], self["status"], self["capacity"])

    def caption(self) -> str:
        return f"{self['crossing']} {self['status']}"


class Capacity(Event):
    """A crossing's daily capacity: persons, or chartered vehicles (000: seven minibuses a day)."""

    type = "capacity"
    FIELDS = {
        "crossing": Spec(str, True),
        "persons": Spec((int, float)),
        "vehicles": Spec((int, float)),
    }

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        _check_crossing(values, where)
        if (values["persons"] is None) == (values["vehicles"] is None):
            raise InputError(f"{where}: key persons/vehicles: give exactly one of them")

    def apply(self, world: World, day: int) -> None:
        world.border.set_capacity(self["crossing"], self["persons"], self["vehicles"])

    def caption(self) -> str:
        amount = self.values.get("persons") or self.values.get("vehicles")
        unit = "persons" if self.values.get("persons") else "vehicles"
        return f"capacity {amount:g} {unit}/day"


# --- the two states' policies ------------------------------------------------------------------

def _check_province(values: dict[str, Any], where: str) -> None:
    if values["province"] not in PROVINCE_INDEX and values["province"] != "all":
        raise InputError(f"{where}: key province: unknown province {values['province']!r} "
                         f"(known: {', '.join(PROVINCE_INDEX)}, all)")


class Enforcement(Event):
    """A province (or all) enforces resolution 2397 at a level from 0 to 1 (000, 002, 003)."""

    type = "enforcement"
    FIELDS = {
        "province": Spec(str, True),
        "level": Spec((int, float), True),
    }

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        _check_province(values, where)
        if not 0 <= values["level"] <= 1:
            raise InputError(f"{where}: key level: must be between 0 and 1, got {values['level']}")

    def apply(self, world: World, day: int) -> None:
        targets = PROVINCES if self["province"] == "all" else [self["province"]]
        for province in targets:
            world.chinese[PROVINCE_INDEX[province]].enforce(float(self["level"]), day)

    def caption(self) -> str:
        return f"enforcement {self['level']:g} {self['province']}"


class Relations(Event):
    """Relations between the two states warm or cool (000: "as its relations with North Korea grow chilly")."""

    type = "relations"
    FIELDS = {"level": Spec(str, True, allowed=RELATIONS)}

    def apply(self, world: World, day: int) -> None:
        for agency in world.chinese:
            agency.set_relations(self["level"])

    def caption(self) -> str:
        return f"relations {self['level']}"


class Documents(Event):
    """A province (or all) starts or stops preparing visas or invitation letters (002), for its places (004)."""

    type = "documents"
    FIELDS = {
        "province": Spec(str, True),
        "issuing": Spec(bool, True),
    }

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        _check_province(values, where)

    def apply(self, world: World, day: int) -> None:
        targets = PROVINCES if self["province"] == "all" else [self["province"]]
        for province in targets:
            world.chinese[PROVINCE_INDEX[province]].set_issuing(bool(self["issuing"]))

    def caption(self) -> str:
        return f"documents {'issued' if self['issuing'] else 'stopped'} {self['province']}"


class RepatriationOrder(Event):
    """Pyongyang (or China) orders a share or a number of workers home, by priority class (000, 001, 004)."""

    type = "repatriation_order"
    FIELDS = {
        "places": Spec(list, True),
        "share": Spec((int, float)),
        "count": Spec(int),
        "priorities": Spec(list, default=list(PRIORITY_CLASSES)),
        "replace": Spec(bool, default=False),
        "issuer": Spec(str, default="north_korea", allowed=ISSUERS),
    }

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        if not values["places"]:
            raise InputError(f"{where}: key places: must name at least one place")
        for place in values["places"]:
            if not isinstance(place, str) or not _is_place(place):
                raise InputError(f"{where}: key places: unknown place {place!r}")
        if (values["share"] is None) == (values["count"] is None):
            raise InputError(f"{where}: key share/count: give exactly one of them")
        if values["share"] is not None and not 0 <= values["share"] <= 1:
            raise InputError(f"{where}: key share: must be between 0 and 1, got {values['share']}")
        if not values["priorities"]:
            raise InputError(f"{where}: key priorities: an empty list would send nobody home; name at least one "
                             f"class ({', '.join(PRIORITY_CLASSES)}) or leave the key out for all of them")
        for cls_name in values["priorities"]:
            if cls_name not in PRIORITY_CLASSES:
                raise InputError(f"{where}: key priorities: unknown class {cls_name!r} "
                                 f"(known: {', '.join(PRIORITY_CLASSES)})")

    def apply(self, world: World, day: int) -> None:
        world.north_korea.order(day, self["places"], share=self["share"], count=self["count"],
                                classes=self["priorities"], replace=self["replace"], issuer=self["issuer"])

    def caption(self) -> str:
        amount = f"{self['share']:.0%}" if self.values.get("share") is not None else f"{self['count']:,}"
        return f"repatriation {amount} {'/'.join(self['places'])}"


class Dispatch(Event):
    """New workers sent to a destination over some days, of a given size or filling vacancies (002, 003)."""

    type = "dispatch"
    FIELDS = {
        "destination": Spec(str, True),
        "sector": Spec(str, allowed=SECTORS),
        "size": Spec(int),
        "days": Spec(int, default=1),
        "experienced_only": Spec(bool, default=False),
    }

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        if values["size"] is not None and values["size"] > MAX_WORKERS:
            raise InputError(f"{where}: key size: must be at most {MAX_WORKERS:,} workers, got {values['size']:,}")
        if not _is_place(values["destination"]):
            raise InputError(f"{where}: key destination: unknown place {values['destination']!r} "
                             "(a city, a province or China)")
        if values["days"] < 1:
            raise InputError(f"{where}: key days: must be at least 1, got {values['days']}")

    def apply(self, world: World, day: int) -> None:
        world.north_korea.start_wave(day, self["destination"], self["sector"], self["size"], self["days"],
                                     self["experienced_only"])

    def caption(self) -> str:
        size = f" {self['size']:,}" if self.values.get("size") else ""
        return f"dispatch{size} to {self['destination']}"


class DefectionShock(Event):
    """A collective defection at one factory (001: over 20 garment workers and their manager in Shanghai)."""

    type = "defection_shock"
    FIELDS = {
        "place": Spec(str, True),
        "size": Spec(int),
        "sector": Spec(str, allowed=SECTORS),
    }

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        if city_name(values["place"]) is None:
            raise InputError(f"{where}: key place: unknown city {values['place']!r}")
        if values["size"] is not None and values["size"] < 1:
            raise InputError(f"{where}: key size: must be at least 1, got {values['size']}")

    def apply(self, world: World, day: int) -> None:
        world.defection_shock(day, self["place"], self["size"], self["sector"])

    def caption(self) -> str:
        return f"defection {self['place']}"


class Lists(Event):
    """Pyongyang orders lists of workers who cannot work and of those confined (004, July 2021)."""

    type = "lists"
    FIELDS = {}

    def apply(self, world: World, day: int) -> None:
        world.north_korea.compile_lists(day)


class Rotation(Event):
    """Rotation of workers whose contract ended stops or resumes (001: every three years)."""

    type = "rotation"
    FIELDS = {"active": Spec(bool, True)}

    def apply(self, world: World, day: int) -> None:
        world.north_korea.rotation_active = bool(self["active"])

    def caption(self) -> str:
        return f"rotation {'on' if self['active'] else 'off'}"


EVENT_TYPES: dict[str, type[Event]] = {cls.type: cls for cls in (
    BorderStatus, Capacity, Enforcement, Relations, Documents, RepatriationOrder, Dispatch, DefectionShock, Lists, Rotation)}
"""The TOML `type` of each event class."""

EVENT_FIELDS: dict[str, dict[str, Spec]] = {name: cls.FIELDS for name, cls in EVENT_TYPES.items()}
"""Every event type and its keys. Besides these, every event has `type`, `date` and an optional `note`."""


# --- reading events from files -----------------------------------------------------------------

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


def _is_place(name: str) -> bool:
    return name == CHINA or name in PROVINCE_INDEX or city_name(name) is not None


_NUMBERS = ("capacity", "persons", "vehicles", "size", "count", "level", "share")
_COUNTS = ("capacity", "persons", "vehicles", "size", "count")


def parse_event(table: Any, where: str) -> Event:
    """Check one `[[events]]` table and turn it into an Event of its type's class.

    `where` names the file and the event (e.g. "scenarios/x.toml: events[3]"); every error
    message starts with it and names the key at fault.
    """
    if not isinstance(table, dict):
        raise InputError(f"{where}: an event must be a table, got {table!r}")
    kind = table.get("type")
    if isinstance(kind, dict):
        raise InputError(f"{where}: key type: a range makes no sense here (the type is one of "
                         f"{', '.join(EVENT_TYPES)})")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise InputError(f"{where}: key type: unknown event type {kind!r} (known: {', '.join(EVENT_TYPES)})")
    if "date" not in table:
        raise InputError(f"{where}: key date: missing")
    ranges: dict[str, Range] = {}
    if isinstance(table["date"], dict):
        ranges["date"] = parse_date_range(table["date"], f"{where}: key date", parse_date)
        date = dt.date.fromordinal(int(ranges["date"].low))
    else:
        date = parse_date(table["date"], f"{where}: key date")
    note = table.get("note", "")
    if not isinstance(note, str):
        raise InputError(f"{where}: key note: must be text, got {note!r}")
    name = table.get("id", "")
    if not isinstance(name, str):
        raise InputError(f"{where}: key id: must be text, got {name!r}")
    cls = EVENT_TYPES[kind]
    specs = cls.FIELDS
    values: dict[str, Any] = {}
    for key in table:
        if key not in specs and key not in ("type", "date", "note", "id"):
            raise InputError(f"{where}: unknown key {key!r} for a {kind} event (known: {', '.join(specs) or 'none'})")
    for key, spec in specs.items():
        if key not in table:
            if spec.required:
                raise InputError(f"{where}: key {key}: missing (required for a {kind} event)")
            values[key] = list(spec.default) if isinstance(spec.default, list) else spec.default
            continue
        value = table[key]
        kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
        if isinstance(value, dict):
            if int not in kinds and float not in kinds:
                raise InputError(f"{where}: key {key}: a range makes no sense here (it must be "
                                 f"{' or '.join({bool: 'true or false', list: 'a list'}.get(k, 'text') for k in kinds)})")
            ranges[key] = parse_number_range(value, f"{where}: key {key}", whole=float not in kinds)
            value = int(round(ranges[key].low)) if ranges[key].whole else ranges[key].low
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join("number" if k in (int, float) else k.__name__ for k in kinds)
            raise InputError(f"{where}: key {key}: must be {names}, got {value!r}")
        if spec.allowed is not None and value not in spec.allowed:
            raise InputError(f"{where}: key {key}: {value!r} is not one of {', '.join(spec.allowed)}")
        values[key] = value
    ends = [(r.low, r.high) if not r.whole else (int(round(r.low)), int(round(r.high))) for r in ranges.values()]
    bounds = [values] if not ranges else [
        {**values, **{k: end[i] for k, end in zip(ranges, ends) if k != "date"}} for i in (0, 1)]
    for candidate in bounds:  # a range is checked at both ends: every value it can draw is valid
        for key in _NUMBERS:
            if isinstance(candidate.get(key), float) and not math.isfinite(candidate[key]):
                raise InputError(f"{where}: key {key}: must be a finite number, got {candidate[key]}")
        for key in _COUNTS:
            if isinstance(candidate.get(key), (int, float)) and candidate[key] < 0:
                raise InputError(f"{where}: key {key}: must not be negative, got {candidate[key]}")
        cls.check(candidate, where)
    if ranges:
        values = bounds[0]
    return cls(date, values, note, ranges, name)


def parse_events(tables: Any, where: str) -> list[Event]:
    """Parse a list of event tables, in date order (stable for events on the same day)."""
    if not isinstance(tables, list):
        raise InputError(f"{where}: key events: must be a list of tables ([[events]])")
    events = [parse_event(t, f"{where}: events[{i + 1}]") for i, t in enumerate(tables)]
    return sorted(events, key=lambda e: e.date)

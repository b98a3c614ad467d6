"""Scenario files: a future (parameter overrides and dated events) on top of the shared history.

A scenario is a TOML file in `scenarios/` with these keys (all optional but `name`, which
every file gives, a child too):

    name         a short slug, also the default output folder `outputs/<name>/`
    description  one or two sentences for the reader of the outputs
    extends      "history" (the packaged model/scenarios/history.toml, the default), or another
                 scenario: a path relative to this file, with or without ".toml"
    start        first date of the outputs (default 2017-01-01, the history's start)
    end          last simulated and reported day (default 2030-12-31)
    replicates   how many runs make the ensemble (default 20)
    seed         the seed of the ensemble (default 0)
    output_freq  day, week, month, quarter or year (default month)
    [parameters] overrides of `labor_stocks.world.parameters.Parameters`, by name
    [[events]]   dated events, as in model/scenarios/history.toml (see `labor_stocks.world.events`)

Resolution follows `extends` up to the history: the child's keys override the parent's,
`[parameters]` tables merge (the child wins, dict-valued parameters key by key), and
`[[events]]` concatenate, parent first. The simulation always starts at the history's start
(2017-01-01) so that every scenario carries the same past; `start` only trims the outputs.

Every mistake is one `InputError` naming the file and the key, e.g.
`scenarios/x.toml: events[3]: key date: 2031-05-01 is outside the run (2017-01-01 to 2030-12-31)`.
An event in a file is checked against that file's own run; events inherited from a parent
that fall after a shorter child's `end` simply do not happen in the child's run and are left
out of the resolved scenario.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..world.events import Event, parse_date, parse_event
from ..scenarios.history import HISTORY_END, HISTORY_PATH, HISTORY_START, load_history
from ..world.parameters import Parameters, with_overrides

OUTPUT_FREQS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
"""Periods of the projection table: stocks at the end of each, flows summed over it."""

HISTORY = "history"
"""The value of `extends` that names the shared history (model/scenarios/history.toml)."""

KEYS: tuple[str, ...] = ("name", "description", "extends", "start", "end", "replicates", "seed",
                         "output_freq", "parameters", "events")

DEFAULTS: dict[str, Any] = {
    "description": "",
    "start": HISTORY_START,
    "end": HISTORY_END,
    "replicates": 20,
    "seed": 0,
    "output_freq": "month",
}
"""Values of the keys that neither the scenario nor any scenario it extends gives."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
MAX_REPLICATES = 100_000
"""A guard against typos: 100,000 replicates of about a second each are already a day on a big cluster."""
LATEST_END = dt.date(2100, 12, 31)
"""A guard against typos in `end` (20300-01-01): far beyond any horizon the articles support."""


@dataclass(frozen=True)
class Scenario:
    """A scenario after `extends` is resolved: everything a run needs, and nothing from the files.

    `events` holds the history's events and every scenario file's, in date order (files in
    the order of the chain for events on the same day); `own_events` are those of the
    scenario files only (not the history), which the plot marks. `chain` lists the files,
    the history first and this scenario's file last.
    """

    name: str
    description: str
    start: dt.date
    end: dt.date
    replicates: int
    seed: int
    output_freq: str
    parameters: dict[str, Any] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    own_events: tuple[Event, ...] = ()
    chain: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        """The file this scenario was read from."""
        return self.chain[-1] if self.chain else ""

    def parameters_for(self, base: Parameters | None = None) -> Parameters:
        """`base` (defaults, or a posterior draw) with this scenario's `[parameters]` on top.

        The scenario's parameters are explicit assumptions of the analyst, so they win over
        anything calibrated.
        """
        return with_overrides(self.parameters, f"{self.path}: parameters", base=base)

    def as_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (for run.json): keys as in a file, events as tables."""
        return {
            "name": self.name,
            "description": self.description,
            "file": self.path,
            "chain": list(self.chain),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "replicates": self.replicates,
            "seed": self.seed,
            "output_freq": self.output_freq,
            "parameters": self.parameters,
            "events": [event.as_dict() for event in self.events],
        }


def load_scenario(path: str | Path) -> Scenario:
    """Read the scenario file at `path`, follow `extends` to the history and check everything.

    Raises InputError (one line naming the file and the key) for a file that cannot be read,
    is not TOML, has an unknown key, a value of the wrong type, a bad date, an unknown place
    or crossing, an event outside the run, or a cycle in `extends`.
    """
    return _resolve(Path(path), ())


def _resolve(path: Path, seen: tuple[Path, ...]) -> Scenario:
    name = str(path)
    table = _read(path)
    unknown = [key for key in table if key not in KEYS]
    if unknown:
        raise InputError(f"{name}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")

    if "name" not in table:
        raise InputError(f"{name}: key name: missing (every scenario file names itself, e.g. name = \"my_scenario\")")
    own: dict[str, Any] = {"name": _text(table, "name", name)}
    if not _NAME.match(own["name"]):
        raise InputError(f"{name}: key name: use letters, digits, '_', '-' or '.', "
                         f"e.g. border_reopening; got {own['name']!r}")
    parent = _parent(path, table, seen)
    if "description" in table:
        own["description"] = _text(table, "description", name)
    for key in ("start", "end"):
        if key in table:
            own[key] = parse_date(table[key], f"{name}: key {key}")
    for key, least in (("replicates", 1), ("seed", 0)):
        if key in table:
            own[key] = _whole(table, key, least, name)
    if own.get("replicates", 0) > MAX_REPLICATES:
        raise InputError(f"{name}: key replicates: must be at most {MAX_REPLICATES:,}, got {own['replicates']:,}")
    if "output_freq" in table:
        freq = _text(table, "output_freq", name)
        if freq not in OUTPUT_FREQS:
            raise InputError(f"{name}: key output_freq: {freq!r} is not one of {', '.join(OUTPUT_FREQS)}")
        own["output_freq"] = freq

    inherited = {f.name: getattr(parent, f.name) for f in fields(Scenario)} if parent else dict(DEFAULTS)
    resolved = {key: own.get(key, inherited.get(key)) for key in DEFAULTS}
    resolved["name"] = own["name"]
    start, end = resolved["start"], resolved["end"]
    if start < HISTORY_START:
        raise InputError(f"{name}: key start: {start} is before the start of the history, {HISTORY_START}")
    if end < start:
        key = "end" if "end" in own or "start" not in own else "start"
        raise InputError(f"{name}: key {key}: the run ends ({end}) before it starts ({start})")
    if end > LATEST_END:
        raise InputError(f"{name}: key end: {end} is after {LATEST_END}; is the year mistyped?")

    parameters = _merge_parameters(parent.parameters if parent else {}, table.get("parameters", {}), name)
    own_events = _events(table.get("events", []), name, end)
    base_events = parent.events if parent else tuple(load_history(HISTORY_PATH))
    base_own = parent.own_events if parent else ()
    events = tuple(sorted((e for e in (*base_events, *own_events) if e.date <= end), key=lambda e: e.date))
    return Scenario(
        name=resolved["name"],
        description=resolved["description"],
        start=start,
        end=end,
        replicates=resolved["replicates"],
        seed=resolved["seed"],
        output_freq=resolved["output_freq"],
        parameters=parameters,
        events=events,
        own_events=tuple(e for e in (*base_own, *own_events) if e.date <= end),
        chain=(*(parent.chain if parent else ("model/scenarios/history.toml",)), name),
    )


def _read(path: Path) -> dict[str, Any]:
    name = str(path)
    try:
        if path.is_dir():
            raise InputError(f"{name}: is a folder, not a scenario file")
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark (Windows editors) is not TOML, and not an error
    except FileNotFoundError:
        raise InputError(f"{name}: no such scenario file") from None
    except OSError as error:
        raise InputError(f"{name}: cannot read the file ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{name}: not UTF-8 text (byte {error.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error).splitlines()[0]
        found = re.search(r"line (\d+)", message)
        lines = text.splitlines()
        if found and 0 < int(found.group(1)) <= len(lines):
            shown = lines[int(found.group(1)) - 1].strip()
            raise InputError(f"{name}: not valid TOML: {message}: {shown[:80]!r}") from None
        raise InputError(f"{name}: not valid TOML: {message}") from None


def _parent(path: Path, table: dict[str, Any], seen: tuple[Path, ...]) -> Scenario | None:
    """The resolved scenario that `path` extends, or None for the history."""
    name = str(path)
    here = path.resolve()
    if here in seen:
        loop = " -> ".join(p.name for p in (*seen[seen.index(here):], here))
        raise InputError(f"{name}: key extends: a cycle ({loop})")
    target = table.get("extends", HISTORY)
    if not isinstance(target, str) or not target:
        raise InputError(f"{name}: key extends: must be text (\"history\" or a scenario file), got {target!r}")
    if target == HISTORY:
        return None
    base = Path(target)
    candidates = [path.parent / base] if base.suffix == ".toml" else [path.parent / f"{target}.toml", path.parent / base]
    for candidate in candidates:
        try:
            found = candidate.is_file()
        except OSError:  # e.g. a name too long for the file system: no such file either
            found = False
        if found:
            return _resolve(candidate, (*seen, here))
    raise InputError(f"{name}: key extends: no scenario file {target!r} next to it "
                     f"(looked for {', '.join(str(c) for c in candidates)}; or write \"history\")")


def _text(table: dict[str, Any], key: str, name: str) -> str:
    value = table[key]
    if not isinstance(value, str):
        raise InputError(f"{name}: key {key}: must be text in quotes, got {value!r}")
    return value


def _whole(table: dict[str, Any], key: str, least: int, name: str) -> int:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name}: key {key}: must be a whole number, got {value!r}")
    if value < least:
        raise InputError(f"{name}: key {key}: must be at least {least}, got {value}")
    return value


def _merge_parameters(inherited: dict[str, Any], own: Any, name: str) -> dict[str, Any]:
    """The parent's overrides with this file's on top; this file's are checked against Parameters."""
    if not isinstance(own, dict):
        raise InputError(f"{name}: key parameters: must be a table ([parameters]), got {own!r}")
    with_overrides(own, f"{name}: parameters")
    merged = {key: dict(value) if isinstance(value, dict) else value for key, value in inherited.items()}
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = dict(value) if isinstance(value, dict) else value
    with_overrides(merged, f"{name}: parameters")
    return merged


def _events(tables: Any, name: str, end: dt.date) -> tuple[Event, ...]:
    """This file's events, each checked and inside the run [history start, end]."""
    if not isinstance(tables, list):
        raise InputError(f"{name}: key events: must be a list of tables ([[events]])")
    events = []
    for index, table in enumerate(tables, start=1):
        where = f"{name}: events[{index}]"
        event = parse_event(table, where)
        latest = dt.date.fromordinal(int(event.ranges["date"].high)) if "date" in event.ranges else event.date
        for day in {event.date, latest}:
            if not HISTORY_START <= day <= end:
                raise InputError(f"{where}: key date: {day} is outside the run ({HISTORY_START} to {end})")
        events.append(event)
    return tuple(events)

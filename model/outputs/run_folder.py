"""The run folder: what `labor-stocks run` writes into it, and reading it back (the one place that knows run.json).

A run folder holds exactly `RUN_FILES`: `projection.csv` (the table), `run.json` (the run
record: the scenario as resolved, seed, replicate seeds, posterior draws, versions, git
commit, timings), `projection.png` and `replicates.npz` (every replicate's values). The
record is a `RunRecord`; `write_record` writes it and `load_run` reads a folder back, for
`labor-stocks compare`.

A run replaces its whole folder, so a folder may be replaced only when all it holds is a
run's (`check_run_folder`): every entry a regular file named as one of `RUN_FILES` and
recognisable by its content (the projection's header line, a run record, a PNG, an .npz
archive), or the `explain/` folder of `labor-stocks explain` (`KEPT`), which the run keeps.
A file of any other name (a user's notes, a subfolder) is never deleted: the run
is refused before it starts, naming the folder and what is in the way. A file with a run's
name but other content is replaced only with `--force`.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..files import PNG_SIGNATURE, OutputFolder, check_output_folder, json_record, starts_with_line
from ..scenarios.history import HISTORY_START, load_history
from ..scenarios.scenario import Scenario
from ..world.events import parse_event
from .explain_folder import EXPLAIN_FOLDER, EXPLAIN_SUBFOLDER
from .projection import COLUMNS, REPLICATES_FILE, Replicates, periods, read_replicates

PROJECTION_FILE = "projection.csv"
RECORD_FILE = "run.json"
FIGURE_FILE = "projection.png"
RUN_FILES: tuple[str, ...] = (PROJECTION_FILE, RECORD_FILE, FIGURE_FILE, REPLICATES_FILE)
"""Every file a run writes; a run folder holds these and nothing else, but for `KEPT`."""
KEPT: tuple[str, ...] = (EXPLAIN_SUBFOLDER,)
"""What a run keeps when it replaces its folder: `labor-stocks explain`'s folder `explain/`, when it holds only
an explain's files (`RUN_FOLDER`)."""
_RECORD_BYTES = 50_000_000
"""A run.json larger than this is not a run's record (it is not even read)."""


# --- the run record (run.json) ---------------------------------------------------------------

@dataclass(frozen=True)
class PosteriorUse:
    """Which parameters the replicates ran with: the posterior's name, its file and each replicate's draw."""

    used: str
    file: str | None = None
    drawn: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class RunRecord:
    """run.json: how a run was made, enough to read its folder back and to pair it with another run.

    `scenario` is the resolved scenario as plain data (`Scenario.as_dict()` and its own
    events); `replicate_seeds[i]` and `posterior.drawn[i]` are what replicate i ran with
    (two runs are paired when both agree); the other fields are for the reader: which
    reports were drawn, how the run was executed, the versions and commit, the timings.
    """

    scenario: dict[str, Any]
    seed: int
    replicates: int
    replicate_seeds: list[int] = field(default_factory=list)
    posterior: PosteriorUse = PosteriorUse("unknown")
    replicate_values: dict[str, Any] = field(default_factory=dict)
    reports: dict[str, Any] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    git: dict[str, Any] | None = None
    created: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    ranges: list[dict[str, Any]] = field(default_factory=list)
    """Every ranged event field of the scenario: the event, the key and its range (drawn per replicate)."""

    def as_dict(self) -> dict[str, Any]:
        """The record as run.json holds it (keys in this order)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> RunRecord:
        """Decode a run.json; InputError naming the file when it is not a run record."""
        if not isinstance(data, dict):
            raise InputError(f"{where}: not a run record (not a JSON object)")
        try:
            posterior = data.get("posterior") or {}
            drawn = posterior.get("drawn")
            if drawn is not None and not (isinstance(drawn, list) and all(isinstance(d, dict) for d in drawn)):
                raise ValueError("posterior.drawn")
            return cls(scenario=dict(data["scenario"]), seed=int(data["seed"]), replicates=int(data["replicates"]),
                       replicate_seeds=[int(s) for s in data.get("replicate_seeds") or []],
                       posterior=PosteriorUse(str(posterior.get("used", "unknown")), posterior.get("file"), drawn),
                       replicate_values=dict(data.get("replicate_values") or {}),
                       reports=dict(data.get("reports") or {}), execution=dict(data.get("execution") or {}),
                       versions=dict(data.get("versions") or {}), git=data.get("git"),
                       created=str(data.get("created", "")), timings=dict(data.get("timings") or {}),
                       ranges=[dict(r) for r in data.get("ranges") or []])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InputError(f"{where}: not a run record: key {error} missing or wrong") from None

    def resolved_scenario(self, where: str) -> Scenario:
        """The resolved scenario recorded here, events included (the history's and the scenario's own)."""
        table = self.scenario
        events = tuple(parse_event(e, f"{where}: scenario.events[{i}]") for i, e in enumerate(table["events"], 1))
        if "own_events" in table:
            own = tuple(parse_event(e, f"{where}: scenario.own_events[{i}]")
                        for i, e in enumerate(table["own_events"], 1))
        else:  # a run from before own_events were recorded: what the shared history does not hold
            shared = {json.dumps(e.as_dict(), sort_keys=True) for e in load_history()}
            own = tuple(e for e in events if json.dumps(e.as_dict(), sort_keys=True) not in shared)
        return Scenario(name=str(table["name"]), description=str(table.get("description", "")),
                        start=dt.date.fromisoformat(table["start"]), end=dt.date.fromisoformat(table["end"]),
                        replicates=self.replicates, seed=self.seed, output_freq=str(table["output_freq"]),
                        parameters=dict(table.get("parameters", {})), events=events, own_events=own,
                        chain=tuple(table.get("chain", ())))


def write_record(record: RunRecord, folder: Path) -> None:
    """Write run.json into `folder` (a run's staging folder, see `labor_stocks.files.staged_folder`)."""
    (folder / RECORD_FILE).write_text(json.dumps(record.as_dict(), indent=2, default=str) + "\n", encoding="utf-8")


def read_record(path: Path) -> RunRecord:
    """Read a run.json; InputError naming the file when it cannot be read or is not a run record."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: cannot be read ({error})") from None
    return RunRecord.from_dict(data, str(path))


# --- a finished run read back ----------------------------------------------------------------

@dataclass
class ComparedRun:
    """A finished run folder as a comparison needs it: its scenario, run record and projection table."""

    label: str
    folder: Path
    scenario: Scenario
    record: RunRecord
    table: pd.DataFrame
    _replicates: Replicates | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.scenario.name

    def dates(self, quantity: str = "stock") -> list[dt.date]:
        """The period dates of the projection (the last day of each period), in order."""
        rows = self.table[self.table["quantity"] == quantity]
        return sorted({dt.date.fromisoformat(d) for d in rows["date"]})

    def period_days(self) -> dict[dt.date, tuple[dt.date, int]]:
        """For each period date: the period's first day and its length in days (flows are sums over it)."""
        folded = periods(HISTORY_START, self.scenario.start, self.scenario.end, self.scenario.output_freq)
        first = self.scenario.start
        return {date: (first + dt.timedelta(days=int(start)), int(days))
                for date, start, days in zip(folded.dates, folded.starts, folded.days)}

    def replicates(self) -> Replicates:
        """Every replicate's values (replicates.npz), checked against run.json; read once."""
        if self._replicates is None:
            path = self.folder / REPLICATES_FILE
            if not path.is_file():
                raise InputError(f"{self.folder}: no {REPLICATES_FILE} (the run predates per-replicate output); "
                                 f"run the scenario again with labor-stocks run for a difference view")
            try:
                values = read_replicates(path)
            except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as error:
                raise InputError(f"{path}: cannot be read ({str(error).splitlines()[0] if str(error) else type(error).__name__}); "
                                 f"run the scenario again") from None
            shape = (len(values.seeds), len(values.places), len(values.dates))
            odd = [quantity for quantity, array in values.values.items() if array.shape != shape]
            if odd:
                raise InputError(f"{path}: the array {odd[0]} has shape {values.values[odd[0]].shape}, not {shape}; "
                                 f"the file is damaged: run the scenario again")
            if [int(s) for s in values.seeds] != self.record.replicate_seeds:
                raise InputError(f"{path}: its seeds differ from run.json's replicate_seeds; the folder is mixed up")
            self._replicates = values
        return self._replicates


def _check_complete(table: pd.DataFrame, scenario: Scenario, where: Path) -> None:
    """Every quantity and place of the table has one row for each period of the run, with numbers."""
    expected = [d.isoformat() for d in periods(HISTORY_START, scenario.start, scenario.end, scenario.output_freq).dates]
    for column in COLUMNS[4:]:
        values = pd.to_numeric(table[column], errors="coerce")
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 2
            raise InputError(f"{where}: line {row}, column {column}: not a number")
    grid = set(zip(table["quantity"], table["place"], table["date"]))
    if len(grid) != len(table):
        duplicated = table[table.duplicated(["quantity", "place", "date"])].iloc[0]
        raise InputError(f"{where}: two rows for {duplicated['quantity']} in {duplicated['place']} on "
                         f"{duplicated['date']}; the file is damaged: run the scenario again")
    for quantity in dict.fromkeys(table["quantity"]):
        for place in dict.fromkeys(table["place"]):
            for date in expected:
                if (quantity, place, date) not in grid:
                    raise InputError(f"{where}: no row for {quantity} in {place} on {date}; the file is damaged: "
                                     f"run the scenario again")
    extra = set(table["date"]) - set(expected)
    if extra:
        raise InputError(f"{where}: a row dated {sorted(extra)[0]}, outside the run's periods; the file is damaged")


def load_run(folder: str | Path) -> ComparedRun:
    """Read a folder written by `labor-stocks run`; InputError naming the folder when it is not one."""
    folder = Path(folder)
    for needed in (RECORD_FILE, PROJECTION_FILE):
        if not (folder / needed).is_file():
            raise InputError(f"{folder}: not a finished run folder: no {needed} (make one with labor-stocks run)")
    where = str(folder / RECORD_FILE)
    record = read_record(folder / RECORD_FILE)
    try:
        scenario = record.resolved_scenario(where)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InputError(f"{where}: not a run record: key {error} missing or wrong") from None
    path = folder / PROJECTION_FILE
    try:
        table = pd.read_csv(path, keep_default_na=False, dtype={"date": str})
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"{path}: cannot be read ({str(error).splitlines()[0]})") from None
    if tuple(table.columns) != COLUMNS:
        raise InputError(f"{path}: not a projection table (columns {', '.join(map(str, table.columns))})")
    _check_complete(table, scenario, path)
    table[list(COLUMNS[4:])] = table[list(COLUMNS[4:])].apply(pd.to_numeric)
    return ComparedRun(scenario.name, folder, scenario, record, table)


# --- may a run replace this folder? ----------------------------------------------------------

def _is_record(path: Path) -> bool:
    data = json_record(path, _RECORD_BYTES)
    return data is not None and {"scenario", "seed", "replicates"} <= set(data)


def _starts_with(path: Path, signature: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(signature)) == signature
    except OSError:
        return False


RECOGNISED = {
    PROJECTION_FILE: lambda path: starts_with_line(path, ",".join(COLUMNS)),
    RECORD_FILE: _is_record,
    FIGURE_FILE: lambda path: _starts_with(path, PNG_SIGNATURE),
    REPLICATES_FILE: lambda path: _starts_with(path, b"PK"),
}
"""How each file of a run folder is recognised as a run's by its content."""


RUN_FOLDER = OutputFolder("run", "a run folder", "a run", "outputs/NAME", RECOGNISED,
                          kept={EXPLAIN_SUBFOLDER: EXPLAIN_FOLDER})
"""The run folder as `files.check_output_folder` checks it: a run's files, and the `explain/` folder it keeps."""


def check_run_folder(target: Path, option: str = "--out", force: bool = False) -> None:
    """Fail early, before any simulation, when a run may not write (or replace) the folder `target`.

    Refused: the current folder or one holding it, a symbolic link, a file, an unwritable
    place, a folder holding anything a run does not write (named in the message; an
    `explain/` folder holding anything but an explain's files names what in it is in the
    way), and, without `force`, a file with a run's name that is not recognisably a run's.
    """
    check_output_folder(RUN_FOLDER, target, option, force)

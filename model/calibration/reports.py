"""The reports ledger: figures from news articles that the model is calibrated against.

Each row of `calibration/reports.csv` is one figure from one article ("about 200 workers
going home every day", "500 workers dispatched to Hunchun") with the period and place it
covers, a point value and/or a range, a confidence and the exact quote it comes from. The
ledger is edited by hand by analysts who are not programmers, so reading it must never
crash: every problem becomes one `InputError` line that names the file, the row and the
column, and appending a report must never damage what is already there.

Row numbers in messages are 1-based data rows (the header is not counted, blank lines are
skipped), followed by the line of the file where that row starts, e.g.
`calibration/reports.csv: row 7 (line 8), column place: unknown place 'Pyongyang' (...)`.

The first thirteen columns (`REQUIRED_COLUMNS`) are the format; `notes`, `statement` and
`outlet` may follow in any order (`OPTIONAL_COLUMNS`), so a ledger of the thirteen alone stays
valid. Rows sharing a `statement` key restate one statement; `outlet` names whose figure it
is (empty: the `source`).

How a report is compared with a simulated quantity (the observation model, and what a
statement and an outlet do there) lives with the calibration code, not here; this module only
guarantees that every report is well-formed.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..errors import InputError
from ..world.calendar import HISTORY_START
from ..files import is_read_only, write_file
from ..world.geography import CHINA, CITIES, CITY_ALIASES, CROSSING_INDEX, OVERSEAS, PROVINCES, is_place

REQUIRED_COLUMNS: tuple[str, ...] = (
    "id",
    "source",
    "published",
    "period_start",
    "period_end",
    "place",
    "kind",
    "value",
    "low",
    "high",
    "unit",
    "confidence",
    "quote",
)
"""The ledger's first thirteen columns, in this order: a ledger of these alone is valid."""

OPTIONAL_COLUMNS: tuple[str, ...] = ("notes", "statement", "outlet")
"""Columns a ledger may add after the thirteen, each once, in any order:
`notes` (how a date or a place was read), `statement` (a key shared by rows that restate one
statement: the calibration counts that statement once, see `observation.py`) and `outlet` (the
source whose bias and accuracy the calibration estimates; empty: the row's `source`)."""

REPORT_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + ("notes",)
"""The header a new ledger gets (`append_report`), with any other optional column the new row fills."""
ALL_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

KINDS: tuple[str, ...] = ("stock", "inflow", "outflow", "defections")
UNITS: tuple[str, ...] = ("workers", "workers_per_day")
"""`workers`: a stock, or a count over the period; `workers_per_day`: a daily average over it."""
CONFIDENCES: tuple[str, ...] = ("high", "medium", "low")

_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_KNOWN_PLACES = ", ".join([*PROVINCES, CHINA, OVERSEAS, *(c.name for c in CITIES), *CITY_ALIASES, *CROSSING_INDEX])


@dataclass(frozen=True)
class Report:
    """One figure from one article, validated (see `load_reports` for the rules)."""

    id: str
    source: str
    published: date
    period_start: date
    period_end: date
    place: str
    kind: str
    value: float | None
    low: float | None
    high: float | None
    unit: str
    confidence: str
    quote: str
    notes: str = ""
    statement: str = ""
    """Rows with the same key restate one statement (empty: the row is a statement of its own)."""
    outlet: str = ""
    """Who stands behind the figure, as the ledger names it; empty: the row's `source` (see `origin`)."""

    @property
    def origin(self) -> str:
        """The outlet whose bias and accuracy apply to this report: `outlet`, or else `source`."""
        return self.outlet or self.source

    @property
    def statement_key(self) -> str:
        """The statement this row restates: its `statement`, or else its own id (a statement of its own)."""
        return self.statement or f"\x00{self.id}"

    @property
    def days(self) -> int:
        """Length of the period in days, both ends included (1 for a stock)."""
        return (self.period_end - self.period_start).days + 1


def _show(text: str, limit: int = 60) -> str:
    """A user's value for a one-line message: quoted, escaped and shortened."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _RowError(Exception):
    """A problem in one column of the row being read; turned into an InputError by the caller."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _date(row: dict[str, str], column: str) -> date:
    text = row[column]
    if not _DATE.match(text):
        raise _RowError(column, f"bad date {_show(text)}: write YYYY-MM-DD, e.g. 2024-10-31")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _RowError(column, f"bad date {_show(text)}: no such day") from None


def _number(row: dict[str, str], column: str) -> float | None:
    text = row[column]
    if text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        raise _RowError(column, f"not a number: {_show(text)} (write 4000, not 4,000 or 'about 4000')") from None
    if not math.isfinite(number):
        raise _RowError(column, f"not a finite number: {_show(text)}")
    if number < 0:
        raise _RowError(column, f"negative number {_show(text)}: counts of workers cannot be negative")
    return number


def _choice(row: dict[str, str], column: str, allowed: tuple[str, ...]) -> str:
    text = row[column]
    if text not in allowed:
        raise _RowError(column, f"unknown {column} {_show(text)} (known: {', '.join(allowed)})")
    return text


def _report(row: dict[str, str], first_row_of_id: dict[str, int]) -> Report:
    """Build one Report from a row of stripped strings, or raise _RowError naming the column."""
    if not _ID.match(row["id"]):
        raise _RowError("id", f"bad id {_show(row['id'])}: use a short slug of a-z, 0-9 and '-', e.g. dandong-oct-2024")
    if row["id"] in first_row_of_id:
        raise _RowError("id", f"duplicate id {_show(row['id'])} (first used in row {first_row_of_id[row['id']]})")
    if not row["source"]:
        raise _RowError("source", "missing: name the article the figure comes from")
    published = _date(row, "published")
    start = _date(row, "period_start")
    end = _date(row, "period_end")
    if end < start:
        raise _RowError("period_end", f"period ends ({end}) before it starts ({start})")
    if start < HISTORY_START:
        raise _RowError("period_start", f"period starts ({start}) before the model's first day ({HISTORY_START}): "
                                        "the model cannot be compared with it")
    if end > published:
        raise _RowError("period_end", f"period ends ({end}) after the report was published ({published})")
    if not is_place(row["place"]):
        raise _RowError("place", f"unknown place {_show(row['place'])} (known: {_KNOWN_PLACES})")
    kind = _choice(row, "kind", KINDS)
    value, low, high = (_number(row, c) for c in ("value", "low", "high"))
    unit = _choice(row, "unit", UNITS)
    confidence = _choice(row, "confidence", CONFIDENCES)
    if kind == "stock" and start != end:
        raise _RowError("period_end", f"a stock is counted on one day: period_start and period_end must be equal ({start} != {end})")
    if kind == "stock" and unit != "workers":
        raise _RowError("unit", f"a stock is counted in workers, not {unit}")
    if value is None and low is None and high is None:
        raise _RowError("value", "no value and no bound: give a value, a low, a high, or a range")
    if low is not None and high is not None and low > high:
        raise _RowError("low", f"low ({low:g}) is above high ({high:g})")
    if value is not None and low is not None and value < low:
        raise _RowError("value", f"value ({value:g}) is below low ({low:g})")
    if value is not None and high is not None and value > high:
        raise _RowError("value", f"value ({value:g}) is above high ({high:g})")
    if not row["quote"]:
        raise _RowError("quote", "missing: copy the article's exact words")
    statement = row.get("statement", "")
    if statement and not _ID.match(statement):
        raise _RowError("statement", f"bad statement key {_show(statement)}: a short slug of a-z, 0-9 and '-' "
                                     "shared by the rows that restate one statement, e.g. dandong-exodus-2024")
    outlet = row.get("outlet", "")
    if outlet and (not outlet.isprintable() or len(outlet) > 60):
        raise _RowError("outlet", f"bad outlet {_show(outlet)}: name the outlet on one line, in at most 60 characters")
    return Report(
        id=row["id"],
        source=row["source"],
        published=published,
        period_start=start,
        period_end=end,
        place=row["place"],
        kind=kind,
        value=value,
        low=low,
        high=high,
        unit=unit,
        confidence=confidence,
        quote=row["quote"],
        notes=row.get("notes", ""),
        statement=statement,
        outlet=outlet,
    )


def _check_header(header: list[str], name: str) -> None:
    """The header is REQUIRED_COLUMNS in order, then optional columns: a misnamed column would silently drop data."""
    seen: set[str] = set()
    expected = f"{','.join(REQUIRED_COLUMNS)}, then any of {', '.join(OPTIONAL_COLUMNS)}"
    for column in header:
        # A header cell may hold anything (a quoted line break, a whole line): named safely, on one line.
        label = column if column.isprintable() and len(column) <= 40 else _show(column, 40)
        if column in seen:
            raise InputError(f"{name}: header, column {label}: duplicate column {_show(column)}")
        seen.add(column)
        if column not in ALL_COLUMNS:
            raise InputError(f"{name}: header, column {label}: unknown column {_show(column)} (expected: {expected})")
    for column in REQUIRED_COLUMNS:
        if column not in seen:
            raise InputError(f"{name}: header, column {column}: missing column (expected: {expected})")
    if tuple(header[:len(REQUIRED_COLUMNS)]) != REQUIRED_COLUMNS:
        raise InputError(f"{name}: header: columns out of order (expected: {expected})")


def parse_reports(text: str, name: str) -> list[Report]:
    """Validate the ledger's text; `name` is the file name used in error messages.

    Rules: the header is REQUIRED_COLUMNS in order, then any of OPTIONAL_COLUMNS (each once);
    every row has as many fields as the header; ids are
    unique slugs; source and quote are given; dates are YYYY-MM-DD with 2017-01-01 (the
    model's first day) <= period_start <= period_end <= published; a stock is one day, in workers; place, kind, unit and
    confidence are known values; numbers are finite and non-negative; a row has a value or
    a bound, low <= high and the value lies inside [low, high]; a statement key is a slug and an
    outlet one printable line. A header with no rows is a valid, empty ledger.
    """
    if not text.strip():
        raise InputError(f"{name}: empty file (expected the header {','.join(REPORT_COLUMNS)})")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    reports: list[Report] = []
    first_row_of_id: dict[str, int] = {}
    header: list[str] | None = None
    end_of_previous = 0
    try:
        for record in reader:
            start_line, end_of_previous = end_of_previous + 1, reader.line_num
            fields = [field.strip() for field in record]
            if not any(fields):
                continue
            if header is None:
                header = fields
                _check_header(header, name)
                continue
            number = len(reports) + 1
            where = f"{name}: row {number} (line {start_line})"
            if len(fields) < len(header):
                missing = header[len(fields)]
                raise InputError(f"{where}, column {missing}: missing (the row has {len(fields)} of {len(header)} fields)")
            if len(fields) > len(header):
                extra = len(fields) - len(header)
                raise InputError(f"{where}, column {header[-1]}: {extra} extra field(s) after the last column (an unquoted comma?)")
            try:
                report = _report(dict(zip(header, fields)), first_row_of_id)
            except _RowError as error:
                raise InputError(f"{where}, column {error.column}: {error.message}") from None
            first_row_of_id[report.id] = number
            reports.append(report)
    except csv.Error as error:
        raise InputError(f"{name}: row {len(reports) + 1} (line {reader.line_num}): not valid CSV ({error})") from None
    if header is None:
        raise InputError(f"{name}: empty file (expected the header {','.join(REPORT_COLUMNS)})")
    return reports


def _decode(data: bytes, name: str) -> str:
    """UTF-8 text (a byte-order mark, as Excel writes, is allowed)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(f"{name}: line {line}: not UTF-8 text (byte {error.start}); save the file as 'CSV UTF-8'") from None


def load_reports(path: str | os.PathLike[str]) -> list[Report]:
    """Read and validate the ledger at `path`; any problem is one InputError line (see `parse_reports`)."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"{name}: cannot read the file ({error.strerror or error})") from None
    return parse_reports(_decode(data, name), name)


def _cell(value: object) -> str:
    """A field as the ledger writes it: dates in ISO form, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header_of(text: str, name: str) -> list[str]:
    """The ledger's header (its first non-blank record), checked; empty for an empty file."""
    try:
        for record in csv.reader(io.StringIO(text, newline=""), strict=True):
            header = [field.strip() for field in record]
            if any(header):
                _check_header(header, name)
                return header
    except csv.Error as error:
        raise InputError(f"{name}: header: not valid CSV ({error})") from None
    return []


class NoSuchLedger(InputError):
    """`append_report` was given a ledger that does not exist, without `create=True`."""


def append_report(path: str | os.PathLike[str], *, create: bool = False, **fields: object) -> Report:
    """Validate a new report together with the ledger at `path`, then append it atomically.

    The new row is checked with the same rules as the whole file (so a duplicate id is
    refused), and the file is replaced in one `os.replace` from a temporary file in the same
    folder: a refused row or a crash midway leaves the ledger byte-identical. A missing
    ledger is refused (`NoSuchLedger`), so that a mistyped path does not start a second
    ledger beside the real one; with `create=True` it is created with its header
    (REPORT_COLUMNS, and any other optional column the row fills). The row fills the
    ledger's own columns: a value for an optional column the ledger's header lacks is
    refused, not dropped. Returns the new Report.
    """
    name = str(path)
    unknown = [key for key in fields if key not in ALL_COLUMNS]
    if unknown:
        raise InputError(f"{name}: new row, column {unknown[0]}: unknown column (columns: {','.join(ALL_COLUMNS)})")
    target = Path(path)
    if not target.exists() and not create:
        raise NoSuchLedger(f"{name}: no such ledger; pass create=True to start a new one there")
    try:
        existing = target.read_bytes() if target.exists() else b""
    except OSError as error:
        raise InputError(f"{name}: cannot read the file ({error.strerror or error})") from None
    text = _decode(existing, name)
    newline = "\r\n" if "\r\n" in text else "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    header = _header_of(text, name)
    if not header:
        existing = b""
        header = [*REPORT_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c not in REPORT_COLUMNS and fields.get(c))]
        writer.writerow(header)
    elif not text.endswith(("\n", "\r")):
        buffer.write(newline)
    missing = [key for key in fields if key not in header and _cell(fields[key]) != ""]
    if missing:
        raise InputError(f"{name}: new row, column {missing[0]}: the ledger has no such column; add "
                         f"{missing[0]} to its header (after the first thirteen columns) to fill it")
    writer.writerow([_cell(fields.get(column)) for column in header])
    data = existing + buffer.getvalue().encode("utf-8")
    reports = parse_reports(_decode(data, name), name)
    _write_atomically(target, data)
    return reports[-1]


def _write_atomically(target: Path, data: bytes) -> None:
    """Write `data` atomically (`labor_stocks.files.write_file`) to the ledger `target` names: through a
    symbolic link to the file it points to; a read-only ledger is refused, not replaced."""
    try:
        write_file(target, data, follow_symlinks=True)
    except OSError as error:
        if isinstance(error, PermissionError) and target.exists() and is_read_only(Path(os.path.realpath(target))):
            raise InputError(f"{target}: the ledger is read-only; it is left as it is (make it writable to add "
                             f"a report)") from None
        raise InputError(f"{target}: cannot write the file ({error.strerror or error})") from None

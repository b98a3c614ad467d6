"""Fuzzing the readers of user files: whatever a scenario or reports file holds, the result is a
valid model run or one clear error line with exit code 2, never a traceback.

The scenario files are generated two ways: as structured TOML built from the real vocabulary
(keys, parameter names, event types and their keys, places, crossings, sectors, dates) mixed
with junk, so that most examples get past the TOML parser and into the checks; and as raw
text and bytes. A scenario that loads is then run, briefly and at small scale, to show that
what the reader accepts the model can run.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from labor_stocks.cli import main
from labor_stocks.ensemble.runner import plan_replicates, simulate
from labor_stocks.errors import InputError
from labor_stocks.world.events import BORDER_STATUSES, EVENT_FIELDS, ISSUERS, PRIORITY_CLASSES, RELATIONS
from labor_stocks.world.geography import CITIES, CITY_ALIASES, CROSSING_INDEX, PROVINCES, SECTORS
from labor_stocks.world.parameters import Parameters
from labor_stocks.calibration.reports import REPORT_COLUMNS
from labor_stocks.scenarios.scenario import KEYS, OUTPUT_FREQS, Scenario, load_scenario



def fuzz(examples: int) -> settings:
    """Hypothesis settings for a fuzz test: `examples` examples, no deadline (a model run takes a while)."""
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

# --- a TOML writer for generated values (tomllib reads only) -----------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def toml_value(value: Any) -> str:
    """A TOML literal for `value`; strings are JSON-escaped, which TOML's basic strings accept."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_document(table: dict[str, Any]) -> str:
    """Top-level keys first, then `[parameters]` and `[[events]]` as tables when they are tables."""
    lines, tables = [], []
    for key, value in table.items():
        if key == "parameters" and isinstance(value, dict):
            tables.append("[parameters]\n" + "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in value.items()))
        elif key == "events" and isinstance(value, list) and all(isinstance(e, dict) for e in value):
            for event in value:
                tables.append("[[events]]\n" + "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in event.items()))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}\n")
    return "".join(lines) + "\n".join(tables)


# --- the vocabulary of scenario files, mixed with junk ---------------------------------------

WORDS = sorted({*PROVINCES, "China", "all", "overseas", *(c.name for c in CITIES), *CITY_ALIASES, *CROSSING_INDEX,
                *SECTORS, *BORDER_STATUSES, *RELATIONS, *PRIORITY_CLASSES, *ISSUERS, *EVENT_FIELDS, *OUTPUT_FREQS,
                "history", "baseline", "limited", "fuzz", "", " ", "Pyongyang", "Sinuiju", "2019-12-22",
                "2019-02-30", "1e3", "none"})
EVENT_KEYS = sorted({key for spec in EVENT_FIELDS.values() for key in spec} | {"type", "date", "note"})
PARAMETER_NAMES = [f.name for f in dataclasses.fields(Parameters)]
SHARE_KEYS = sorted({*PROVINCES, *(c.name for c in CITIES), *SECTORS})

SHORT_RUN_END = dt.date(2024, 12, 31)
SMALL_STOCK = 1000
RUN_DATES = st.integers(0, 15).flatmap(
    lambda i: st.dates(dt.date(2016, 12, 1), dt.date(2016, 12, 31)) if i == 7 else st.dates(dt.date(2017, 1, 1), SHORT_RUN_END))
"""Inside the short runs below (which cross the 2020 closure and the 2023-24 reopening), a few before the history."""

NUMBERS = st.one_of(
    st.integers(-3, 3), st.integers(0, 5000), st.integers(-2**63, 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 2), st.sampled_from([0.5, 1e-300, 1e300, -0.0]))
SCALARS = st.one_of(
    NUMBERS, st.booleans(), st.sampled_from(WORDS), st.text(max_size=8),
    RUN_DATES, st.dates(), st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2120, 1, 1)))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.sampled_from(WORDS), SCALARS, max_size=3))


PLACES = st.sampled_from(sorted({"China", *PROVINCES, *(c.name for c in CITIES), *CITY_ALIASES}))
GOOD_EVENT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "crossing": st.sampled_from([*CROSSING_INDEX, "all"]),
    "status": st.sampled_from(BORDER_STATUSES),
    "capacity": st.one_of(st.integers(0, 500), st.just("limited")),
    "persons": st.integers(0, 500), "vehicles": st.floats(0, 20),
    "province": st.sampled_from([*PROVINCES, "all"]),
    "level": st.one_of(st.floats(0, 1), st.sampled_from(RELATIONS)),
    "places": st.lists(PLACES, min_size=1, max_size=3),
    "share": st.floats(0, 1), "count": st.integers(0, 300),
    "priorities": st.lists(st.sampled_from(PRIORITY_CLASSES), max_size=4),
    "replace": st.booleans(), "issuer": st.sampled_from(ISSUERS),
    "destination": PLACES, "sector": st.sampled_from(SECTORS),
    "size": st.integers(0, 400), "days": st.integers(1, 60),
    "experienced_only": st.booleans(), "place": PLACES, "active": st.booleans(),
    "note": st.text(max_size=20), "date": RUN_DATES,
}
"""Values an analyst would write for each event key (the level of a relations event is a word)."""


def often(good: st.SearchStrategy[Any], junk: st.SearchStrategy[Any] = VALUES, odds: int = 12) -> st.SearchStrategy[Any]:
    """`good`, or one time in `odds` `junk`: right often enough to reach the later checks."""
    return st.integers(0, odds - 1).flatmap(lambda i: junk if i == odds // 2 else good)


def mostly(draw: st.DrawFn, good: st.SearchStrategy[Any], junk: st.SearchStrategy[Any] = VALUES, odds: int = 12) -> Any:
    """A draw from `often(good, junk, odds)`."""
    return draw(often(good, junk, odds))


@st.composite
def events(draw: st.DrawFn) -> Any:
    """An event table: a real type with its keys (most of them right) and a few mistakes."""
    if draw(st.integers(0, 29)) == 15:
        return draw(VALUES)  # not even a table
    kind = mostly(draw, st.sampled_from(sorted(EVENT_FIELDS)), st.one_of(st.sampled_from(WORDS), VALUES))
    table: dict[str, Any] = {"type": kind}
    if draw(st.integers(0, 29)) != 15:
        table["date"] = mostly(draw, RUN_DATES)
    own = sorted(EVENT_FIELDS.get(kind, {})) if isinstance(kind, str) else []
    keys = draw(st.lists(st.sampled_from(own), max_size=len(own), unique=True)) if own else []
    if draw(st.integers(0, 14)) == 7:
        keys += draw(st.lists(st.sampled_from([*EVENT_KEYS, "colour"]), max_size=2))
    for key in [*keys, *(["note"] if draw(st.booleans()) else [])]:
        table[key] = mostly(draw, GOOD_EVENT_VALUES.get(key, SCALARS), odds=20)
    return table


PARAMETER_VALUES = st.one_of(st.integers(0, 50), st.floats(0, 1), st.floats(0, 5000), st.integers(1, 5000))


@st.composite
def parameters(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 29)) == 15:
        return draw(SCALARS)
    names = draw(st.lists(often(st.sampled_from(PARAMETER_NAMES), st.sampled_from(WORDS), odds=30),
                          max_size=4, unique=True))
    table: dict[str, Any] = {}
    for name in names:
        if isinstance(getattr(Parameters(), name, None), dict):
            shares = st.dictionaries(st.sampled_from(SHARE_KEYS), often(st.floats(0, 1), SCALARS), max_size=4)
            table[name] = mostly(draw, shares, odds=20)
        else:
            table[name] = mostly(draw, PARAMETER_VALUES, odds=8)
    return table


@st.composite
def scenario_tables(draw: st.DrawFn) -> dict[str, Any]:
    """A scenario file's table: `name` (usually right), a few keys, parameters and events."""
    table: dict[str, Any] = {}
    if draw(st.integers(0, 29)) != 15:
        table["name"] = mostly(draw, st.sampled_from(["fuzz", "a-b.c_1"]), SCALARS, odds=20)
    keys = draw(st.lists(st.sampled_from(KEYS), max_size=6, unique=True))
    if draw(st.integers(0, 19)) == 10:
        keys.append("colour")
    for key in keys:
        if key in ("start", "end"):
            table[key] = mostly(draw, RUN_DATES, SCALARS)
        elif key in ("replicates", "seed"):
            table[key] = mostly(draw, st.integers(1, 3), st.one_of(st.integers(-1, 0), SCALARS))
        elif key == "parameters":
            table[key] = draw(parameters())
        elif key == "events":
            table[key] = mostly(draw, st.lists(events(), max_size=4), SCALARS, odds=30)
        elif key == "output_freq":
            table[key] = mostly(draw, st.sampled_from(OUTPUT_FREQS), SCALARS)
        elif key == "extends":
            table[key] = mostly(draw, st.sampled_from(["history", "parent", "parent.toml", "./parent"]),
                                st.sampled_from(["nowhere", "fuzz", "", "../x"]))
        elif key == "description":
            table[key] = mostly(draw, st.text(max_size=30), SCALARS)
        elif key != "name":
            table[key] = draw(VALUES)
    return table


# --- what must hold --------------------------------------------------------------------------


def short_run(scenario: Scenario) -> None:
    """Run the loaded scenario briefly (to SHORT_RUN_END) and small (SMALL_STOCK workers at most).

    Only the horizon and the size shrink; every accepted event up to that day and every
    accepted parameter else reach the model.
    """
    end = min(scenario.end, SHORT_RUN_END)
    short = dataclasses.replace(scenario, end=end, events=tuple(e for e in scenario.events if e.date <= end))
    plan = plan_replicates(short, 1, short.seed)[0]
    params = plan.params
    params.initial_stock = min(params.initial_stock, SMALL_STOCK)
    daily = simulate(params, short.events, short.end, plan.seed)
    china = daily["stock"]["China"]
    assert len(china) == (end - dt.date(2017, 1, 1)).days + 1
    assert (china >= 0).all()


def loads_and_runs_or_one_line(path: Path) -> Scenario | None:
    """load_scenario either returns a runnable Scenario or raises one InputError line naming the file."""
    try:
        scenario = load_scenario(path)
    except InputError as error:
        message = str(error)
        assert "\n" not in message and message.startswith(str(path)), message
        event(f"refused: {message.removeprefix(str(path))[:45]}")
        return None
    event("loaded and ran")
    short_run(scenario)
    return scenario


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    """A good parent scenario beside the fuzzed file, so that `extends = "parent"` resolves."""
    path = tmp_path / "parent.toml"
    path.write_text('name = "parent"\nend = 2018-06-30\n[parameters]\ninitial_stock = 2000\n', encoding="utf-8")
    return path


@fuzz(300)
@given(table=scenario_tables())
def test_a_structured_scenario_loads_and_runs_or_is_one_error_line(tmp_path: Path, parent: Path,
                                                                  table: dict[str, Any]) -> None:
    text = toml_document(table)
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    loads_and_runs_or_one_line(path)


@fuzz(100)
@given(data=st.one_of(st.binary(max_size=400), st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_raw_bytes_as_a_scenario_load_or_are_one_error_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "raw.toml"
    path.write_bytes(data)
    loads_and_runs_or_one_line(path)


@fuzz(100)
@given(table=scenario_tables(), junk=st.sampled_from(["", "=", "[", "[[events]]\n", "\x00", "name = 'x'\n", '"""']),
       where=st.floats(0, 1))
def test_a_corrupted_scenario_loads_or_is_one_error_line(tmp_path: Path, parent: Path, table: dict[str, Any],
                                                         junk: str, where: float) -> None:
    text = toml_document(table)
    cut = int(len(text) * where)
    path = tmp_path / "cut.toml"
    path.write_text(text[:cut] + junk + text[cut:], encoding="utf-8")
    loads_and_runs_or_one_line(path)


def test_extreme_sizes_are_refused_before_the_model_allocates_them(tmp_path: Path) -> None:
    """A typo such as one zero too many must be a message, not a machine out of memory."""
    for extra in ("[parameters]\ninitial_stock = 1e12\n",
                  "[parameters]\nfactory_size_median = 1e15\n",
                  '[[events]]\ntype = "dispatch"\ndate = 2017-06-01\ndestination = "Hunchun"\nsize = 10000000000\n'):
        path = tmp_path / "huge.toml"
        path.write_text('name = "huge"\nend = 2017-12-31\n' + extra, encoding="utf-8")
        with pytest.raises(InputError, match=r"huge.toml: .*key (initial_stock|factory_size_median|size): must be at most"):
            load_scenario(path)


# --- end to end: the command line, exit code 0 with outputs or 2 with one line --------------

def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.filterwarnings("ignore:Glyph")  # a fuzzed description in a script the plot's font lacks
@fuzz(20)
@given(table=scenario_tables())
def test_the_command_line_on_a_fuzzed_scenario_writes_outputs_or_one_error_line(
        tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str], table: dict[str, Any]) -> None:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "parent.toml").write_text('name = "parent"\nend = 2017-06-30\n', encoding="utf-8")
    table = {**table, "end": dt.date(2017, 6, 30)} if "end" not in table else table
    parameters = table.get("parameters", {})
    if isinstance(parameters, dict):  # keep the run small
        table["parameters"] = {**parameters, "initial_stock": 500}
    path = folder / "cli.toml"
    path.write_text(toml_document(table), encoding="utf-8")
    try:
        scenario = load_scenario(path)
    except InputError:
        scenario = None
    assume(scenario is None or (scenario.end <= dt.date(2020, 12, 31)
                                and scenario.parameters_for().initial_stock <= SMALL_STOCK))
    out = folder / "out"
    code, stdout, stderr = run_cli(["run", str(path), "--replicates", "1", "--jobs", "1", "--out", str(out),
                                    "--posterior", "none", "--quiet"], capsys)
    assert "Traceback" not in stderr
    if scenario is None:
        assert code == 2 and stderr.count("\n") == 1 and stderr.startswith(f"labor-stocks: error: {path}"), stderr
        assert not out.exists()
    else:
        assert code == 0, stderr
        assert {"projection.csv", "projection.png", "run.json"} <= {p.name for p in out.iterdir()}


# --- reports files through `labor-stocks reports check` -------------------------------------

GOOD_ROW = {
    "id": "dandong-test", "source": "000_d47c0a86e59b55df.txt", "published": "2024-11-13",
    "period_start": "2024-10-01", "period_end": "2024-10-31", "place": "Dandong", "kind": "outflow",
    "value": "4000", "low": "", "high": "", "unit": "workers", "confidence": "medium",
    "quote": "approximately 4,000 leaving in October alone", "notes": "",
}
REPORT_WORDS = st.one_of(
    st.sampled_from(["", "0", "200", "-1", "1e999", "nan", "inf", "4,000", "2024-11-13", "2024-02-30", "2024-1-1",
                     "Dandong", "Duman", "China", "overseas", "Dandong-Sinuiju", "stock", "inflow", "defections",
                     "workers", "workers_per_day", "high", "low", "\ufeff", "a,b", '"', "\r", "\n"]),
    st.text(max_size=10))


@st.composite
def ledgers(draw: st.DrawFn) -> bytes:
    """A ledger: a (maybe damaged) header and rows built from a good row with changed fields, or raw bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=600))
    header = list(REPORT_COLUMNS)
    if draw(st.integers(0, 5)) == 0:
        header = draw(st.permutations(header)) if draw(st.booleans()) else header[:draw(st.integers(0, 13))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    for number in range(draw(st.integers(0, 4))):
        row = {**GOOD_ROW, "id": f"row-{number}",
               **draw(st.dictionaries(st.sampled_from(REPORT_COLUMNS), REPORT_WORDS, max_size=3))}
        cells = [row[column] for column in REPORT_COLUMNS]
        if draw(st.integers(0, 6)) == 0:
            cells = cells[:draw(st.integers(0, 16))] + draw(st.lists(REPORT_WORDS, max_size=2))
        writer.writerow(cells)
    text = buffer.getvalue()
    if draw(st.integers(0, 5)) == 0:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(['"', "\x00", ",", "\n\n", "\ufeff"])) + text[cut:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, "replace")


@fuzz(200)
@given(data=ledgers())
def test_reports_check_on_any_ledger_says_valid_or_one_error_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    path = tmp_path / "reports.csv"
    path.write_bytes(data)
    code, stdout, stderr = run_cli(["reports", "check", str(path)], capsys)
    assert "Traceback" not in stderr
    if code == 0:
        assert stdout.endswith("all valid\n") and stdout.startswith(f"{path}: ") and stderr == ""
    else:
        assert code == 2 and stdout == "", stdout
        assert stderr.count("\n") == 1 and stderr.startswith(f"labor-stocks: error: {path}"), stderr


# --- posterior files through `labor-stocks run --posterior` ----------------------------------

POSTERIOR_CELLS = st.one_of(
    st.sampled_from(["", "0", "1", "0.5", "-1", "nan", "inf", "1e400", "2000", "1500.5", "many", "weight",
                     "initial_stock", "demand_growth", "team_size", "city_share", "colour", '"a\nb"', ",", '"']),
    st.text(max_size=6))


@st.composite
def posteriors(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 5)) == 3:
        return draw(st.binary(max_size=300))
    columns = ["weight", *draw(st.lists(often(st.sampled_from(["initial_stock", "demand_growth", "team_size",
                                                                "compliance", "scale"]), POSTERIOR_CELLS),
                                         max_size=3))]
    if draw(st.integers(0, 9)) == 5:
        columns = draw(st.permutations(columns))[1:]
    lines = [",".join(columns)]
    for _ in range(draw(st.integers(0, 3))):
        cells = [draw(often(st.sampled_from(["1", "0.5", "800", "0.02", "3"]), POSTERIOR_CELLS, odds=6))
                 for _ in columns]
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode("utf-8")


@fuzz(60)
@given(data=posteriors())
def test_run_with_any_posterior_file_writes_outputs_or_one_error_line(
        tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    folder = tmp_path_factory.mktemp("posterior")
    scenario = folder / "small.toml"
    scenario.write_text('name = "small"\nend = 2017-02-28\nreplicates = 1\n[parameters]\ninitial_stock = 500\n',
                        encoding="utf-8")
    posterior = folder / "posterior.csv"
    posterior.write_bytes(data)
    out = folder / "out"
    code, _, stderr = run_cli(["run", str(scenario), "--posterior", str(posterior), "--jobs", "1", "--out", str(out),
                               "--quiet"], capsys)
    assert "Traceback" not in stderr
    if code == 0:
        assert (out / "projection.csv").is_file()
    else:
        assert code == 2 and stderr.count("\n") == 1 and stderr.startswith(f"labor-stocks: error: {posterior}"), stderr
        assert not out.exists()

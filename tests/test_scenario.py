"""Scenario files: the format, `extends`, and one clear line (exit 2) for every bad input."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from labor_stocks.cli import main
from labor_stocks.errors import InputError
from labor_stocks.scenarios.history import HISTORY_START, load_history
from labor_stocks.scenarios.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))

TINY = """\
name = "tiny"
description = "A small test scenario."
end = 2019-12-31
replicates = 2
seed = 7
output_freq = "quarter"

[parameters]
initial_stock = 3000

[[events]]
type = "dispatch"
date = 2017-06-01
destination = "Hunchun"
size = 100
days = 5
note = "test"
"""


def top(extra: str) -> str:
    """TINY with `extra` lines among its top-level keys (before the first table)."""
    return TINY.replace("\n[parameters]", f"{extra}\n[parameters]")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- the shipped scenarios -----------------------------------------------------------------

def test_at_least_five_scenarios_are_shipped() -> None:
    names = {path.stem for path in SHIPPED}
    assert {"baseline", "border_reopening", "sanctions_enforcement", "defection_response"} <= names
    assert len(names) >= 5


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_loads_resolves_and_documents_its_events(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.description
    assert scenario.chain[0] == "model/scenarios/history.toml" and scenario.chain[-1] == str(path)
    assert len(scenario.events) >= len(load_history())
    assert all(event.note for event in scenario.own_events), "every scenario event names its source or assumption"
    assert path.read_text().lstrip().startswith("#"), "the file is commented for an analyst"
    if path.stem != "baseline":
        assert scenario.own_events, "a scenario adds its own future"
        assert scenario.chain[1].endswith("baseline.toml")


def test_shipped_scenarios_share_the_seed_so_they_are_paired() -> None:
    assert len({load_scenario(path).seed for path in SHIPPED}) == 1


# --- resolution of extends -------------------------------------------------------------------

def test_defaults_and_the_history_come_with_a_bare_scenario(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "bare.toml", 'name = "bare"\n'))
    assert (scenario.start, scenario.end) == (HISTORY_START, dt.date(2030, 12, 31))
    assert (scenario.replicates, scenario.seed, scenario.output_freq) == (20, 0, "month")
    assert scenario.events == tuple(load_history())
    assert scenario.own_events == ()


def test_child_overrides_keys_merges_parameters_and_appends_events(tmp_path: Path) -> None:
    write(tmp_path, "parent.toml", TINY.replace('name = "tiny"', 'name = "parent"')
          + '\n[parameters.province_share]\nLiaoning = 0.4\nJilin = 0.4\n')
    child = write(tmp_path, "child.toml", """\
name = "child"
extends = "parent"
replicates = 5
[parameters]
demand_growth = 0.0
[parameters.province_share]
Jilin = 0.5
[[events]]
type = "border"
date = 2017-03-01
crossing = "Tumen-Namyang"
status = "closed"
""")
    scenario = load_scenario(child)
    assert scenario.name == "child"
    assert scenario.replicates == 5 and scenario.seed == 7 and scenario.output_freq == "quarter"
    assert scenario.end == dt.date(2019, 12, 31)
    assert scenario.parameters == {"initial_stock": 3000, "demand_growth": 0.0,
                                   "province_share": {"Liaoning": 0.4, "Jilin": 0.5}}
    assert [e.type for e in scenario.own_events] == ["dispatch", "border"]  # parent first
    assert scenario.chain == ("model/scenarios/history.toml", str(tmp_path / "parent.toml"), str(child))
    params = scenario.parameters_for()
    assert params.initial_stock == 3000 and params.province_share["Heilongjiang"] == 0.05
    assert all(e.date <= scenario.end for e in scenario.events), "history after the end is not in the run"


@pytest.mark.parametrize("reference", ["parent", "parent.toml", "./parent.toml", "sub/../parent"])
def test_extends_accepts_a_name_or_a_relative_path(tmp_path: Path, reference: str) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path, "parent.toml", TINY)
    child = write(tmp_path, "child.toml", f'name = "child"\nextends = "{reference}"\n')
    assert load_scenario(child).replicates == 2


def test_as_dict_is_the_resolved_scenario_with_events_as_tables(tmp_path: Path) -> None:
    record = load_scenario(write(tmp_path, "tiny.toml", TINY)).as_dict()
    assert record["name"] == "tiny" and record["end"] == "2019-12-31" and record["parameters"] == {"initial_stock": 3000}
    assert {"type": "dispatch", "date": "2017-06-01", "destination": "Hunchun", "size": 100, "days": 5,
            "experienced_only": False, "note": "test"} in record["events"]


# --- bad input: one line naming the file and the key, exit code 2 ----------------------------

BAD_INPUTS = {
    "unknown key": (top('colour = "red"\n'), "bad.toml: unknown key 'colour' (known: name,"),
    "unknown key in parameters": (TINY.replace("initial_stock = 3000", "initial_stok = 3000"),
                                  "parameters: unknown key 'initial_stok'"),
    "wrong type": (TINY.replace("replicates = 2", 'replicates = "ten"'), "key replicates: must be a whole number"),
    "wrong parameter type": (TINY.replace("initial_stock = 3000", 'initial_stock = "many"'),
                             "parameters: key initial_stock: must be a number"),
    "bad date": (TINY.replace("end = 2019-12-31", 'end = "2019-02-30"'), "key end: not a date"),
    "bad date in TOML": (TINY.replace("end = 2019-12-31", "end = 2019-13-01"), "end = 2019-13-01"),
    "bad output_freq": (TINY.replace('"quarter"', '"fortnight"'), "key output_freq: 'fortnight' is not one of"),
    "unknown place": (TINY.replace('"Hunchun"', '"Pyongyang"'), "events[1]: key destination: unknown place 'Pyongyang'"),
    "unknown crossing": (TINY + '[[events]]\ntype = "border"\ndate = 2018-01-01\ncrossing = "Sinuiju-Dandong"\n'
                                'status = "open"\n', "events[2]: key crossing: unknown crossing 'Sinuiju-Dandong'"),
    "unknown event type": (TINY.replace('type = "dispatch"', 'type = "invasion"'), "events[1]: key type"),
    "event after the end": (TINY.replace("date = 2017-06-01", "date = 2020-06-01"),
                            "events[1]: key date: 2020-06-01 is outside the run (2017-01-01 to 2019-12-31)"),
    "event before the history": (TINY.replace("date = 2017-06-01", "date = 2016-06-01"),
                                 "events[1]: key date: 2016-06-01 is outside the run"),
    "start before the history": (top("start = 2016-01-01\n"), "key start: 2016-01-01 is before the start"),
    "end before start": (top("start = 2020-01-01\n"), "key end: the run ends (2019-12-31) before it starts (2020-01-01)"),
    "unknown parent": (top('extends = "nowhere"\n'), "key extends: no scenario file 'nowhere'"),
    "bad name": (TINY.replace('name = "tiny"', 'name = "../escape"'), "key name:"),
    "not TOML": ("name = tiny\n", "not valid TOML"),
    "no name": (TINY.replace('name = "tiny"\n', ""), "key name: missing"),
    "empty file": ("", "key name: missing"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=lambda c: c.replace(" ", "_"))
def test_bad_scenario_is_one_line_naming_file_and_key_with_exit_code_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    text, expected = BAD_INPUTS[case]
    path = write(tmp_path, "bad.toml", text)
    code, out, err = run_cli(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"labor-stocks: error: {path}")
    assert expected in err
    assert not (tmp_path / "out").exists()


def test_a_cycle_in_extends_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a.toml", 'name = "a"\nextends = "b"\n')
    write(tmp_path, "b.toml", 'name = "b"\nextends = "c.toml"\n')
    write(tmp_path, "c.toml", 'name = "c"\nextends = "a"\n')
    code, _, err = run_cli(["run", str(tmp_path / "a.toml")], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "key extends: a cycle (a.toml -> b.toml -> c.toml -> a.toml)" in err


def test_a_scenario_extending_itself_is_a_cycle(tmp_path: Path) -> None:
    path = write(tmp_path, "self.toml", 'name = "self"\nextends = "self"\n')
    with pytest.raises(InputError, match=r"self.toml: key extends: a cycle \(self.toml -> self.toml\)"):
        load_scenario(path)


def test_an_error_in_a_parent_names_the_parent(tmp_path: Path) -> None:
    write(tmp_path, "parent.toml", TINY.replace("replicates = 2", "replicates = 0"))
    child = write(tmp_path, "child.toml", 'name = "child"\nextends = "parent"\n')
    with pytest.raises(InputError, match=r"parent.toml: key replicates: must be at least 1"):
        load_scenario(child)


@pytest.mark.parametrize("args, expected", [
    (["run", "missing.toml"], "missing.toml: no such scenario file"),
    (["run", "."], ".: is a folder, not a scenario file"),
    (["run", "TINY", "--jobs", "0"], "argument --jobs: must be at least 1, got 0"),
    (["run", "TINY", "--jobs", "-2"], "argument --jobs: must be at least 1, got -2"),
    (["run", "TINY", "--replicates", "0"], "argument --replicates: must be at least 1, got 0"),
    (["run", "TINY", "--replicates", "many"], "argument --replicates: must be a whole number, got 'many'"),
    (["run", "TINY", "--seed", "-1"], "argument --seed: must be at least 0"),
    (["run", "TINY", "--colour", "red"], "unrecognized arguments: --colour red"),
    (["run"], "the following arguments are required: scenario"),
    (["run", "TINY", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "--jobs and --scheduler"),
    (["run", "TINY", "--posterior", "missing.csv"], "missing.csv: no such posterior file"),
    (["run", "TINY", "--out", "FILE"], "--out: "),
])
def test_bad_command_line_is_one_line_with_exit_code_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str) -> None:
    tiny = write(tmp_path, "tiny.toml", TINY)
    file = write(tmp_path, "a_file", "")
    args = [str(tiny) if a == "TINY" else str(file) if a == "FILE" else a for a in args]
    code, out, err = run_cli(args, capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert expected in err


def test_a_real_process_shows_no_traceback_for_a_bad_file(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", TINY.replace('"Hunchun"', '"Atlantis"'))
    done = subprocess.run([sys.executable, "-m", "labor_stocks", "run", str(path)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert done.stderr == f"labor-stocks: error: {path}: events[1]: key destination: unknown place 'Atlantis' " \
                          "(a city, a province or China)\n"
    assert done.stdout == ""
    assert not (tmp_path / "outputs").exists()


def test_a_scenario_file_with_a_byte_order_mark_is_read(tmp_path):
    """Windows editors start UTF-8 files with a byte-order mark; the ledger reader accepts it, so does this."""
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + 'name = "bom"\nend = 2017-06-30\n'.encode())
    assert load_scenario(path).name == "bom"


def test_an_order_with_no_priority_class_is_refused(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text('name = "empty"\n[[events]]\ntype = "repatriation_order"\ndate = 2025-01-01\n'
                    'places = ["Liaoning"]\nshare = 0.5\npriorities = []\n')
    with pytest.raises(InputError, match=r"empty.toml: events\[1\]: key priorities: an empty list would send nobody"):
        load_scenario(path)

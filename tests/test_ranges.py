"""Ranged assumptions: a field known only within bounds is drawn per replicate, reproducibly and paired."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from labor_stocks.cli import main
from labor_stocks.errors import InputError
from labor_stocks.ensemble.plan import replicate_seeds
from labor_stocks.scenarios.scenario import load_scenario

from .conftest import event

SCENARIO = """name = "{name}"
end = 2020-12-31
replicates = 8
seed = 4
output_freq = "month"
[parameters]
initial_stock = 3000
[[events]]
type = "enforcement"
id = "pressure"
date = {date}
province = "Liaoning"
level = 0.9
"""


def write(tmp_path, name, date, extends=None):
    text = SCENARIO.format(name=name, date=date)
    if extends:
        text = text.replace(f'name = "{name}"', f'name = "{name}"\nextends = "{extends}"').split("[[events]]")[0]
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def run(path, out, *options):
    assert main(["run", str(path), "--out", str(out), "--posterior", "none", "--quiet", *options]) == 0
    import pandas as pd

    return pd.read_csv(out / "projection.csv")


def band(table, date):
    row = table[(table.quantity == "stock") & (table.place == "Liaoning") & (table.date == date)].iloc[0]
    return row.p95 - row.p05


def test_a_ranged_date_widens_the_band_around_it(tmp_path):
    fixed = run(write(tmp_path, "fixed", "2018-06-15"), tmp_path / "fixed")
    ranged = run(write(tmp_path, "ranged", "{ earliest = 2018-01-01, latest = 2018-12-31 }"), tmp_path / "ranged")
    assert band(ranged, "2018-06-30") > 2 * band(fixed, "2018-06-30") + 10


def test_same_seed_same_bytes_with_ranges_in_one_or_two_processes(tmp_path):
    path = write(tmp_path, "ranged", "{ earliest = 2018-01-01, latest = 2018-12-31 }")
    digests = []
    for jobs in ("1", "2"):
        run(path, tmp_path / f"jobs{jobs}", "--jobs", jobs)
        digests.append(hashlib.sha256((tmp_path / f"jobs{jobs}" / "projection.csv").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    drawn = np.load(tmp_path / "jobs1" / "replicates.npz")
    fields = list(drawn["ranged_fields"])
    assert "pressure.date" in fields and "closure-2020.date" in fields  # the scenario's own and the history's
    assert len(set(drawn["ranged_values"][:, fields.index("pressure.date")])) > 1


def test_paired_replicates_of_two_scenarios_draw_the_same_value_for_a_shared_event(tmp_path):
    parent = load_scenario(write(tmp_path, "parent", "{ earliest = 2018-01-01, latest = 2018-12-31 }"))
    child_path = tmp_path / "child.toml"
    child_path.write_text('name = "child"\nextends = "parent"\n[[events]]\ntype = "relations"\ndate = 2019-01-01\n'
                          'level = "chilly"\n')
    child = load_scenario(child_path)
    shared = [e for e in child.events if e.id == "pressure"][0]
    mine = [e for e in parent.events if e.id == "pressure"][0]
    seeds = replicate_seeds(4, 6)
    assert [shared.drawn(s).date for s in seeds] == [mine.drawn(s).date for s in seeds]
    assert len({mine.drawn(s).date for s in seeds}) > 1  # and replicates differ from each other


@pytest.mark.parametrize("table, message", [
    ({"date": {"earliest": "2019-05-01", "latest": "2019-04-01"}}, r"key date: earliest \(2019-05-01\) is after latest"),
    ({"level": {"low": 0.9, "high": 0.5}}, r"key level: low \(0.9\) is above high \(0.5\)"),
    ({"level": {"low": 0.5, "high": 1.5}}, r"key level: must be between 0 and 1, got 1.5"),
    ({"province": {"low": 1, "high": 2}}, r"key province: a range makes no sense here"),
    ({"type": {"low": 1, "high": 2}}, r"key type: a range makes no sense here"),
    ({"level": {"low": 0.2, "high": 0.6, "distribution": "triangular"}}, r"key level.mode: a triangular range needs"),
    ({"level": {"low": 0.2, "high": 0.6, "distribution": "normal"}}, r"key level.distribution: 'normal' is not one of"),
])
def test_each_bad_range_gets_one_line_naming_the_event_and_key(table, message):
    base = {"type": "enforcement", "date": "2019-01-01", "province": "Liaoning", "level": 0.5}
    with pytest.raises(InputError, match=r"^test: " + message):
        event(**{**base, **table})


def test_a_range_outside_the_run_is_refused(tmp_path):
    path = write(tmp_path, "late", "{ earliest = 2020-06-01, latest = 2021-06-01 }")
    with pytest.raises(InputError, match=r"late.toml: events\[1\]: key date: 2021-06-01 is outside the run"):
        load_scenario(path)


def test_the_history_gives_its_vague_readings_as_ranges_with_reasons():
    from labor_stocks.scenarios.history import load_history

    ranged = [e for e in load_history() if e.ranges]
    assert len(ranged) >= 10
    assert all(e.id and "Range:" in e.note for e in ranged)

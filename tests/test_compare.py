"""`labor-stocks compare`: the table is the runs' own numbers, the difference view pairs replicates, errors are one line."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labor_stocks.cli import main
from labor_stocks.outputs.compare import compare
from labor_stocks.outputs.comparison_figure import SCENARIO_COLOURS, colours, scenario_colour
from labor_stocks.outputs.comparison_table import table_dates
from labor_stocks.outputs.pairing import difference_bands
from labor_stocks.outputs.run_folder import load_run
from labor_stocks.outputs.projection import PLACES, QUANTITIES, read_replicates

PLAIN = """\
name = "plain"
description = "A small test scenario: 3,000 workers, 2019-2020."
start = 2019-01-01
end = 2020-12-31
replicates = 4
seed = 5
output_freq = "month"

[parameters]
initial_stock = 3000
"""

RECALL = """\
name = "recall"
extends = "plain"

[[events]]
type = "repatriation_order"
date = 2019-06-01
places = ["China"]
share = 0.2
note = "test: a fifth of the workers recalled"
"""

EVENT_MONTH = "2019-06-30"
"""The period in which RECALL's event happens; every period before it is identical in both scenarios."""


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Four small runs, made once: two paired scenarios, one with another seed, one with another period."""
    folder = tmp_path_factory.mktemp("compare")
    (folder / "plain.toml").write_text(PLAIN, encoding="utf-8")
    (folder / "recall.toml").write_text(RECALL, encoding="utf-8")
    (folder / "quarterly.toml").write_text(PLAIN.replace('"month"', '"quarter"').replace('"plain"', '"quarterly"'),
                                           encoding="utf-8")
    made = {"folder": folder}
    for name, scenario, extra in (("plain", "plain.toml", []), ("recall", "recall.toml", []),
                                  ("reseeded", "plain.toml", ["--seed", "6"]),
                                  ("quarterly", "quarterly.toml", [])):
        out = folder / "outputs" / name
        assert main(["run", str(folder / scenario), "--out", str(out), "--jobs", "1", "--posterior", "none",
                     "--quiet", *extra]) == 0
        made[name] = out
    return made


def projection_row(run: Path, place: str, date: str, quantity: str = "stock") -> pd.Series:
    table = pd.read_csv(run / "projection.csv", keep_default_na=False)
    rows = table[(table.quantity == quantity) & (table.place == place) & (table.date == date)]
    assert len(rows) == 1
    return rows.iloc[0]


# --- what a run now writes -----------------------------------------------------------------

def test_a_run_writes_every_replicate_and_its_quantiles_are_the_projection(runs: dict[str, Path]) -> None:
    values = read_replicates(runs["plain"] / "replicates.npz")
    record = json.loads((runs["plain"] / "run.json").read_text())
    assert [int(s) for s in values.seeds] == record["replicate_seeds"]
    assert values.places == PLACES and values.dates[0] == dt.date(2019, 1, 31) and len(values.dates) == 24
    assert record["replicate_values"]["file"] == "replicates.npz"
    assert record["scenario"]["own_events"] == []
    table = pd.read_csv(runs["plain"] / "projection.csv", keep_default_na=False)
    for quantity in QUANTITIES:
        assert values.values[quantity].shape == (4, len(PLACES), 24)
        rows = table[(table.quantity == quantity) & (table.place == "Jilin")]
        assert np.allclose(np.median(values.values[quantity][:, 1, :], axis=0), rows["median"], atol=0.05)


# --- the table -----------------------------------------------------------------------------

def test_the_table_holds_each_runs_own_median_and_90_percent_interval(
        runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figures" / "comparison.png"
    code, stdout, err = cli(["compare", str(runs["plain"]), str(runs["recall"]), "--out", str(out),
                             "--at", "2019-03-15", "2020-12-31", "--quiet"], capsys)
    assert code == 0, err
    table = pd.read_csv(out.with_suffix(".csv"), keep_default_na=False)
    assert list(table.columns) == ["scenario", "run", "quantity", "place", "date", "median", "p05", "p95"]
    assert set(table.date) == {"2019-03-31", "2020-12-31"}, "a date becomes the period that holds it"
    assert set(table.place) == {"Liaoning", "Jilin", "Heilongjiang", "Other", "China"}
    assert len(table) == 2 * 5 * 2
    for row in table.itertuples():
        own = projection_row(runs[row.scenario], row.place, row.date)
        assert (row.median, row.p05, row.p95) == (own["median"], own["p05"], own["p95"])
    assert "plain" in stdout and "recall" in stdout and "2019-03-31" in stdout
    china = projection_row(runs["recall"], "China", "2020-12-31")
    assert f"{china['median']:,.0f} ({china['p05']:,.0f} to {china['p95']:,.0f})" in stdout

    png, svg = out, out.with_suffix(".svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert b"<svg" in svg.read_bytes()[:2000] and svg.stat().st_size > 20_000
    assert sorted(p.name for p in out.parent.iterdir()) == ["comparison.csv", "comparison.png", "comparison.svg"]


def test_the_default_dates_are_today_one_year_out_and_the_end(runs: dict[str, Path]) -> None:
    loaded = [load_run(runs["plain"]), load_run(runs["recall"])]
    assert table_dates(loaded, "stock", today=dt.date(2019, 5, 10)) == [
        dt.date(2019, 5, 31), dt.date(2020, 5, 31), dt.date(2020, 12, 31)]
    assert table_dates(loaded, "stock", today=dt.date(2026, 1, 1)) == [dt.date(2020, 12, 31)], "clipped and merged"
    assert table_dates(loaded, "stock", today=dt.date(2010, 1, 1))[0] == dt.date(2019, 1, 31)


# --- the difference view -------------------------------------------------------------------

def test_differences_are_taken_replicate_by_replicate(runs: dict[str, Path], tmp_path: Path) -> None:
    result = compare([runs["plain"], runs["recall"]], tmp_path / "difference.png", relative_to="plain",
                     at=[dt.date(2019, 5, 1), dt.date(2019, 9, 30), dt.date(2020, 12, 31)])
    plain = read_replicates(runs["plain"] / "replicates.npz")
    recall = read_replicates(runs["recall"] / "replicates.npz")
    china = PLACES.index("China")
    for row in result.table[result.table.scenario == "recall"].itertuples():
        t = plain.dates.index(dt.date.fromisoformat(row.date))
        p = PLACES.index(row.place)
        manual = recall.values["stock"][:, p, t] - plain.values["stock"][:, p, t]  # replicate i minus replicate i
        low, middle, high = np.quantile(manual.astype(float), (0.05, 0.5, 0.95))
        assert (row.difference_median, row.difference_p05, row.difference_p95) == pytest.approx((middle, low, high))
    base = result.table[result.table.scenario == "plain"]
    assert (base[["difference_median", "difference_p05", "difference_p95"]] == 0).all().all()
    written = pd.read_csv(tmp_path / "difference.csv", keep_default_na=False)
    assert list(written.columns[-4:]) == ["relative_to", "difference_median", "difference_p05", "difference_p95"]

    bands = difference_bands(*result.runs[::-1], "stock", ["China"]).set_index("date")
    before = bands.loc[:"2019-05-31"]
    assert (before[["p05", "median", "p95"]] == 0).all().all(), "same seeds: identical until the recall"
    assert (bands.loc[EVENT_MONTH:, "median"] < 0).all()
    # Pairing matters: the band of the paired differences is narrower than the one
    # quantiles alone allow (lowest of one minus highest of the other, and back).
    end = "2020-12-31"
    one, other = projection_row(runs["recall"], "China", end), projection_row(runs["plain"], "China", end)
    from_quantiles = (one["p95"] - other["p05"]) - (one["p05"] - other["p95"])
    paired = bands.loc[end, "p95"] - bands.loc[end, "p05"]
    assert paired < from_quantiles / 2
    shuffled = recall.values["stock"][::-1, china, -1] - plain.values["stock"][:, china, -1]
    assert np.ptp(shuffled) > np.ptp(recall.values["stock"][:, china, -1] - plain.values["stock"][:, china, -1])


def test_a_scenario_compared_with_itself_differs_by_exactly_zero(runs: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "again"
    shutil.copytree(runs["plain"], copy)
    result = compare([runs["plain"], copy], tmp_path / "self.png", relative_to=str(copy), at=[dt.date(2020, 6, 30)])
    assert [run.label for run in result.runs] == [f"plain ({runs['plain']})", f"plain ({copy})"]
    assert (result.table[["difference_median", "difference_p05", "difference_p95"]] == 0).all().all()
    assert (difference_bands(*result.runs, "inflow", PLACES)[["p05", "median", "p95"]] == 0).all().all()


def test_scenario_files_are_run_first_with_paired_seeds(
        runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    folder = runs["folder"]
    code, stdout, err = cli(["compare", str(folder / "plain.toml"), str(folder / "recall.toml"),
                             "--replicates", "2", "--jobs", "1", "--posterior", "none", "--relative-to", "plain",
                             "--quantity", "outflow", "--places", "China", "Jilin"], capsys)
    assert code == 0, err
    assert "running" in err and "outputs/plain/" in err
    for name in ("plain", "recall"):
        record = json.loads((tmp_path / "outputs" / name / "run.json").read_text())
        assert record["replicates"] == 2 and record["seed"] == 5
    assert (tmp_path / "outputs" / "comparison.png").stat().st_size > 0
    table = pd.read_csv(tmp_path / "outputs" / "comparison.csv", keep_default_na=False)
    assert set(table.place) == {"China", "Jilin"} and set(table.quantity) == {"outflow"}
    assert "difference from plain" in stdout


# --- colours -------------------------------------------------------------------------------

def test_a_scenario_keeps_its_colour_in_every_figure(runs: dict[str, Path]) -> None:
    assert scenario_colour("baseline") == SCENARIO_COLOURS["baseline"]
    assert scenario_colour("my_scenario") == scenario_colour("my_scenario")
    plain, recall = load_run(runs["plain"]), load_run(runs["recall"])
    assert colours([plain, recall])["plain"] == colours([recall, plain])["plain"] == scenario_colour("plain")
    assert len(set(colours([plain, recall]).values())) == 2


# --- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("arguments, expected", [
    (["{missing}"], "no such run folder or scenario file"),
    (["{folder}/notes.txt"], "neither a run folder (from labor-stocks run) nor a scenario file"),
    (["{folder}/empty"], "not a finished run folder: no run.json"),
    (["{folder}/half"], "not a finished run folder: no projection.csv"),
    (["{plain}", "--quantity", "workers"], "--quantity: unknown quantity 'workers'"),
    (["{plain}", "--places", "Pyongyang"], "--places: unknown place 'Pyongyang'"),
    (["{plain}", "{recall}", "--relative-to", "baseline"], "--relative-to: 'baseline' is not among the runs"),
    (["{plain}", "{reseeded}", "--relative-to", "{plain}"], "{reseeded} and {plain} are not paired: different seeds (6 and 5)"),
    (["{plain}", "{quarterly}"], "runs cannot be compared"),
    (["{plain}", "--at", "2024-01-01"], "--at 2024-01-01: outside the run"),
    (["{plain}", "--at", "soon"], "argument --at: not a date (YYYY-MM-DD): 'soon'"),
    (["{plain}", "--since", "2021-06-01"], "--since: 2021-06-01 is not before the end of the runs"),
    (["{plain}", "--out", "{out}/comparison.pdf"], "--out: {out}/comparison.pdf: give a .png file name"),
])
def test_runs_that_cannot_be_compared_are_one_line_and_exit_2(
        runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        arguments: list[str], expected: str) -> None:
    folder = runs["folder"]
    (folder / "notes.txt").write_text("not a run", encoding="utf-8")
    (folder / "empty").mkdir(exist_ok=True)
    (folder / "half").mkdir(exist_ok=True)
    (folder / "half" / "run.json").write_text("{}", encoding="utf-8")
    names = {"missing": str(folder / "missing"), "folder": str(folder), "out": str(tmp_path),
             **{name: str(path) for name, path in runs.items() if name != "folder"}}
    args = [argument.format(**names) for argument in arguments]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "comparison.png")]
    code, stdout, err = cli(["compare", *args, "--quiet"], capsys)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("labor-stocks: error: "), err
    assert expected.format(**names) in err
    assert not (tmp_path / "comparison.png").exists() and not (tmp_path / "comparison.csv").exists()

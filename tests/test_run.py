"""`labor-stocks run`: the projection table, run.json, the plot, determinism, atomic writes, posteriors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labor_stocks.outputs import run as run_module
from labor_stocks.cli import main
from labor_stocks.ensemble.runner import plan_replicates
from labor_stocks.ensemble.posterior import load_posterior
from labor_stocks.outputs.projection import COLUMNS, PLACES, QUANTITIES, periods
from labor_stocks.scenarios.scenario import load_scenario

from .test_scenario import SHIPPED, TINY, write

EXPECTED_HEADER = "scenario,quantity,place,date,mean,p05,p25,median,p75,p95"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`labor-stocks ARGS` in this process; one local process unless the test says otherwise (fast)."""
    if args[:1] == ["run"] and "--jobs" not in args and "--scheduler" not in args:
        args = [*args, "--jobs", "1"]
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write(tmp_path, "tiny.toml", TINY)


def test_run_writes_the_three_outputs_with_the_exact_columns(
        tmp_path: Path, tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result"
    code, stdout, stderr = run(["run", str(tiny), "--out", str(out), "--jobs", "1", "--posterior", "none"], capsys)
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["projection.csv", "projection.png", "replicates.npz", "run.json"]
    assert f"wrote {out}/" in stdout
    assert "posterior: none (default parameters)" in stderr
    assert "replicate/s" not in stderr and "it/s" not in stderr, "no progress bar when stderr is not a terminal"

    text = (out / "projection.csv").read_text()
    assert text.splitlines()[0] == EXPECTED_HEADER
    table = pd.read_csv(out / "projection.csv", keep_default_na=False)
    assert tuple(table.columns) == COLUMNS
    assert set(table.scenario) == {"tiny"}
    assert tuple(table.quantity.unique()) == QUANTITIES
    assert tuple(table.place.unique())[:5] == ("Liaoning", "Jilin", "Heilongjiang", "Other", "China")
    assert tuple(table.place.unique()) == PLACES
    quarters = ["2017-03-31", "2017-06-30", "2017-09-30", "2017-12-31",
                "2018-03-31", "2018-06-30", "2018-09-30", "2018-12-31",
                "2019-03-31", "2019-06-30", "2019-09-30", "2019-12-31"]
    assert list(table[(table.quantity == "stock") & (table.place == "China")].date) == quarters
    assert len(table) == len(QUANTITIES) * len(PLACES) * len(quarters)
    ordered = table[["mean", "p05", "p25", "median", "p75", "p95"]]
    assert (ordered["p05"] <= ordered["p25"]).all() and (ordered["p25"] <= ordered["median"]).all()
    assert (ordered["median"] <= ordered["p75"]).all() and (ordered["p75"] <= ordered["p95"]).all()
    assert (ordered >= 0).all().all()

    record = json.loads((out / "run.json").read_text())
    assert record["scenario"]["name"] == "tiny" and record["scenario"]["parameters"] == {"initial_stock": 3000}
    assert record["scenario"]["events"][0]["type"] == "dispatch"  # all events, the history's too
    assert len(record["scenario"]["events"]) > 1
    assert record["seed"] == 7 and record["replicates"] == 2
    assert record["posterior"]["used"] == "none (default parameters)"
    assert {"python", "labor-stocks", "numpy", "pandas", "mesa"} <= set(record["versions"])
    assert "git" in record and record["timings"]["total_seconds"] > 0
    assert (out / "projection.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stocks_are_at_the_period_end_and_flows_sum_over_it(tmp_path: Path, tiny: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """With one replicate every quantile is that replicate: the accounting identity holds per period."""
    out = tmp_path / "one"
    assert run(["run", str(tiny), "--out", str(out), "--replicates", "1", "--posterior", "none", "--quiet"],
               capsys)[0] == 0
    table = pd.read_csv(out / "projection.csv", keep_default_na=False)
    assert (table["mean"] == table["median"]).all() and (table["p05"] == table["p95"]).all()
    wide = table.pivot_table(index=["place", "date"], columns="quantity", values="median")
    for place in PLACES:
        rows = wide.loc[place]
        change = rows["stock"].diff().iloc[1:]
        net = (rows["inflow"] - rows["outflow"] - rows["defections"]).iloc[1:]
        assert np.allclose(change, net), place
    china = wide.loc["China"]
    provinces = sum(wide.loc[p] for p in ("Liaoning", "Jilin", "Heilongjiang", "Other"))
    assert np.allclose(china, provinces)


def test_the_scenario_start_trims_the_outputs_and_cuts_a_partial_first_period(tmp_path: Path) -> None:
    folded = periods(pd.Timestamp("2017-01-01").date(), pd.Timestamp("2018-02-10").date(),
                     pd.Timestamp("2018-05-05").date(), "month")
    assert [d.isoformat() for d in folded.dates] == ["2018-02-28", "2018-03-31", "2018-04-30", "2018-05-05"]
    assert folded.days.tolist() == [19, 31, 30, 5]
    assert folded.first == 405


def test_same_seed_gives_identical_bytes_with_one_or_two_processes(
        tmp_path: Path, tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        code, _, err = run(["run", str(tiny), "--out", str(out), "--replicates", "4", "--jobs", jobs,
                            "--posterior", "none", "--quiet"], capsys)
        assert code == 0, err
        outputs.append((out / "projection.csv").read_bytes())
    assert outputs[0] == outputs[1]
    other = tmp_path / "seed8"
    run(["run", str(tiny), "--out", str(other), "--replicates", "4", "--seed", "8", "--posterior", "none",
         "--quiet"], capsys)
    assert (other / "projection.csv").read_bytes() != outputs[0]


@pytest.mark.slow
def test_same_seed_gives_identical_bytes_on_a_dask_cluster(
        tmp_path: Path, tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from distributed import LocalCluster

    local = tmp_path / "local"
    assert run(["run", str(tiny), "--out", str(local), "--replicates", "4", "--jobs", "1", "--posterior", "none",
                "--quiet"], capsys)[0] == 0
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        remote = tmp_path / "dask"
        code, _, err = run(["run", str(tiny), "--out", str(remote), "--replicates", "4",
                            "--scheduler", cluster.scheduler_address, "--posterior", "none", "--quiet"], capsys)
    assert code == 0, err
    assert (remote / "projection.csv").read_bytes() == (local / "projection.csv").read_bytes()
    assert json.loads((remote / "run.json").read_text())["execution"]["scheduler"].startswith("tcp://")


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path, tiny: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABOR_STOCKS_DASK_TIMEOUT", "1s")
    code, _, err = run(["run", str(tiny), "--out", str(tmp_path / "x"), "--scheduler", "tcp://127.0.0.1:9",
                        "--posterior", "none", "--quiet"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "--scheduler: cannot reach a Dask scheduler at 'tcp://127.0.0.1:9'" in err
    assert not (tmp_path / "x").exists()


# --- atomic write ----------------------------------------------------------------------------

def test_a_failure_while_writing_leaves_the_earlier_result_intact_and_no_temporary_folder(
        tmp_path: Path, tiny: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "outputs" / "tiny"
    assert run(["run", str(tiny), "--out", str(out), "--posterior", "none", "--quiet"], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken_plot(*args, **kwargs):
        raise RuntimeError("disk full while drawing")

    monkeypatch.setattr(run_module, "plot_projection", broken_plot)
    with pytest.raises(RuntimeError, match="disk full"):
        main(["run", str(tiny), "--out", str(out), "--seed", "99", "--posterior", "none", "--quiet"])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in (tmp_path / "outputs").iterdir()] == ["tiny"], "no temporary folder is left"


def test_an_interrupt_while_writing_leaves_no_half_written_folder(
        tmp_path: Path, tiny: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(table, path):
        Path(path).write_text("scenario,quan")  # half a file, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "write_projection", interrupted)
    out = tmp_path / "outputs" / "tiny"
    code, _, err = run(["run", str(tiny), "--out", str(out), "--posterior", "none", "--quiet"], capsys)
    assert code == 130 and "interrupted" in err
    assert list((tmp_path / "outputs").iterdir()) == []


def test_a_new_result_replaces_the_earlier_one(tmp_path: Path, tiny: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result"
    run(["run", str(tiny), "--out", str(out), "--posterior", "none", "--quiet"], capsys)
    first = (out / "projection.csv").read_bytes()
    assert run(["run", str(tiny), "--out", str(out), "--seed", "3", "--posterior", "none", "--quiet"], capsys)[0] == 0
    assert (out / "projection.csv").read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result", "tiny.toml"]


def test_sigterm_during_a_run_exits_143_and_keeps_the_earlier_result(tmp_path: Path) -> None:
    scenario = write(tmp_path, "long.toml", 'name = "long"\nreplicates = 200\nend = 2030-12-31\n')
    out = tmp_path / "outputs" / "long"
    out.mkdir(parents=True)
    (out / "projection.csv").write_text(EXPECTED_HEADER + "\nearlier result\n")
    process = subprocess.Popen([sys.executable, "-m", "labor_stocks", "run", str(scenario), "--jobs", "2",
                                "--posterior", "none", "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert (out / "projection.csv").read_text() == EXPECTED_HEADER + "\nearlier result\n"
    assert [p.name for p in (tmp_path / "outputs").iterdir()] == ["long"]


# --- posterior -------------------------------------------------------------------------------

def write_posterior(folder: Path) -> Path:
    return write(folder, "posterior.csv", "weight,initial_stock,demand_growth\n1.0,2000,0.01\n0,9000,0.05\n")


def test_a_posterior_is_drawn_from_and_the_scenario_parameters_win(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    posterior = write_posterior(tmp_path)
    plain = write(tmp_path, "plain.toml", 'name = "plain"\nend = 2017-03-31\nreplicates = 2\n')
    out = tmp_path / "drawn"
    code, _, err = run(["run", str(plain), "--out", str(out), "--posterior", str(posterior), "--quiet"], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "projection.csv", keep_default_na=False)
    first = table[(table.quantity == "stock") & (table.place == "China")].iloc[0]
    assert 1500 < first["median"] < 2500, "the only particle with weight has 2,000 workers"
    record = json.loads((out / "run.json").read_text())
    assert record["posterior"]["used"] == f"{posterior} (2 particles)"
    assert [draw["initial_stock"] for draw in record["posterior"]["drawn"]] == [2000, 2000]

    pinned = write(tmp_path, "pinned.toml", 'name = "pinned"\nend = 2017-03-31\nreplicates = 2\n'
                                            '[parameters]\ninitial_stock = 3000\n')
    run(["run", str(pinned), "--out", str(tmp_path / "pinned"), "--posterior", str(posterior), "--quiet"], capsys)
    table = pd.read_csv(tmp_path / "pinned" / "projection.csv", keep_default_na=False)
    first = table[(table.quantity == "stock") & (table.place == "China")].iloc[0]
    assert 2500 < first["median"] < 3500, "the scenario's own assumption wins over the posterior"


def test_the_default_posterior_is_used_when_present_and_said_when_absent(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    plain = write(tmp_path, "plain.toml", 'name = "plain"\nend = 2017-01-31\nreplicates = 1\n')
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["run", str(plain)], capsys)
    assert code == 0 and "posterior: none (default parameters)" in err
    assert (tmp_path / "outputs" / "plain" / "projection.csv").exists()
    (tmp_path / "calibration").mkdir()
    write_posterior(tmp_path / "calibration")
    code, _, err = run(["run", str(plain)], capsys)
    assert code == 0 and "posterior: calibration/posterior.csv (2 particles)" in err
    record = json.loads((tmp_path / "outputs" / "plain" / "run.json").read_text())
    assert record["posterior"]["file"] == "calibration/posterior.csv"


def test_replicate_i_gets_the_same_seed_and_draw_whatever_the_scenario_or_ensemble_size(tmp_path: Path) -> None:
    rows = "\n".join(f"{w},{1000 + 100 * i}" for i, w in enumerate([1, 2, 3, 4, 5, 6, 7, 8]))
    posterior = load_posterior(write(tmp_path, "many.csv", "weight,initial_stock\n" + rows + "\n"))
    one = load_scenario(write(tmp_path, "tiny.toml", TINY))
    other = load_scenario(SHIPPED[0])
    small = plan_replicates(one, 5, 11, posterior)
    large = plan_replicates(other, 20, 11, posterior)
    assert [(p.seed, p.drawn) for p in small] == [(p.seed, p.drawn) for p in large[:5]]
    assert len({p.drawn["initial_stock"] for p in large}) > 1
    assert [p.params.initial_stock for p in small] == [3000] * 5, "the scenario's own value wins"
    assert [p.params.initial_stock for p in large[:5]] == [p.drawn["initial_stock"] for p in large[:5]]
    assert len({p.seed for p in large}) == 20


@pytest.mark.parametrize("text, expected", [
    ("initial_stock\n1000\n", "column weight: missing"),
    ("weight,initial_stok\n1,1000\n", "column initial_stok: not a parameter of the model"),
    ("weight,initial_stock\n1,many\n", "row 1, column initial_stock: not a number"),
    ("weight,initial_stock\n-1,1000\n", "column weight: weights must be non-negative"),
    ("weight,initial_stock\n", "no particles"),
])
def test_a_bad_posterior_is_one_line(tmp_path: Path, tiny: Path, capsys: pytest.CaptureFixture[str],
                                     text: str, expected: str) -> None:
    posterior = write(tmp_path, "bad.csv", text)
    code, _, err = run(["run", str(tiny), "--posterior", str(posterior), "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"{posterior}: {expected}" in err


# --- reports subcommands ---------------------------------------------------------------------

def test_reports_check_and_add(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "reports.csv"
    add = ["reports", "add", "--file", str(ledger), "--id", "hunchun-aug-2024", "--source", "003.txt",
           "--published", "2024-09-16", "--period-start", "2024-08-28", "--period-end", "2024-08-29",
           "--place", "Hunchun", "--kind", "inflow", "--value", "500", "--unit", "workers",
           "--confidence", "medium", "--quote", "North Korea has dispatched 500 workers"]
    code, _, err = run(add, capsys)
    assert code == 2 and "no such ledger; give --create" in err and not ledger.exists()
    code, out, err = run([*add, "--create"], capsys)
    assert code == 0, err
    assert f"added report hunchun-aug-2024 to {ledger}" in out
    code, out, _ = run(["reports", "check", str(ledger)], capsys)
    assert code == 0 and "1 reports, all valid" in out
    before = ledger.read_bytes()
    code, _, err = run(add, capsys)
    assert code == 2 and "duplicate id" in err and err.count("\n") == 1
    assert ledger.read_bytes() == before
    code, _, err = run(["reports", "check", str(tmp_path / "missing.csv")], capsys)
    assert code == 2 and "missing.csv: cannot read the file" in err


# --- every shipped scenario runs -----------------------------------------------------------------

@pytest.mark.slow
def test_every_shipped_scenario_runs_from_the_command_line(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    for path in SHIPPED:
        out = tmp_path / path.stem
        code, _, err = run(["run", str(path), "--out", str(out), "--replicates", "2", "--jobs", "2",
                            "--posterior", "none", "--quiet"], capsys)
        assert code == 0, err
        table = pd.read_csv(out / "projection.csv", keep_default_na=False)
        assert table.date.max() == "2030-12-31" and table.date.min() == "2019-01-31"
        china = table[(table.quantity == "stock") & (table.place == "China")]
        assert (china["median"] > 0).all(), path.stem
    assert sorted(os.listdir(tmp_path)) == sorted(p.stem for p in SHIPPED), "no temporary folder is left"

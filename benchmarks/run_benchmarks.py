"""Benchmarks: every figure of SPEC's "Performance" section, each beside its target.

Run from the repository's root (the README's "Performance" section shows the output):

    python benchmarks/run_benchmarks.py          # the full set, about 15 minutes on 2 cores
    python benchmarks/run_benchmarks.py --quick  # fewer repeats, replicates and sizes, about 1 minute

It prints the machine; one full-scale replicate of the baseline scenario (wall time,
agent-days per second, peak memory); the per-agent Mesa implementation (`per_agent.py`)
against `LaborModel` on the comparison case, timed in this same run, and their ratio; 100
replicates with `--jobs 2` through the command line (wall time, peak memory of the whole
process tree); the calibration's simulations per second on 2 cores; and how wall time grows
with the number of workers and of days. Every target line ends with MET or NOT MET.

Timings are wall-clock medians; on a shared machine other processes slow them down, so the
load average is printed with the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `benchmarks.per_agent` and `model` when run as a script

import mesa  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402

from benchmarks.per_agent import CASE_END, CASE_START, case_events, case_parameters, PerAgentModel  # noqa: E402
from labor_stocks.scenarios.history import HISTORY_START  # noqa: E402
from labor_stocks.world.parameters import with_overrides  # noqa: E402
from labor_stocks.scenarios.scenario import load_scenario  # noqa: E402
from labor_stocks.world.sim import LaborModel  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.toml"
MB = 1024 * 1024


# --- reporting --------------------------------------------------------------------------
def heading(text: str) -> None:
    print(f"\n## {text}")


def figure(name: str, value: str) -> None:
    print(f"  {name:<52} {value}")


def target(name: str, value: float, unit: str, limit: float, at_most: bool, verdicts: dict[str, bool]) -> None:
    """One figure beside its target, with MET or NOT MET (kept for the summary)."""
    met = value <= limit if at_most else value >= limit
    verdicts[name] = met
    bound = "<=" if at_most else ">="
    print(f"  {name:<52} {value:>10.3g} {unit:<14} target {bound} {limit:g} {unit:<8} {'MET' if met else 'NOT MET'}")


def median_time(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and best wall time of `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), min(times)


def _footprint(process: psutil.Process) -> tuple[int, int]:
    """Resident and proportional (PSS) memory of one process, in bytes.

    PSS splits pages shared between processes (a forked worker shares the parent's imports)
    among them, so summed over a process tree it counts each page once; RSS counts shared
    pages in every process that maps them. PSS falls back to RSS where the system has none.
    """
    try:
        info = process.memory_full_info()
        return info.rss, getattr(info, "pss", info.rss)
    except psutil.AccessDenied:
        rss = process.memory_info().rss
        return rss, rss


def run_measured(command: list[str]) -> tuple[float, dict[str, float], subprocess.CompletedProcess]:
    """Run a command; its wall time and the peak memory of its whole process tree.

    The tree (the command and the worker processes it starts) is sampled every 20 ms; the
    peaks returned are of the sums over its processes of RSS and of PSS, in bytes, and the
    largest single process's RSS.
    """
    peaks = {"rss": 0.0, "pss": 0.0, "largest": 0.0}
    began = time.perf_counter()
    process = psutil.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()
    output: dict[str, str] = {}

    def collect() -> None:
        output["out"], output["err"] = process.communicate()
        done.set()

    threading.Thread(target=collect, daemon=True).start()
    while not done.is_set():
        try:
            sizes = [_footprint(p) for p in [process] + process.children(recursive=True)]
            peaks["rss"] = max(peaks["rss"], sum(rss for rss, _ in sizes))
            peaks["pss"] = max(peaks["pss"], sum(pss for _, pss in sizes))
            peaks["largest"] = max([peaks["largest"]] + [rss for rss, _ in sizes])
        except psutil.Error:
            pass  # a worker ended between listing and reading
        done.wait(0.02)
    seconds = time.perf_counter() - began
    result = subprocess.CompletedProcess(command, process.returncode, output.get("out", ""), output.get("err", ""))
    return seconds, peaks, result


# --- the machine ------------------------------------------------------------------------
def machine() -> None:
    heading("Machine")
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    figure("CPU", cpu)
    figure("cores available", str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()))
    figure("memory", f"{psutil.virtual_memory().total / 1024**3:.0f} GB")
    figure("load average (1, 5, 15 min) at start", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    figure("Python / numpy / mesa", f"{platform.python_version()} / {np.__version__} / {mesa.__version__}")


# --- one full-scale replicate -------------------------------------------------------------
def baseline_model(seed: int, **overrides: float) -> LaborModel:
    """The baseline scenario's model, every worker an agent (scale 1), from 2017 to its end."""
    scenario = load_scenario(BASELINE)
    params = scenario.parameters_for(with_overrides(overrides) if overrides else None)
    return LaborModel(params, [event.drawn(seed) for event in scenario.events], HISTORY_START, scenario.end, seed)


def one_replicate(repeats: int, verdicts: dict[str, bool]) -> float:
    heading("One full-scale replicate: baseline scenario, 2017-2030, every worker an agent")
    models: list[LaborModel] = []

    def run() -> None:
        models.append(baseline_model(seed=len(models) + 1).run())

    median, best = median_time(run, repeats)
    model = models[-1]
    agent_days = int(model.records.data["stock"].sum())  # agents present, summed over the days
    figure("workers on the first day / worker rows at the end",
           f"{int(model.records.initial_stock.sum()):,} / {model.workers.n:,}")
    figure("days simulated", f"{model.days:,}")
    figure(f"wall time, median (best) of {repeats}", f"{median:.3f} s ({best:.3f} s)")
    target("one replicate, wall time", median, "s", 1.0, True, verdicts)
    figure("agent-days per second", f"{agent_days / median:,.0f}  ({agent_days:,} agent-days)")
    code = ("import resource, sys; sys.path.insert(0, sys.argv[1]);"
            "from benchmarks.run_benchmarks import baseline_model; baseline_model(1).run();"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    result = subprocess.run([sys.executable, "-c", code, str(ROOT)], cwd=ROOT, capture_output=True, text=True, check=True)
    figure("peak memory of a process running it (max RSS)", f"{int(result.stdout.split()[-1]) / 1024:.0f} MB")
    return median


# --- against the cost of touching every worker every day -------------------------------------
def bernoulli_kernel(workers: int = 100_000, days: int = 5_113) -> float:
    """Seconds for one Bernoulli draw per worker per day in plain numpy: the cost of touching everyone daily."""
    rng = np.random.default_rng(0)
    alive = np.ones(workers, dtype=bool)
    began = time.perf_counter()
    for _ in range(days):
        alive &= rng.random(workers) >= 1e-5
    return time.perf_counter() - began


def against_kernel(replicate_seconds: float, verdicts: dict[str, bool]) -> None:
    heading("One replicate against a numpy kernel of one Bernoulli draw per worker per day")
    kernel = min(bernoulli_kernel() for _ in range(2))
    figure("kernel: 100,000 workers x 5,113 days, best of 2", f"{kernel:.3f} s")
    target("one replicate / kernel", replicate_seconds / kernel, "x", 0.2, True, verdicts)
    quiet = with_overrides({"initial_stock": 10, "unfit_rate_per_year": 0.0, "defection_base_rate": 0.0,
                            "factory_size_median": 10, "document_rate": 0.0, "rotation_years": 100.0})
    days = 5113
    began = time.perf_counter()
    LaborModel(quiet, [], HISTORY_START, HISTORY_START + dt.timedelta(days=days - 1), 1).run()
    per_day = (time.perf_counter() - began) / days
    target("fixed cost of a day on which nothing happens", per_day * 1e6, "us", 10, True, verdicts)


# --- against the per-agent implementation --------------------------------------------------
def per_agent(workers: int, agent_repeats: int, verdicts: dict[str, bool]) -> None:
    heading(f"Per-agent Mesa implementation against LaborModel: Liaoning, {workers:,} workers, 2017")
    print("  the case: rotation, sickness, defections (alone, teams, confinement, response), a repatriation")
    print("  order through a crossing of limited capacity, replacements, a dispatch wave, factory closures")
    params, events = case_parameters(workers), case_events(workers)
    columnar, _ = median_time(lambda: LaborModel(params, events, CASE_START, CASE_END, 1).run(), 15)
    agents, _ = median_time(lambda: PerAgentModel(params, events, CASE_START, CASE_END, 1).run(), agent_repeats)
    figure(f"per-agent (workers as mesa.Agents, shuffle_do), median of {agent_repeats}", f"{agents:.3f} s")
    figure("LaborModel (columnar, sampled event times), median of 15", f"{columnar:.4f} s")
    target("speed-up over the per-agent implementation", agents / columnar, "x", 100, False, verdicts)
    per_day = agents / ((CASE_END - CASE_START).days + 1) / workers
    figure("per-agent, projected to the full baseline", f"about {per_day * 60_000 * 5113:,.0f} s "
           "(60,000 workers, 5,113 days)")


def per_agent_full(verdicts: dict[str, bool]) -> None:
    """The comparison case at the size of the baseline: 60,000 workers, 2017-2030, each model once."""
    workers, end = 60_000, dt.date(2030, 12, 31)
    heading(f"Per-agent Mesa implementation against LaborModel: the case at full size, {workers:,} workers, "
            f"{CASE_START.year}-{end.year}")
    print("  the per-agent model lacks the dispatch pipeline and most event types, so the baseline scenario")
    print("  itself cannot run there; this is the comparison case's rules and events over the baseline's size and span")
    params, events = case_parameters(workers), case_events(workers)
    columnar, _ = median_time(lambda: LaborModel(params, events, CASE_START, end, 1).run(), 3)
    agents, _ = median_time(lambda: PerAgentModel(params, events, CASE_START, end, 1).run(), 1)
    figure("per-agent, one run", f"{agents:.1f} s")
    figure("LaborModel, median of 3", f"{columnar:.3f} s")
    figure("speed-up over the per-agent implementation, full size", f"{agents / columnar:.0f} x")


# --- an ensemble through the command line ---------------------------------------------------
def ensemble(replicates: int, verdicts: dict[str, bool]) -> None:
    heading(f"labor-stocks run scenarios/baseline.toml --replicates {replicates} --jobs 2")
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "labor_stocks", "run", str(BASELINE), "--replicates", str(replicates),
                   "--jobs", "2", "--out", str(Path(folder) / "baseline"), "--quiet"]
        seconds, peaks, result = run_measured(command)
    if result.returncode != 0:
        figure("FAILED", result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}")
        verdicts[f"{replicates} replicates, wall time"] = False
        return
    figure("output", result.stdout.strip().splitlines()[-1])
    target(f"{replicates} replicates with 2 jobs, wall time", seconds, "s", 60.0 * replicates / 100, True, verdicts)
    target(f"{replicates} replicates with 2 jobs, peak memory (PSS)", peaks["pss"] / MB, "MB", 1024, True, verdicts)
    figure("peak memory, summed RSS (counts shared pages twice)", f"{peaks['rss'] / MB:.0f} MB")
    figure("largest single process (RSS)", f"{peaks['largest'] / MB:.0f} MB")


# --- calibration ------------------------------------------------------------------------------
def calibration(population: int, verdicts: dict[str, bool]) -> None:
    """The library's own calibration (pyabc, its SQLite history, 2 processes) at the default scale."""
    from labor_stocks.calibration.abc import CALIBRATION_SCALE, DEFAULT_GENERATIONS, DEFAULT_POPULATION, calibrate
    from labor_stocks.calibration.priors import load_priors
    from labor_stocks.calibration.reports import load_reports

    scale = "full scale" if CALIBRATION_SCALE == 1 else f"one agent per {CALIBRATION_SCALE} workers"
    heading(f"Calibration: simulations per second on 2 cores, {scale} (the default)")
    print(f"  labor_stocks.calibration.abc.calibrate, as `labor-stocks calibrate --jobs 2` runs it: population "
          f"{population}, 2 generations,")
    print("  the committed reports and priors; pyabc's own work (sampling, kernels, SQLite) included")
    reports = load_reports(ROOT / "calibration" / "reports.csv")
    priors = load_priors(ROOT / "calibration" / "priors.toml")
    with tempfile.TemporaryDirectory() as folder:
        np.random.seed(1)
        result = calibrate(reports, priors, Path(folder) / "calibration.db", population=population, generations=2,
                           jobs=2, scale=CALIBRATION_SCALE)
    rate = result.simulations / result.seconds
    figure(f"{result.simulations} simulations in", f"{result.seconds:.1f} s")
    target("calibration simulations per second (2 cores)", rate, "per s", 5000 / 600, False, verdicts)
    figure("time for 5,000 simulations, projected", f"{5000 / rate / 60:.1f} min (target <= 10 min)")
    figure("default calibration", f"population {DEFAULT_POPULATION}, up to {DEFAULT_GENERATIONS} generations, "
           f"{scale}")


# --- how cost grows -----------------------------------------------------------------------------
def scaling(stocks: list[int], years: list[int], repeats: int) -> None:
    heading("How wall time grows: baseline scenario, one replicate")
    print(f"  {'workers on 2017-01-01':>22} {'worker rows':>12} {'wall time (s)':>14} {'agent-days/s':>14}")
    for stock in stocks:
        models: list[LaborModel] = []
        median, _ = median_time(lambda: models.append(baseline_model(1, initial_stock=stock).run()), repeats)
        model = models[-1]
        rate = model.records.data["stock"].sum() / median
        print(f"  {stock:>22,} {model.workers.n:>12,} {median:>14.3f} {rate:>14,.0f}")
    print(f"\n  {'years from 2017':>22} {'days':>12} {'wall time (s)':>14}")
    for count in years:
        end = dt.date(2017 + count - 1, 12, 31)
        scenario = load_scenario(BASELINE)
        params = scenario.parameters_for()
        events = [event.drawn(1) for event in scenario.events]
        median, _ = median_time(lambda: LaborModel(params, events, HISTORY_START, end, 1).run(), repeats)
        print(f"  {count:>22} {(end - HISTORY_START).days + 1:>12,} {median:>14.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, replicates and sizes (about a minute)")
    args = parser.parse_args(argv)
    quick = args.quick
    verdicts: dict[str, bool] = {}
    began = time.perf_counter()
    print("# labor-stocks benchmarks" + (" (--quick)" if quick else ""))
    machine()
    replicate_seconds = one_replicate(3 if quick else 7, verdicts)
    against_kernel(replicate_seconds, verdicts)
    per_agent(10_000, 1 if quick else 3, verdicts)
    if not quick:
        per_agent_full(verdicts)
    ensemble(20 if quick else 100, verdicts)
    calibration(24 if quick else 100, verdicts)
    scaling([10_000, 30_000, 100_000] if quick else [10_000, 30_000, 100_000, 300_000, 1_000_000],
            [1, 3, 7, 14], 1 if quick else 3)
    heading("Targets")
    for name, met in verdicts.items():
        print(f"  {name:<52} {'MET' if met else 'NOT MET'}")
    print(f"\n  benchmarks took {time.perf_counter() - began:.0f} s")
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

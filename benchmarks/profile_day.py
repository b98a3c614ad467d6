"""Where a full-scale replicate spends its time: each part of the day (sim.py's order), summed over the run.

Run from the repository's root:

    python benchmarks/profile_day.py                      # the baseline scenario, default parameters
    python benchmarks/profile_day.py --posterior 5        # ... with the first 5 particles of calibration/posterior.csv

Each part of `LaborModel._advance` is timed by wrapping it on the model instance (a
perf_counter pair per call, about 0.2 microseconds), so the shares add up to the run's time
with the loop itself and the records as the remainder. The README's Performance section shows
the table before and after this round's changes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.run_benchmarks import baseline_model  # noqa: E402

PARTS = {
    "the month's turn: dissatisfaction, defection clocks, troublemakers, rotation, swaps, closures": ("model", "_monthly"),
    "falling sick (and queueing)": ("model", "_health"),
    "defection attempts (and departures, responses)": ("model", "_defection_attempts"),
    "repatriation: queues to crossings, departures": ("north_korea", "send_home"),
    "dispatch: replacements, the pipeline's groups, arrivals": ("north_korea", "dispatch"),
}


def timed(owner: Any, name: str, totals: Counter, label: str) -> None:
    """Replace `owner.name` by a version that adds its wall time to `totals[label]`."""
    inner: Callable = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - began

    setattr(owner, name, wrapper)


def profile(overrides: dict[str, float], seed: int) -> tuple[float, Counter]:
    model = baseline_model(seed, **overrides)
    totals: Counter = Counter()
    for label, (where, name) in PARTS.items():
        timed(model if where == "model" else model.north_korea, name, totals, label)
    began = time.perf_counter()
    model.run()
    return time.perf_counter() - began, totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posterior", type=int, default=0, metavar="N",
                        help="use the first N particles of calibration/posterior.csv (default: the model's defaults)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per parameter set (default 3)")
    args = parser.parse_args(argv)
    sets: list[dict[str, float]] = [{}]
    if args.posterior:
        import pandas as pd

        from labor_stocks.ensemble.posterior import integer_safe

        table = pd.read_csv(ROOT / "calibration" / "posterior.csv")
        columns = [c for c in table.columns if c != "weight" and "." not in c]
        sets = [integer_safe({c: float(row[c]) for c in columns}) for _, row in table.head(args.posterior).iterrows()]
    profile(sets[0], 99)  # imports and caches warm
    seconds: list[float] = []
    totals: Counter = Counter()
    for overrides in sets:
        for seed in range(1, args.repeats + 1):
            wall, parts = profile(overrides, seed)
            seconds.append(wall)
            totals.update(parts)
    whole = sum(seconds)
    print(f"{len(seconds)} full-scale replicates of the baseline, 2017-2030: median {statistics.median(seconds):.3f} s")
    print(f"{'part of the day':<96} {'share':>6}")
    for label in PARTS:
        print(f"{label:<96} {totals[label] / whole:>6.0%}")
    print(f"{'the loop, events and the records (the rest)':<96} {1 - sum(totals.values()) / whole:>6.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Regression baseline: the baseline scenario's yearly projection at a fixed seed, stored in
`tests/baseline_summary.json`; any change to what the model says fails this test.

A change can be intended (a corrected rule, a new mechanism, a new history event). Then
look at the differences the failure lists, and if they are what you meant, refresh the
stored baseline on purpose, from the repository's root, and commit it with the change:

    python tests/test_regression_baseline.py --refresh

The run uses the default parameters (`--posterior none`), so a new calibration does not
move it; it goes through the same code as `labor-stocks run` (plan, ensemble, projection
table), with yearly periods, and keeps the mean across replicates rounded to whole workers.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE_FILE = Path(__file__).resolve().parent / "baseline_summary.json"
SCENARIO = ROOT / "scenarios" / "baseline.toml"
SEED = 1
REPLICATES = 2
REFRESH = "python tests/test_regression_baseline.py --refresh"
STOCK_PLACES = ("Liaoning", "Jilin", "Heilongjiang", "Other", "China")
FLOW_PLACES = ("China",)
FLOWS = ("inflow", "outflow", "defections")


def compute_summary() -> dict[str, Any]:
    """The baseline's yearly stocks per province and China, and China's yearly flows (mean, workers)."""
    import pandas as pd

    from labor_stocks.outputs.run import run_scenario
    from labor_stocks.scenarios.scenario import load_scenario

    scenario = dataclasses.replace(load_scenario(SCENARIO), output_freq="year")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "baseline"
        run_scenario(scenario, out, replicates=REPLICATES, seed=SEED, jobs=1, posterior=None,
                     reports=Path(folder) / "no-reports.csv")
        table = pd.read_csv(out / "projection.csv", keep_default_na=False)
    values: dict[str, dict[str, dict[str, int]]] = {}
    for quantity, places in (("stock", STOCK_PLACES), *((flow, FLOW_PLACES) for flow in FLOWS)):
        rows = table[table.quantity == quantity]
        values[quantity] = {place: {str(row.date): int(round(row.mean)) for row in rows[rows.place == place].itertuples()}
                            for place in places}
    return {
        "about": "labor-stocks run scenarios/baseline.toml --posterior none at a fixed seed, yearly; mean across "
                 "replicates, whole workers. Stocks at the end of each year, flows summed over it.",
        "refresh": REFRESH,
        "scenario": "scenarios/baseline.toml",
        "seed": SEED,
        "replicates": REPLICATES,
        "posterior": "none",
        "values": values,
    }


def differences(stored: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Every value that moved, as 'quantity place date: stored X, now Y (+d)'; settings that differ too."""
    lines = [f"{key}: stored {stored.get(key)!r}, now {now[key]!r}"
             for key in ("scenario", "seed", "replicates", "posterior") if stored.get(key) != now[key]]
    old, new = stored.get("values", {}), now["values"]
    for quantity in new:
        for place in new[quantity]:
            before, after = old.get(quantity, {}).get(place, {}), new[quantity][place]
            for date in sorted(set(before) | set(after)):
                a, b = before.get(date), after.get(date)
                if a != b:
                    change = f" ({b - a:+,})" if a is not None and b is not None else ""
                    lines.append(f"{quantity} {place} {date}: stored {a if a is None else f'{a:,}'}, "
                                 f"now {b if b is None else f'{b:,}'}{change}")
    return lines


def test_the_baseline_projection_matches_the_stored_regression_baseline() -> None:
    assert BASELINE_FILE.is_file(), f"no stored baseline: create it with `{REFRESH}`"
    stored = json.loads(BASELINE_FILE.read_text(encoding="utf-8"))
    changed = differences(stored, compute_summary())
    shown = "\n  ".join(changed[:40]) + (f"\n  ... and {len(changed) - 40} more" if len(changed) > 40 else "")
    assert not changed, (f"the baseline projection changed in {len(changed)} values:\n  {shown}\n"
                         f"If the change is intended, refresh the stored baseline with `{REFRESH}` and commit "
                         f"{BASELINE_FILE.relative_to(ROOT)} with it.")


def refresh() -> None:
    """Recompute and store the baseline; print what changed."""
    now = compute_summary()
    if BASELINE_FILE.is_file():
        changed = differences(json.loads(BASELINE_FILE.read_text(encoding="utf-8")), now)
        print("\n".join(changed) if changed else "no change")
    BASELINE_FILE.write_text(json.dumps(now, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {BASELINE_FILE}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--refresh"]:
        sys.exit(f"usage: {REFRESH}")
    refresh()

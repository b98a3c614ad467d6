"""Every shipped scenario's projection.csv at seed 1, byte for byte, as a stored hash.

A move of code (a new layout, a speed-up) must not change what any shipped scenario says;
this test runs each one (two replicates, default parameters) and compares the SHA-256 of
its projection.csv with `tests/shipped_projections.json`. A deliberate change of the model
(a new rule, a new history event) changes the hashes: check what changed (the regression
baseline lists the numbers), then refresh on purpose, from the repository's root:

    python tests/test_shipped_projections.py --refresh
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STORED = Path(__file__).resolve().parent / "shipped_projections.json"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
SEED, REPLICATES = 1, 2


def projection_hash(scenario: Path, folder: Path) -> str:
    from labor_stocks.outputs.run import run_scenario
    from labor_stocks.scenarios.scenario import load_scenario

    out = folder / scenario.stem
    run_scenario(load_scenario(scenario), out, replicates=REPLICATES, seed=SEED, jobs=1, posterior=None,
                 reports=folder / "no-reports.csv")
    return hashlib.sha256((out / "projection.csv").read_bytes()).hexdigest()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_projection_is_unchanged(scenario, tmp_path):
    stored = json.loads(STORED.read_text())["sha256"]
    assert scenario.stem in stored, f"no stored hash for {scenario.name}: run {__doc__.split('    ')[-1].strip()}"
    assert projection_hash(scenario, tmp_path) == stored[scenario.stem], (
        f"{scenario.name}'s projection.csv changed; if that is meant, refresh (see this file's docstring)")


if __name__ == "__main__" and sys.argv[1:] == ["--refresh"]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        hashes = {s.stem: projection_hash(s, Path(folder)) for s in SCENARIOS}
    STORED.write_text(json.dumps({"about": f"sha256 of projection.csv, seed {SEED}, {REPLICATES} replicates, "
                                           "--posterior none", "sha256": hashes}, indent=2) + "\n")
    print(f"wrote {STORED}")

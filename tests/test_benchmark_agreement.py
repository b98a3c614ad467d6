"""The per-agent Mesa implementation (benchmarks/per_agent.py) and LaborModel follow the same rules.

The benchmark's speed-up means something only if both implement the same model: over many
seeds of the comparison case (one province, a year, every mechanism active) their mean end
stock, inflow, outflow, defections and confined must agree within sampling error. The test
must also be able to fail: a per-agent version with twice the sickness rate is told apart.
The two share no random stream, so they are compared in distribution, not run by run.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np
import pytest

from benchmarks.per_agent import Summary, run_columnar, run_per_agent

WORKERS = 2_000
SEEDS = 40
QUANTITIES = ("stock", "inflow", "outflow", "defections", "confined")


def summaries(run, seeds: range, **overrides: float) -> np.ndarray:
    """One row per seed, one column per quantity; per-agent runs use both cores."""
    job = partial(run, workers=WORKERS, **overrides)
    if run is run_per_agent:
        with ProcessPoolExecutor(max_workers=2) as pool:
            results: list[Summary] = list(pool.map(job, seeds))
    else:
        results = [job(seed) for seed in seeds]
    return np.array([[getattr(r, q) for q in QUANTITIES] for r in results], dtype=float)


def disagreements(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Quantities whose means differ by more than 4 standard errors (+1 agent for discreteness), as z."""
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    diff = np.abs(a.mean(axis=0) - b.mean(axis=0))
    return {q: float(diff[i] / max(se[i], 1e-9)) for i, q in enumerate(QUANTITIES) if diff[i] > 4 * se[i] + 1.0}


@pytest.fixture(scope="module")
def columnar() -> np.ndarray:
    return summaries(run_columnar, range(SEEDS))


def test_per_agent_and_columnar_models_agree_in_distribution(columnar):
    per_agent = summaries(run_per_agent, range(1000, 1000 + SEEDS))
    assert columnar[:, QUANTITIES.index("defections")].mean() > 3  # the case exercises defections
    assert disagreements(columnar, per_agent) == {}


def test_comparison_detects_a_changed_rule(columnar):
    doubled_sickness = summaries(run_per_agent, range(2000, 2000 + SEEDS), unfit_rate_per_year=0.04)
    assert "stock" in disagreements(columnar, doubled_sickness)

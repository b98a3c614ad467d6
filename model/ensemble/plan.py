"""The parameters and seed of replicate i: one recipe for ensembles, the fit and calibration.

Replicate i of a run with seed S gets
- its simulation seed from child i of `np.random.SeedSequence(S).spawn(n)`;
- its posterior draw from `Posterior.draw(S, i)` (when a posterior is given);
- its parameters as the defaults, then that draw, then the scenario's `[parameters]` (the
  analyst's explicit assumptions win over anything calibrated).

Both depend on S and i alone, never on the scenario or on how many replicates there are, so
two scenarios run with the same seed are paired replicate by replicate (common random
numbers), and the fit's draw i is an ensemble's replicate i. During calibration pyabc
chooses the particle and seeds the generator of each of its processes: `replicate` turns
that particle and a seed from that generator into parameters the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..scenarios.scenario import Scenario
from ..world.parameters import Parameters, with_overrides
from .posterior import Posterior


@dataclass(frozen=True)
class Replicate:
    """One replicate's plan: its index, simulation seed, posterior draw (None without) and parameters."""

    index: int
    seed: int
    drawn: dict[str, Any] | None
    params: Parameters


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Simulation seeds of replicates 0 .. replicates-1 of a run with `seed` (64-bit integers)."""
    return [int(child.generate_state(1, np.uint64)[0]) for child in np.random.SeedSequence(seed).spawn(replicates)]


def replicate(scenario: Scenario, index: int, seed: int, drawn: dict[str, Any] | None, source: str) -> Replicate:
    """Replicate `index` with simulation `seed`: the defaults, the particle `drawn` (from `source`), the scenario's."""
    base = with_overrides(drawn, source) if drawn is not None else None
    return Replicate(index, seed, drawn, scenario.parameters_for(base))


def plan_replicates(scenario: Scenario, replicates: int, seed: int,
                    posterior: Posterior | None = None) -> list[Replicate]:
    """Seeds, posterior draws and parameters of replicates 0 .. replicates-1 of `scenario` run with `seed`."""
    source = f"{posterior.path}: particle" if posterior is not None else ""
    return [replicate(scenario, index, simulation_seed, posterior.draw(seed, index) if posterior is not None else None,
                      source)
            for index, simulation_seed in enumerate(replicate_seeds(seed, replicates))]

"""Dissatisfaction and the defection hazard it drives.

001 names the causes: years stuck past the three-year rotation, bribe debts that "increase
with interest during the extended periods of inability to return", and contact with family
cut off. Dissatisfaction here is the log of the hazard ratio they add up to; the hazard is a
small base rate (004: defecting "never crosses their mind" for most) times exp(dissatisfaction),
divided by the surveillance that the North Korean side tightens after defections (001).

Hazards are per worker and per day. Each worker carries an Exp(1) "clock": they attempt to
defect when their cumulative hazard passes it, which gives each worker an exact, individual
attempt time for a hazard that is piecewise constant between monthly updates.
"""

from __future__ import annotations

import numpy as np

from ..world.parameters import Parameters

DAYS_PER_YEAR = 365.25


def dissatisfaction(params: Parameters, day: int, arrival: np.ndarray, contract_end: np.ndarray,
                    log_debt0: np.ndarray, contact_cut: np.ndarray | np.floating) -> np.ndarray:
    """Log hazard ratio of each worker on `day`: overstay, debt grown with interest, contact cut.

    `log_debt0` is the log of the debt at dispatch relative to the median; `contact_cut` is 1
    where the worker's crossing is closed to people, else 0 (one scalar when the same for all).
Computed in float32 (speed).
    """
    per_year = np.float32(1.0 / DAYS_PER_YEAR)
    overstay_years = np.maximum(day - contract_end, 0).astype(np.float32) * per_year
    tenure_years = (day - arrival).astype(np.float32) * per_year
    debt_growth = np.float32(params.debt_effect * np.log1p(params.debt_interest))
    return (np.float32(params.overstay_effect) * overstay_years + np.float32(params.debt_effect) * log_debt0
            + debt_growth * tenure_years + np.float32(params.contact_effect) * contact_cut.astype(np.float32))


def defection_hazard(params: Parameters, level: np.ndarray, surveillance: np.ndarray | np.floating) -> np.ndarray:
    """Per-day hazard of a defection attempt for dissatisfaction `level` under `surveillance` (>= 1)."""
    with np.errstate(over="ignore"):  # an extreme level is an infinite hazard: an attempt at once
        return params.defection_base_rate / DAYS_PER_YEAR * np.exp(level) / surveillance


def attempt_days(hazard: np.ndarray, used: np.ndarray, clock: np.ndarray,
                 span: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Advance cumulative hazards by `span` days at constant `hazard`.

    Returns (cumulative hazard at the end of the span, mask of workers whose clock runs out
    within the span, offset in days of each such attempt from the start of the span).
    """
    total = used + hazard * span
    due = total >= clock
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.floor((clock[due] - used[due]) / hazard[due])
    offset = np.nan_to_num(offset, nan=0.0, posinf=span - 1, neginf=0.0)
    return total, due, np.clip(offset, 0, span - 1).astype(np.int64)

"""Every parameter of the model in one place, with its unit, default and source.

Sources are the article file names in `shared/articles/` (000 .. 004 below) or, where
the articles are silent, the reasoning written next to the value. Parameters marked
"calibrated" have a prior in `calibration/priors.toml` and are fitted to the reports.

Scenario files override parameters by name in their `[parameters]` table; a dict-valued
parameter is overridden key by key.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import InputError
from ..world.geography import CITIES, PROVINCES, SECTORS

MAX_WORKERS = 1_000_000
"""A guard against typos (a zero too many): ten times the UN panel's ~100,000 workers in some 40
countries (003). Larger starting stocks or dispatch waves would exhaust memory before any output."""

UPPER_LIMITS: dict[str, float] = {
    "initial_stock": MAX_WORKERS,
    "factory_size_median": MAX_WORKERS,
    "factory_size_sigma": 5.0,  # log-sd: beyond, a factory's drawn size overflows
    "initial_max_tenure_years": 100.0,
    "rotation_years": 100.0,
    "replacement_delay_days": 36_500.0,
    "hazard_update_days": 36_500.0,
    "response_window_days": 36_500.0,
    "surveillance_half_life_days": 36_500.0,
    "pool_max": MAX_WORKERS,
    "batch_size": MAX_WORKERS,
    "training_rate": MAX_WORKERS,
    "places_ratio": 100.0,
    "document_rate": 365.0,
}
"""Largest accepted values: a century for durations, MAX_WORKERS for counts of workers. They only
catch typos that would crash the model or overflow its day counters; no plausible value is near."""


def _param(default: Any, unit: str, source: str) -> Any:
    """A dataclass field carrying its unit and source, so documentation is generated from here."""
    if isinstance(default, dict):
        return field(default_factory=lambda: copy.deepcopy(default), metadata={"unit": unit, "source": source})
    return field(default=default, metadata={"unit": unit, "source": source})


@dataclass
class Parameters:
    """The model's parameters. Units are in each field's metadata; days are calendar days."""

    # --- population at the start (2017-01-01) ------------------------------------------
    initial_stock: float = _param(
        60_000, "workers",
        "calibrated; the UN panel's ~100,000 in some 40 countries (003) is a report that bounds it from above")
    province_share: dict = _param(
        {"Liaoning": 0.55, "Jilin": 0.30, "Heilongjiang": 0.05, "Other": 0.10}, "share of initial stock",
        "004: 'working largely in industrial parks in Liaoning or Jilin'; 001: Shanghai; assumption")
    city_share: dict = _param(
        {"Dandong": 0.5, "Shenyang": 0.2, "Liaoning (rest)": 0.3,
         "Hunchun": 0.3, "Tumen": 0.2, "Yanji": 0.2, "Nanping": 0.1, "Jilin (rest)": 0.2,
         "Heilongjiang": 1.0, "Shanghai": 0.3, "Other (rest)": 0.7},
        "share of its province",
        "000/002: Dandong the main hub, Shenyang and Yanji named as destinations; assumption")
    sector_share: dict = _param(
        {"garment": 0.45, "electronics": 0.15, "seafood": 0.15, "construction": 0.08,
         "restaurant": 0.07, "other": 0.10},
        "share of workers",
        "000: garments and electronics; 002: restaurants, factories, construction; 004: restaurants, small factories")
    male_share: dict = _param(
        {"garment": 0.05, "electronics": 0.1, "seafood": 0.2, "construction": 1.0,
         "restaurant": 0.05, "other": 0.3},
        "share of a sector's workers",
        "002: male workers for construction; 001/003: female garment workers; assumption")
    initial_max_tenure_years: float = _param(
        4.0, "years",
        "001: in early 2023 some had been stuck 6 to 10 years, so 2017's workers arrived 2013-2017")

    # --- factories ---------------------------------------------------------------------
    factory_size_median: float = _param(
        150.0, "workers", "003: companies hiring 150 and about 200 of a dispatch; 000: many of 200 or fewer")
    factory_size_sigma: float = _param(0.8, "log-sd", "assumption: a long tail of large factories")
    small_factory_max: int = _param(200, "workers", "000: factories with 200 people or less were the main targets")
    demand_growth: float = _param(
        0.03, "per year", "003: serious shortage of workers in north-east China; calibrated")
    experienced_preference: float = _param(
        0.8, "probability", "002: Chinese companies prefer workers with a few years' experience")
    closure_threshold: float = _param(
        0.5, "share of initial workforce", "000: factory owners in danger of going out of business; assumption")
    closure_rate_per_month: float = _param(0.1, "per month", "000: assumption")

    # --- contracts and rotation --------------------------------------------------------
    rotation_years: float = _param(3.0, "years", "001: North Korea rotates workers every three years")
    replacement_delay_days: float = _param(
        30.0, "days", "002/004: documents (visas, invitation letters) prepared before a replacement enters")

    # --- health ------------------------------------------------------------------------
    unfit_rate_per_year: float = _param(
        0.02, "per worker-year", "003: most of ~3,000 returned since 2022 were sick or mentally ill; calibrated")
    mental_share: float = _param(
        0.3, "share of unfit", "003: 'got sick or showed signs of mental illness'; 000: trouble adjusting; assumption")

    # --- dissatisfaction and defection -------------------------------------------------
    defection_base_rate: float = _param(
        0.0005, "per worker-year", "004: defecting 'never crosses their mind' for most; calibrated")
    overstay_effect: float = _param(0.4, "log-hazard per year overstayed", "001: stuck 6 to 10 years; assumption")
    debt_effect: float = _param(0.5, "log-hazard per log of debt growth", "001: debts grew with interest")
    contact_effect: float = _param(1.0, "log-hazard when the border is closed", "001: contact with family blocked")
    debt_interest: float = _param(0.2, "per year", "001: bribes' debts increase with interest; assumption")
    debt_sigma: float = _param(0.5, "log-sd of debt at dispatch", "001: some bribed to be sent; assumption")
    defection_success: float = _param(
        0.5, "probability", "004: workers caught trying to defect are confined; assumption")
    collective_share: float = _param(
        0.05, "share of attempts", "001: a manager and over 20 garment workers left together; assumption")
    team_size: int = _param(
        21, "workers", "001: over 20 female garment workers and their manager; calibrated (the report informs it)")
    trouble_ratio: float = _param(
        2.0, "troublemaker hazard / defection hazard", "003: those who caused problems in group living; assumption")
    hazard_update_days: int = _param(30, "days", "numerical: dissatisfaction is re-evaluated monthly")

    # --- North Korean agency's response to defections -----------------------------------
    response_threshold: int = _param(10, "defections in the window", "001: fear of a chain of defections; assumption")
    response_window_days: int = _param(30, "days", "assumption")
    surveillance_step: float = _param(2.0, "hazard divisor per response", "001: strict surveillance by State Security")
    surveillance_half_life_days: float = _param(180.0, "days", "assumption")
    recall_share: float = _param(
        0.05, "share of a province's ordinary workers", "001: recall existing personnel and replace them; calibrated")

    # --- North Korean side: the dispatch pipeline ----------------------------------------
    training_rate: float = _param(
        10.0, "workers per day",
        "004: selection and training completed while dispatch to China was blocked; 002: workers in Pyongyang "
        "preparing to move; calibrated")
    pool_max: float = _param(
        5000.0, "workers",
        "004/002: trained workers standing by for China; the pool is full in 2017 (routine dispatch before 2397, 003) "
        "and never holds more; calibrated")
    batch_size: float = _param(
        50.0, "workers",
        "003: the 500 came by bus over two days, about 200 to one company: workers are sent in groups; calibrated")

    # --- Chinese side ------------------------------------------------------------------
    admission_threshold: float = _param(
        0.5, "enforcement level",
        "003: under resolution 2397 no new work visas: no documents at or above this level, fewer as it nears it")
    document_rate: float = _param(
        0.2, "share of a province's places per year",
        "002: regional governments prepare visas or invitation letters; at no enforcement and normal relations; "
        "calibrated")
    places_ratio: float = _param(
        0.9, "share of the province's workforce of 2017",
        "004: 'a limited number of places North Koreans can work in China, so dispatches and repatriations must "
        "take place simultaneously'; calibrated")
    warm_document_factor: float = _param(
        1.5, "multiplier on the document rate", "assumption: the reverse of 000's chilly relations")
    compliance: float = _param(
        0.6, "share", "002: supervisors hold out until China takes strong measures; calibrated")
    chilly_delay_factor: float = _param(
        2.0, "multiplier on document delays (divisor of the document rate)", "000: relations grow chilly; assumption")

    # --- border ------------------------------------------------------------------------
    open_capacity: float = _param(
        1000.0, "persons per day per direction", "assumption: not binding before 2020")
    limited_capacity: float = _param(
        8.0, "persons per day per direction", "000: 'small numbers' returned for a year after trains resumed; calibrated")
    seats_per_vehicle: float = _param(
        30.0, "persons per minibus", "000: seven minibuses a day; calibrated (prior 15 to 35)")

    # --- numerical ---------------------------------------------------------------------
    scale: int = _param(1, "workers per agent", "1 = every worker an agent, in runs and calibration; >1 a coarser, faster model (--scale)")

    def validate(self, where: str = "parameters") -> None:
        """Raise InputError naming the key for a value outside its domain."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise InputError(f"{where}: key {f.name}: must be a finite number, got {value}")
        for name, most in UPPER_LIMITS.items():
            if getattr(self, name) > most:
                raise InputError(f"{where}: key {name}: must be at most {most:,.0f}, got {getattr(self, name)}")
        positive = ("initial_stock", "factory_size_median", "rotation_years", "seats_per_vehicle",
                    "team_size", "batch_size", "chilly_delay_factor", "hazard_update_days", "scale", "response_window_days",
                    "surveillance_half_life_days")
        for name in positive:
            if getattr(self, name) <= 0:
                raise InputError(f"{where}: key {name}: must be positive, got {getattr(self, name)}")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and value < 0:
                raise InputError(f"{where}: key {f.name}: must not be negative, got {value}")
        for name in ("experienced_preference", "closure_threshold", "mental_share", "defection_success",
                     "collective_share", "admission_threshold", "compliance", "recall_share"):
            if getattr(self, name) > 1:
                raise InputError(f"{where}: key {name}: must be at most 1, got {getattr(self, name)}")
        if self.scale != int(self.scale):
            raise InputError(f"{where}: key scale: must be a whole number, got {self.scale}")
        smallest = min(self.initial_stock, self.factory_size_median)
        if self.scale > smallest:
            raise InputError(f"{where}: key scale: one agent per {self.scale:,} workers leaves the starting stock or a "
                             f"median factory ({smallest:,.0f} workers) without an agent; use at most {smallest:,.0f}")
        checks = {"province_share": PROVINCES, "city_share": [c.name for c in CITIES],
                  "sector_share": SECTORS, "male_share": SECTORS}
        for name, keys in checks.items():
            table = getattr(self, name)
            for key, value in table.items():
                if key not in keys:
                    shown = key if key.isprintable() and len(key) <= 40 else repr(key[:40])
                    raise InputError(f"{where}: key {name}.{shown}: unknown (known: {', '.join(keys)})")
                if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
                        or value < 0):
                    raise InputError(f"{where}: key {name}.{key}: must be a non-negative number, got {value!r}")
                if name == "male_share" and value > 1:
                    raise InputError(f"{where}: key {name}.{key}: a share of workers must be at most 1, got {value!r}")
            if not math.isfinite(sum(table.values())):
                raise InputError(f"{where}: key {name}: the shares are too large to add up; use shares of 1")
        if sum(self.province_share.values()) <= 0 or sum(self.sector_share.values()) <= 0:
            raise InputError(f"{where}: key province_share/sector_share: shares must not all be zero")


def parameter_table() -> list[dict[str, Any]]:
    """Name, default, unit and source of every parameter: the basis of the ODD's table."""
    defaults = Parameters()
    return [{"name": f.name, "default": getattr(defaults, f.name), "unit": f.metadata["unit"],
             "source": f.metadata["source"]} for f in fields(Parameters)]


def with_overrides(overrides: dict[str, Any], where: str = "parameters", base: Parameters | None = None) -> Parameters:
    """A copy of `base` (defaults when None) with `overrides` applied and checked.

    An unknown key or a value of the wrong type raises InputError naming `where` and the key.
    """
    params = copy.deepcopy(base) if base is not None else Parameters()
    kinds = {f.name: type(getattr(params, f.name)) for f in fields(Parameters)}
    for key, value in overrides.items():
        if key not in kinds:
            raise InputError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(kinds))})")
        kind = kinds[key]
        if kind is dict:
            if not isinstance(value, dict):
                raise InputError(f"{where}: key {key}: must be a table, got {value!r}")
            merged = dict(getattr(params, key))
            merged.update(value)
            setattr(params, key, merged)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{where}: key {key}: must be a number, got {value!r}")
        elif not math.isfinite(value):
            raise InputError(f"{where}: key {key}: must be a finite number, got {value!r}")
        elif kind is int and value != int(value):
            raise InputError(f"{where}: key {key}: must be a whole number, got {value!r}")
        else:
            setattr(params, key, kind(value))
    params.validate(where)
    return params

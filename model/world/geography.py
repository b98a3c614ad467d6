"""Provinces, cities, border crossings and sectors: the places the model knows.

The cities are those the five articles name, each in its province, plus one "rest of"
place per province for workers the articles do not place more precisely. Each city sends
and receives its workers through one border crossing, the nearest one that the articles
(or the map, where they are silent) give. Everything here is data; the model reads it
through the index helpers at the bottom so that places are small integers in the arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

PROVINCES: tuple[str, ...] = ("Liaoning", "Jilin", "Heilongjiang", "Other")
"""Provinces of the output tables; "Other" is the rest of China (e.g. Shanghai)."""

CHINA = "China"
OVERSEAS = "overseas"
"""A worldwide figure (e.g. the UN panel's 100,000 in some 40 countries): an upper bound on China."""

SECTORS: tuple[str, ...] = (
    "garment",
    "electronics",
    "seafood",
    "construction",
    "restaurant",
    "other",
)


@dataclass(frozen=True)
class Crossing:
    """A border crossing between China and North Korea that people can cross when open."""

    name: str
    chinese_side: str
    korean_side: str
    source: str


CROSSINGS: tuple[Crossing, ...] = (
    Crossing("Dandong-Sinuiju", "Dandong", "Sinuiju", "000, 002: minibuses and the Friendship Bridge"),
    Crossing("Quanhe-Wonjong", "Hunchun", "Rason", "001: Rason-Hunchun truck route; 003: buses to Hunchun"),
    Crossing("Tumen-Namyang", "Tumen", "Namyang", "000, 001: Tumen across the Tumen river"),
    Crossing("Nanping-Musan", "Nanping (Helong)", "Musan", "000: workers sent to Nanping"),
)


@dataclass(frozen=True)
class City:
    """A place where North Korean workers live and work, in one province, served by one crossing."""

    name: str
    province: str
    crossing: str
    source: str


CITIES: tuple[City, ...] = (
    City("Dandong", "Liaoning", "Dandong-Sinuiju", "000, 002"),
    City("Shenyang", "Liaoning", "Dandong-Sinuiju", "002"),
    City("Liaoning (rest)", "Liaoning", "Dandong-Sinuiju", "004: industrial parks in Liaoning"),
    City("Hunchun", "Jilin", "Quanhe-Wonjong", "001, 003"),
    City("Tumen", "Jilin", "Tumen-Namyang", "000, 001"),
    City("Yanji", "Jilin", "Tumen-Namyang", "002"),
    City("Nanping", "Jilin", "Nanping-Musan", "000 (Nanping, in Helong)"),
    City("Jilin (rest)", "Jilin", "Tumen-Namyang", "004: industrial parks in Jilin"),
    City("Heilongjiang", "Heilongjiang", "Tumen-Namyang", "003: all three north-eastern provinces; no city named, nearest crossing assumed"),
    City("Shanghai", "Other", "Dandong-Sinuiju", "001: Shanghai garment factory; by rail through Dandong (assumed)"),
    City("Other (rest)", "Other", "Dandong-Sinuiju", "003: some 40 countries incl. China; by rail through Dandong (assumed)"),
)

CITY_ALIASES: dict[str, str] = {"Helong": "Nanping", "Helong/Nanping": "Nanping", "Duman": "Tumen"}
"""Other names the articles use for a city ("Duman City" is Tumen in 001)."""

PROVINCE_INDEX = {name: i for i, name in enumerate(PROVINCES)}
CITY_INDEX = {city.name: i for i, city in enumerate(CITIES)}
CROSSING_INDEX = {crossing.name: i for i, crossing in enumerate(CROSSINGS)}
SECTOR_INDEX = {name: i for i, name in enumerate(SECTORS)}


def city_name(name: str) -> str | None:
    """The canonical city name for `name` (aliases included), or None when unknown."""
    name = CITY_ALIASES.get(name, name)
    return name if name in CITY_INDEX else None


def cities_in(place: str) -> list[int]:
    """Indices of the cities inside `place`: a city, a province, a crossing (the cities it serves) or China.

    Raises KeyError for a place the model does not know, so callers can name it in an error.
    """
    if place == CHINA:
        return list(range(len(CITIES)))
    if place in PROVINCE_INDEX:
        return [i for i, city in enumerate(CITIES) if city.province == place]
    if place in CROSSING_INDEX:
        return [i for i, city in enumerate(CITIES) if city.crossing == place]
    canonical = city_name(place)
    if canonical is None:
        raise KeyError(place)
    return [CITY_INDEX[canonical]]


def is_place(place: str) -> bool:
    """True for a city, a province, a crossing, China or "overseas": any place a report may name.

    A crossing stands for the workers of every city it serves: "200 a day going home from
    Dandong" by seven minibuses (000) counts everyone taken across at Dandong-Sinuiju.
    """
    return (place in (OVERSEAS, CHINA) or place in PROVINCE_INDEX or place in CROSSING_INDEX
            or city_name(place) is not None)


def city_province_index() -> list[int]:
    """For each city index, the index of its province."""
    return [PROVINCE_INDEX[city.province] for city in CITIES]


def city_crossing_index() -> list[int]:
    """For each city index, the index of the crossing its workers use."""
    return [CROSSING_INDEX[city.crossing] for city in CITIES]

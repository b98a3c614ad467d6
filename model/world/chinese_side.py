"""The Chinese side of one province: enforcement, documents for a limited number of places, pressure.

000, 002, 003, 004: each province enforces resolution 2397 at some level and decides the
documents (visas or invitation letters, 002) for its places (004). Documents are issued at a
rate that falls continuously with enforcement, to none at `admission_threshold`, and when
relations are chilly; only for places not taken. Above the threshold the province presses the
North Korean side to send a share of its workers home (Liaoning 2024: "the Chinese government
has been taking steps to repatriate").
"""

from __future__ import annotations

from typing import Protocol

import mesa

from .dissatisfaction import DAYS_PER_YEAR
from .geography import PROVINCES
from .parameters import Parameters
from .repatriation import PRIORITY_CLASSES


class Counterpart(Protocol):
    """The North Korean side as a province deals with it: orders returns, or stops waiting for them."""

    def order(self, day: int, places: list[str], share: float | None = None, count: int | None = None,
              classes: tuple[str, ...] | list[str] = PRIORITY_CLASSES, replace: bool = False,
              issuer: str = "north_korea") -> int: ...

    def withdraw_ordinary(self, province: int) -> int: ...


class ChineseAgency(mesa.Agent):
    """One province's public security and labour offices: enforcement, visas, repatriation pressure."""

    def __init__(self, model: mesa.Model, province: int, params: Parameters) -> None:
        super().__init__(model)
        self.province_index = province
        self.province = PROVINCES[province]
        self.params = params
        self.enforcement = 0.0
        self.relations = "normal"
        self.issuing = True
        """Whether the province prepares documents at all (an event starts or stops it)."""
        self.places = 0.0
        """Places for North Korean workers (agents): `places_ratio` of the province's workforce of 2017."""
        self.documents = 0.0
        """Documents issued and not yet used by an arrival (agents)."""
        self.rate = 0.0
        """Documents issued per day now (agents), recomputed when a condition changes."""
        self.counterpart: Counterpart | None = None
        """The North Korean side, which this province presses for returns (set once both exist)."""

    def open_places(self, places: float) -> None:
        """Set the province's places (agents), once the workforce exists."""
        self.places = float(places)
        self._update_rate()

    def openness(self) -> float:
        """1 with no enforcement, falling linearly to 0 at the admission threshold (003: no new work visas)."""
        threshold = self.params.admission_threshold
        return max(0.0, 1.0 - self.enforcement / threshold) if threshold > 0 else 0.0

    def _update_rate(self) -> None:
        params = self.params
        rate = params.document_rate / DAYS_PER_YEAR * self.places * self.openness() if self.issuing else 0.0
        if self.relations == "chilly":
            rate /= params.chilly_delay_factor
        elif self.relations == "warm":
            rate *= params.warm_document_factor
        self.rate = rate

    def set_relations(self, level: str) -> None:
        """Relations warm or cool: documents come faster or slower (000)."""
        self.relations = level
        self._update_rate()

    def set_issuing(self, issuing: bool) -> None:
        """The province starts or stops preparing documents (002: regional governments prepare them)."""
        self.issuing = issuing
        if not issuing:
            self.documents = 0.0
        self._update_rate()

    def issue(self, present: float) -> float:
        """Today's documents, only for places not taken (004); returns the documents in hand."""
        self.documents = min(self.documents + self.rate, max(self.places - present, 0.0))
        return self.documents
    def admits(self) -> bool:
        """Whether new North Korean workers get documents (visas or invitation letters) here now."""
        return self.enforcement < self.params.admission_threshold

    def document_delay(self) -> float:
        """Days to prepare a replacement's documents; longer when relations are chilly (000)."""
        params = self.params
        factor = params.chilly_delay_factor if self.relations == "chilly" else 1.0
        return params.replacement_delay_days * factor

    def pressure_share(self, level: float) -> float:
        """Share of the province's workers whose repatriation this level of enforcement obtains.

        Nothing below the admission threshold; above it, rising to `compliance` at full
        enforcement (002: the North Korean side holds out until China takes strong measures).
        """
        params = self.params
        threshold = params.admission_threshold
        if level <= threshold or threshold >= 1:
            return 0.0
        return params.compliance * (level - threshold) / (1 - threshold)

    def enforce(self, level: float, day: int) -> None:
        """Set the enforcement level; a rise in pressure becomes a repatriation order.

        When the pressure ends (the level falls to the admission threshold or below), ordinary
        workers still waiting to be sent home from the province stay: the North Korean side
        only sends them under pressure (002: supervisors hold out as long as possible).
        """
        before = self.pressure_share(self.enforcement)
        extra = self.pressure_share(level) - before
        self.enforcement = level
        self._update_rate()
        if extra > 0:
            self.counterpart.order(day, [self.province], share=extra, issuer="china",
                                         classes=PRIORITY_CLASSES, replace=False)
        elif before > 0 and self.pressure_share(level) == 0:
            self.counterpart.withdraw_ordinary(self.province_index)

"""Attribution counters as a store hands them out, and the port every store implements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from streamrec.events import EventBatch
from streamrec.experiments.attribution import LIST_LEVEL, Credit, Key, ServedIndex
from streamrec.experiments.served import ServedList

#: Counters kept per time bucket (CTR over time).
SERIES_COUNTERS = ("impressions", "clicks")


@dataclass
class Tallies:
    """The counters of one experiment (or of the lists served outside any).

    Attributes
    ----------
    counters
        Per key (variant, surface, position; position :data:`LIST_LEVEL` holds
        ``lists``), counter name to value.
    users
        Per variant, the distinct users it served.
    series
        Per variant and time bucket, impressions and clicks.
    """

    counters: dict[Key, dict[str, float]] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    series: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)

    def add(self, credits: Iterable[Credit]) -> None:
        """Add credits up (no user sets: callers count users themselves)."""
        for credit in credits:
            row = self.counters.setdefault(credit.key, {})
            row[credit.counter] = row.get(credit.counter, 0.0) + credit.amount
            if credit.counter in SERIES_COUNTERS:
                point = self.series.setdefault((credit.key.variant, credit.bucket), {})
                point[credit.counter] = point.get(credit.counter, 0.0) + credit.amount

    def variant(self, name: str, surface: str | None = None) -> dict[str, float]:
        """A variant's counters summed over positions (and surfaces, unless given)."""
        total: dict[str, float] = {}
        for key, row in self.counters.items():
            if key.variant == name and (surface is None or key.surface == surface):
                for counter, value in row.items():
                    total[counter] = total.get(counter, 0.0) + value
        return total

    def by_position(self, name: str) -> dict[int, dict[str, float]]:
        """A variant's counters per position (summed over surfaces)."""
        rows: dict[int, dict[str, float]] = {}
        for key, row in self.counters.items():
            if key.variant == name and key.position != LIST_LEVEL:
                into = rows.setdefault(key.position, {})
                for counter, value in row.items():
                    into[counter] = into.get(counter, 0.0) + value
        return dict(sorted(rows.items()))

    def variants(self) -> list[str]:
        """Every variant with a counter, in name order."""
        return sorted({key.variant for key in self.counters})


@runtime_checkable
class AttributionStore(ServedIndex, Protocol):
    """Where the counters live (memory, Redis): added to by the processor, read by
    reports. Served lists and events before the store's positions are skipped, so
    a replay from older positions changes nothing."""

    def apply_served(self, entries: Sequence[tuple[int, ServedList]]) -> None:
        """Index served lists (sequence number, list) and count them served."""
        ...

    def apply_events(self, batch: EventBatch) -> None:
        """Credit the batch's attributable events."""
        ...

    def served_position(self) -> int:
        """The sequence number of the next served list to apply."""
        ...

    def positions(self) -> dict[int, int]:
        """Per event-log partition, the offset after the last applied event."""
        ...

    def tallies(self, experiment: str | None) -> Tallies:
        """The counters of ``experiment`` (``None``: lists served outside any)."""
        ...

"""Hit and miss counters of the read caches, read by the metrics at scrape time.

A cache increments one of two integers per lookup, on the thread that reads (under
the state's lock where it has one), so counting costs next to nothing on the read
path; scrapes read the integers without a lock and may miss a lookup in progress.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class CacheCounts:
    """Lookups of one cache that were answered from it (``hits``) or not (``misses``)."""

    hits: int = 0
    misses: int = 0

"""Erasure in the fold: forget users and items named by erasure records.

An erased user's profile row is cleared and the user's dense id released (as for
an expired user). An erased item keeps its dense id (ids are never reused) but every
statistic goes back to "never seen": counters, rankings, its own co-occurrence row
and its entries in every other row; and every profile forgets it
(:mod:`streamrec.processing.profile_scrub`), so no later event pairs it again.
Shared aggregates a user contributed to stay: they hold no per-user data (see
:mod:`streamrec.erasures`).
"""

from __future__ import annotations

import numpy as np

from streamrec.erasures import Erasures
from streamrec.processing.fold import FoldTarget
from streamrec.processing.profile_scrub import drop_items


def erase(target: FoldTarget, erasures: Erasures) -> None:
    """Apply one run of erasure records to ``target``."""
    rows = [row for user in erasures.users if (row := target.users.get(user)) is not None]
    if rows:
        target.profiles.clear(np.asarray(rows, dtype=np.int64))
        target.users.release(rows)
    items = target.items.lookup_many(erasures.items)
    items = items[items >= 0].astype(np.int64)
    if len(items):
        target.item_table.ensure(target.items.capacity)
        target.item_table.clear(items)
        touched = target.cooccurrence.remove_items(items)
        target.item_table.neighbors_version[touched] += 1
        drop_items(target.profiles, target.users.capacity, items)

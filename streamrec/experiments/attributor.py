"""The imperative shell of attribution: joins the served-list log and the event log.

Before each event batch the :class:`Attributor` waits for the served-list log to
write what it has queued, applies every list after the store's position, and
then credits the batch: a list is applied before any event naming it (its id was
only known from a response sent after it was queued). :class:`AttributedState`
hands the processor a state whose ``apply`` does both.
"""

from __future__ import annotations

import logging

from streamrec.events import EventBatch
from streamrec.experiments.served_log import ServedLog
from streamrec.experiments.tallies import AttributionStore
from streamrec.state.base import OnlineState

log = logging.getLogger(__name__)

#: Served lists applied per read of the served-list log.
CHUNK = 10_000
#: How long the processor waits for the served-list log's writer.
FLUSH_TIMEOUT_S = 5.0


class Attributor:
    """Keeps an attribution store up with a served-list log and the event log."""

    def __init__(self, served_log: ServedLog, store: AttributionStore) -> None:
        self.served_log = served_log
        self.store = store

    def sync_served(self) -> int:
        """Apply every written served list the store has not seen; how many."""
        if not self.served_log.flush(FLUSH_TIMEOUT_S):
            log.warning("the served-list log did not write its queue in time")
        applied = 0
        chunk = []
        for entry in self.served_log.read(self.store.served_position()):
            chunk.append(entry)
            if len(chunk) >= CHUNK:
                self.store.apply_served(chunk)
                applied += len(chunk)
                chunk = []
        if chunk:
            self.store.apply_served(chunk)
            applied += len(chunk)
        return applied

    def apply(self, batch: EventBatch) -> None:
        """Apply the served lists written so far, then credit ``batch``."""
        self.sync_served()
        self.store.apply_events(batch)


class AttributedState:
    """An online state whose ``apply`` also attributes (what the processor folds into).

    Its positions are the lower of the state's and the store's, so a processor
    seeks where neither has applied yet; each skips what it already holds.
    """

    def __init__(self, state: OnlineState, attributor: Attributor) -> None:
        self.state = state
        self.attributor = attributor

    def apply(self, batch: EventBatch) -> None:
        """Attribute, then fold ``batch`` into the state."""
        self.attributor.apply(batch)
        self.state.apply(batch)

    def positions(self) -> dict[int, int]:
        """Per partition, the lower of the state's and the store's positions."""
        state, store = self.state.positions(), self.attributor.store.positions()
        return {p: min(o, store.get(p, 0)) for p, o in state.items()}

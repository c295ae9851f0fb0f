"""The History contract, run against every adapter: embedded and PostgreSQL.

Events reach each history the way a deployment stores them: the embedded history
reads the embedded log, so its events are appended there; PostgreSQL is written
with log positions, as the processor does after consuming them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from streamrec.events import EventBatch
from streamrec.history.base import History
from streamrec.history.embedded import EmbeddedHistory
from streamrec.history.postgres import PostgresHistory
from streamrec.log.embedded import EmbeddedEventLog
from tests.integration.helpers import BASE_MS, records_by_position, sequence_batch, sorted_order

pytestmark = pytest.mark.integration


@dataclass
class Stored:
    """A history and how events get into it (returning them with their positions)."""

    history: History
    record: Callable[[EventBatch], EventBatch]


def _positioned(start: int, batch: EventBatch) -> EventBatch:
    n = len(batch)
    return batch.with_positions(np.arange(start, start + n), np.arange(n) % 3)


@pytest.fixture(params=["embedded", "postgres"])
def stored(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stored]:
    if request.param == "embedded":
        log = EmbeddedEventLog.open(tmp_path / "log")
        history: History = EmbeddedHistory(tmp_path / "log")

        def append(batch: EventBatch) -> EventBatch:
            appended = log.append(batch)
            history.write(appended)
            return appended

        yield Stored(history, append)
        log.close()
    else:
        postgres = PostgresHistory.connect(request.getfixturevalue("postgres_database"))
        postgres.migrate()
        written = [0]

        def write(batch: EventBatch) -> EventBatch:
            placed = _positioned(written[0], batch)
            written[0] += len(batch)
            postgres.write(placed)
            return placed

        yield Stored(postgres, write)
        history = postgres
    history.close()


def shuffled(n: int, seed: int = 0) -> EventBatch:
    """``n`` events written in a random time order."""
    batch = sequence_batch(n)
    return batch.take(np.random.default_rng(seed).permutation(n))


def scan_all(history: History, **window: int) -> EventBatch:
    return EventBatch.concat(list(history.scan(**window)))


def test_scan_returns_every_event_in_time_order(stored: Stored) -> None:
    written = stored.record(shuffled(500))

    scanned = scan_all(stored.history)

    assert (np.diff(scanned.timestamp) >= 0).all()
    assert records_by_position(scanned) == records_by_position(written)
    assert list(scanned.records()) == list(written.take(sorted_order(written)).records())


def test_scan_streams_chunks_of_the_requested_size(stored: Stored) -> None:
    stored.record(shuffled(250))

    sizes = [len(chunk) for chunk in stored.history.scan(chunk_size=100)]

    assert sizes == [100, 100, 50]


def test_time_window_includes_since_and_excludes_until(stored: Stored) -> None:
    stored.record(shuffled(300))

    window = scan_all(stored.history, since_ms=BASE_MS + 100, until_ms=BASE_MS + 200)

    assert window.timestamp.tolist() == list(range(BASE_MS + 100, BASE_MS + 200))
    assert len(scan_all(stored.history, since_ms=BASE_MS + 290)) == 10
    assert len(scan_all(stored.history, until_ms=BASE_MS + 10)) == 10
    assert len(scan_all(stored.history, since_ms=BASE_MS + 10_000)) == 0


def test_rewriting_logged_events_stores_them_once(stored: Stored) -> None:
    written = stored.record(shuffled(200))

    stored.history.write(written)
    stored.history.write(written.take(slice(50, 150)))

    assert stored.history.count() == 200
    assert records_by_position(scan_all(stored.history)) == records_by_position(written)


def test_count_grows_with_each_write(stored: Stored) -> None:
    assert stored.history.count() == 0
    stored.record(sequence_batch(120))
    stored.record(sequence_batch(80, start=120))
    assert stored.history.count() == 200

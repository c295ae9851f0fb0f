"""What the archiver tests share: reading back the history, stepping archivers."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

from streamrec.events import EventBatch
from streamrec.history.archive import HistoryArchiver
from streamrec.history.postgres import PostgresHistory
from streamrec.log.kafka import KafkaEventLog
from tests.integration.helpers import records_by_position, sequence_batch


def append(log: KafkaEventLog, n: int, chunk: int = 1_000, start: int = 0) -> EventBatch:
    """Append events ``start…start + n`` of :func:`sequence_batch` in chunks; return
    them with their positions."""
    end = start + n
    return EventBatch.concat(
        log.append(sequence_batch(min(chunk, end - first), start=first))
        for first in range(start, end, chunk)
    )


def migrated(url: str) -> str:
    """``url`` after creating the history schema there."""
    history = PostgresHistory.connect(url)
    try:
        history.migrate()
    finally:
        history.close()
    return url


def stored_positions(url: str) -> list[tuple[int, int]]:
    """Every stored ``(partition, offset)``, duplicates kept, in order."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            'SELECT "partition", "offset" FROM events ORDER BY "partition", "offset"'
        ).fetchall()
    return [(int(p), int(o)) for p, o in rows]


def stored_records(url: str) -> dict[tuple[int, int], dict[str, object]]:
    """``{(partition, offset): wire record}`` of every stored event."""
    history = PostgresHistory.connect(url)
    try:
        return records_by_position(EventBatch.concat(list(history.scan())))
    finally:
        history.close()


def stored_count(url: str) -> int:
    """How many events the history holds."""
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT count(*) FROM events").fetchone()
    return int(row[0]) if row else 0


def step_until(
    archivers: list[HistoryArchiver],
    done: Callable[[], bool],
    timeout_s: float = 60.0,
    after_step: Callable[[], None] | None = None,
) -> None:
    """Step every archiver in turn until ``done()``; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, [a.status() for a in archivers]
        for archiver in archivers:
            archiver.step()
        if after_step is not None:
            after_step()


def wait_until(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Sleep in short steps until ``done()``; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"{what} not reached in {timeout_s} s"
        time.sleep(0.2)

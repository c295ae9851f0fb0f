"""A PostgreSQL outage in the middle of a stream: the archiver buffers within its
bound, backs off, lets the lag grow, and once the server is back stores every event
exactly once.

The server is this test's own: it is shut down (open connections cut) and started
again on the same port and data directory while events keep arriving.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from streamrec.config import ArchiveSettings
from streamrec.events import EventBatch
from streamrec.history.archive import HistoryArchiver
from streamrec.history.postgres import PostgresHistory
from streamrec.log.kafka import KafkaEventLog
from streamrec.testing import PostgresServer
from tests.integration.archiving import (
    append,
    migrated,
    step_until,
    stored_positions,
    stored_records,
)
from tests.integration.helpers import records_by_position

pytestmark = pytest.mark.integration

SETTINGS = ArchiveSettings(
    batch_size=500, buffer_events=3_000, poll_timeout_ms=50, backoff_base_s=0.05, backoff_max_s=0.5
)


@pytest.fixture
def log(kafka_url: str, topic: str) -> Iterator[KafkaEventLog]:
    opened = KafkaEventLog.connect(f"{kafka_url}/{topic}?partitions=4")
    yield opened
    opened.close()


def test_an_outage_buffers_within_the_bound_backs_off_and_loses_nothing(
    log: KafkaEventLog, restartable_postgres_server: PostgresServer, topic: str
) -> None:
    server = restartable_postgres_server
    url = migrated(server.url)
    archiver = HistoryArchiver(log, lambda: PostgresHistory.connect(url), SETTINGS, f"h-{topic}")
    sent = [append(log, 2_000)]
    try:
        step_until([archiver], lambda: archiver.archived_events == 2_000)
        before = archiver.consumer.committed()
        server.stop()
        outage_started = time.monotonic()
        buffered: list[int] = []
        lags: list[int] = []
        for round_ in range(8):  # 8,000 more events while the server is down
            sent.append(append(log, 1_000, start=2_000 + 1_000 * round_))
            until = time.monotonic() + 0.5
            while time.monotonic() < until:
                archiver.step()
                buffered.append(archiver.status().buffered_events)
            lags.append(archiver.lag().total)
        outage_s = time.monotonic() - outage_started
        down = archiver.status()
        committed_while_down = archiver.consumer.committed()

        server.start()
        step_until([archiver], lambda: archiver.archived_events == 10_000, timeout_s=120)
        assert archiver.lag().total == 0
        assert archiver.consumer.committed() == log.end_positions()
        after = archiver.status()
    finally:
        archiver.close()

    assert max(buffered) == SETTINGS.buffer_events and down.paused  # full, never more
    assert lags == [1_000 * (k + 1) for k in range(8)]  # nothing stored, nothing lost
    assert down.archived_events == 2_000 and down.last_error is not None
    assert committed_while_down == before  # no commit without a write
    cap = SETTINGS.backoff_max_s
    assert 3 <= down.failed_writes <= 6 + outage_s / cap  # backed off, then every cap
    assert after.last_error is None and after.buffered_events == 0 and not after.paused
    everything = EventBatch.concat(sent)
    assert stored_positions(url) == sorted(records_by_position(everything))
    assert stored_records(url) == records_by_position(everything)

"""What only the PostgreSQL history does: migrations, unlogged events, errors."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from streamrec.errors import BackendUnavailable, ConfigError, InvalidInput
from streamrec.events import EventBatch
from streamrec.history.postgres import MIGRATIONS, PostgresHistory
from streamrec.testing.process import free_port
from tests.integration.helpers import sequence_batch


@pytest.fixture
def history(postgres_database: str) -> Iterator[PostgresHistory]:
    opened = PostgresHistory.connect(postgres_database)
    yield opened
    opened.close()


@pytest.mark.integration
def test_connect_creates_nothing_and_migrate_is_explicit(
    history: PostgresHistory, postgres_database: str
) -> None:
    assert history.schema_version() == 0
    with pytest.raises(ConfigError, match="migration"):
        history.count()

    assert history.migrate() == len(MIGRATIONS)
    assert history.migrate() == len(MIGRATIONS)
    assert history.schema_version() == len(MIGRATIONS)
    with psycopg.connect(postgres_database) as check:
        versions = check.execute("SELECT version FROM streamrec_schema").fetchall()
    assert versions == [(v + 1,) for v in range(len(MIGRATIONS))]


@pytest.mark.integration
def test_events_without_log_positions_are_all_kept(history: PostgresHistory) -> None:
    history.migrate()
    unlogged = sequence_batch(40)
    assert (unlogged.offset == -1).all()

    history.write(unlogged)
    history.write(unlogged)

    assert history.count() == 80
    scanned = EventBatch.concat(list(history.scan()))
    assert (scanned.offset == -1).all()
    assert list(scanned.records())[::2] == list(unlogged.records())


@pytest.mark.integration
def test_a_failed_write_stores_nothing(history: PostgresHistory) -> None:
    history.migrate()
    batch = sequence_batch(10)
    broken = EventBatch.concat([batch, batch.take(slice(0, 1))])
    broken.user_id[-1] = "\x00"

    with pytest.raises(InvalidInput, match="cannot store"):
        history.write(broken)

    assert history.count() == 0
    history.write(batch)
    assert history.count() == 10


def test_an_absent_server_is_unavailable() -> None:
    with pytest.raises(BackendUnavailable):
        PostgresHistory.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x", timeout_s=2)

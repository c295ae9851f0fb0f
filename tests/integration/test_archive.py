"""The history archiver against real servers: Kafka topic in, PostgreSQL rows out.

Every event appended to the topic is stored exactly once, equal to what was sent;
the group's offsets never pass what PostgreSQL holds; restarts (clean, from
rewound offsets, after SIGKILL) and rebalances store nothing twice.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

from streamrec.cli import main
from streamrec.config import ArchiveSettings
from streamrec.events import EventBatch
from streamrec.history.archive import HistoryArchiver
from streamrec.history.postgres import PostgresHistory
from streamrec.log.kafka import KafkaEventLog
from streamrec.scaleout.cluster import LocalCluster, start_archiver
from streamrec.testing.process import free_port, running
from tests.integration.archiving import (
    append,
    migrated,
    step_until,
    stored_count,
    stored_positions,
    stored_records,
    wait_until,
)
from tests.integration.helpers import records_by_position, sequence_batch
from tests.integration.test_kafka_log import read_topic
from tests.integration.test_scaleout import _scrapes, scrape

pytestmark = pytest.mark.integration

PARTITIONS = 4
SMALL = ArchiveSettings(
    batch_size=400, buffer_events=2_000, poll_timeout_ms=50, backoff_base_s=0.05, backoff_max_s=0.4
)


@pytest.fixture
def log(kafka_url: str, topic: str) -> Iterator[KafkaEventLog]:
    opened = KafkaEventLog.connect(f"{kafka_url}/{topic}?partitions={PARTITIONS}")
    yield opened
    opened.close()


@pytest.fixture
def history_url(postgres_database: str) -> str:
    return migrated(postgres_database)


@pytest.fixture
def group(topic: str) -> str:
    return f"history-{topic}"


def reset_group(log: KafkaEventLog, group: str) -> None:
    """Commit offset 0 on every partition for ``group`` (no member may be active)."""
    target = log.connection.target
    resetter = Consumer({"bootstrap.servers": target.bootstrap, "group.id": group})
    try:
        offsets = [TopicPartition(target.topic, p, 0) for p in log.partitions]
        resetter.commit(offsets=offsets, asynchronous=False)
    finally:
        resetter.close()


def test_every_event_is_stored_once_and_committed_only_after_its_write(
    log: KafkaEventLog, history_url: str, group: str
) -> None:
    sent = append(log, 3_000)
    archiver = HistoryArchiver(log, lambda: PostgresHistory.connect(history_url), SMALL, group)
    committed_runs: list[dict[int, int]] = []

    def committed_is_stored() -> None:
        committed = archiver.consumer.committed()
        stored = set(stored_positions(history_url))
        for partition, offset in committed.items():
            assert all((partition, o) in stored for o in range(offset)), (partition, offset)
        committed_runs.append(committed)

    try:
        step_until([archiver], lambda: archiver.archived_events == 3_000, 60, committed_is_stored)
        assert archiver.lag().total == 0
        status = archiver.status()
    finally:
        archiver.close()
    assert len({tuple(sorted(c.items())) for c in committed_runs}) > 3  # it committed as it went
    assert stored_positions(history_url) == sorted(records_by_position(sent))
    assert stored_records(history_url) == records_by_position(sent)
    assert status.failed_writes == 0 and status.buffered_events == 0
    assert status.last_error is None and status.rejected_events == 0


def test_restarts_store_nothing_twice(log: KafkaEventLog, history_url: str, group: str) -> None:
    sent = append(log, 3_000)
    first = HistoryArchiver(log, lambda: PostgresHistory.connect(history_url), SMALL, group)
    try:
        step_until([first], lambda: first.archived_events >= 1_000)
    finally:
        first.close()
    assert stored_count(history_url) < 3_000, "the first archiver stored everything"
    clean = HistoryArchiver(log, lambda: PostgresHistory.connect(history_url), SMALL, group)
    try:  # goes on from the committed offsets
        step_until([clean], lambda: stored_count(history_url) == 3_000)
        assert first.archived_events + clean.archived_events == 3_000
    finally:
        clean.close()

    reset_group(log, group)  # as after a crash between the write and the commit
    again = HistoryArchiver(log, lambda: PostgresHistory.connect(history_url), SMALL, group)
    try:
        step_until([again], lambda: again.archived_events == 3_000)
        assert again.lag().total == 0
    finally:
        again.close()
    assert stored_positions(history_url) == sorted(records_by_position(sent))
    assert stored_records(history_url) == records_by_position(sent)


def test_an_event_no_history_may_hold_is_dead_lettered_and_the_rest_stored(
    log: KafkaEventLog, history_url: str, group: str
) -> None:
    good = sequence_batch(200)
    poison = sequence_batch(1, start=200)
    # PostgreSQL text cannot hold a NUL, so no id may: the consumer's validation
    # dead-letters the record before it reaches the archiver
    poison.user_id[0] = "nul\x00user"
    mixed = [good.take(slice(0, 120)), poison, good.take(slice(120, None))]
    sent = records_by_position(log.append(EventBatch.concat(mixed)))
    archiver = HistoryArchiver(log, lambda: PostgresHistory.connect(history_url), SMALL, group)
    try:
        step_until([archiver], lambda: archiver.archived_events == 200)
        assert archiver.lag().total == 0
        assert archiver.consumer.committed() == log.end_positions()
        status = archiver.status()
    finally:
        archiver.close()
    assert status.rejected_events == 0 and status.failed_writes == 0
    (refused,) = [place for place, record in sent.items() if record["user_id"] == "nul\x00user"]
    assert stored_records(history_url) == {p: r for p, r in sent.items() if p != refused}
    target = log.connection.target
    (letter,) = read_topic(target.bootstrap, target.dead_letter_topic, 1)
    assert (letter["partition"], letter["offset"]) == refused
    assert letter["source_topic"] == target.topic and "user_id" in str(letter["reason"])
    assert orjson.loads(str(letter["payload"])) == sent[refused]


def test_a_rebalance_moves_partitions_without_storing_anything_twice(
    log: KafkaEventLog, history_url: str, group: str, postgres_database: str
) -> None:
    """The first archiver loses its write permission midway and fills its buffer; a
    second one joins: the partitions it takes are stored by it, from the first
    one's committed offsets, and the first one's buffer forgets them."""
    sent = append(log, 4_000)
    role = f"archiver_{group.replace('-', '_')}"
    with psycopg.connect(postgres_database, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"GRANT SELECT, INSERT ON events TO {role}")
    as_role = history_url.replace("postgres@", f"{role}@", 1)
    settings = SMALL.model_copy(update={"buffer_events": 1_200})
    first = HistoryArchiver(log, lambda: PostgresHistory.connect(as_role), settings, group)
    second: HistoryArchiver | None = None
    try:
        step_until([first], lambda: first.archived_events >= 1_000)
        with psycopg.connect(postgres_database, autocommit=True) as admin:
            admin.execute(f"REVOKE INSERT ON events FROM {role}")
        step_until([first], lambda: first.status().paused)
        assert first.status().buffered_events == 1_200 and first.failed_writes > 0
        stored_by_first = first.archived_events

        second = HistoryArchiver(log, lambda: PostgresHistory.connect(history_url), SMALL, group)
        joined = second

        def joined_caught_up() -> bool:
            owned = joined.consumer.assignment()
            lag = joined.lag().partitions
            return bool(owned) and all(lag[p] == 0 for p in owned)

        step_until([first, joined], joined_caught_up)
        assert 0 < len(first.consumer.assignment()) < PARTITIONS
    finally:
        first.close()
    assert second is not None
    try:
        step_until([second], lambda: stored_count(history_url) == 4_000)
        assert second.lag().total == 0
    finally:
        second.close()
    assert first.archived_events == stored_by_first
    assert first.archived_events + second.archived_events == 4_000  # nothing read twice
    assert stored_positions(history_url) == sorted(records_by_position(sent))
    assert stored_records(history_url) == records_by_position(sent)


@pytest.mark.slow
def test_the_archive_command_survives_sigkill(
    log: KafkaEventLog, history_url: str, group: str, tmp_path: Path
) -> None:
    sent = append(log, 30_000, chunk=5_000)
    url = log.connection.target
    log_url = f"kafka://{url.bootstrap}/{url.topic}"
    victim = start_archiver(log_url, history_url, tmp_path / "victim.log", group)
    survivor = None
    try:
        wait_until(lambda: stored_count(history_url) >= 5_000, 60, "5,000 events stored")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        assert stored_count(history_url) < 30_000, "the stream ended before the kill"
        survivor = start_archiver(log_url, history_url, tmp_path / "survivor.log", group)
        wait_until(lambda: stored_count(history_url) == 30_000, 120, "30,000 events stored")
        time.sleep(1.0)  # nothing more arrives
    finally:
        LocalCluster(archivers=[victim] + ([survivor] if survivor else [])).down()
    assert stored_positions(history_url) == sorted(records_by_position(sent))


def test_wrong_urls_exit_2_naming_what_is_needed(
    capsys: pytest.CaptureFixture[str], kafka_url: str, postgres_database: str
) -> None:
    assert main(["archive", "--log", "redis://127.0.0.1:1/0", "--history", "embedded"]) == 2
    message = capsys.readouterr().err
    assert "--log kafka://" in message and "redis://127.0.0.1:1/0" in message
    assert "'embedded' is not postgresql://" in message
    assert main(["archive", "--log", f"{kafka_url}/bad topic", "--history", postgres_database]) == 2
    assert "valid topic" in capsys.readouterr().err
    assert main(["archive", "--log", f"{kafka_url}/t", "--history", postgres_database]) == 2
    assert "streamrec migrate" in capsys.readouterr().err  # not migrated yet


def test_the_archiver_serves_its_lag_batches_and_write_latency(
    log: KafkaEventLog, history_url: str, tmp_path: Path
) -> None:
    url = log.connection.target
    log_url = f"kafka://{url.bootstrap}/{url.topic}"
    port = free_port()
    metrics = f"http://127.0.0.1:{port}"
    group = "archive-metrics"
    argv = [sys.executable, "-m", "streamrec", "archive", "--log", log_url]
    argv += ["--history", history_url, "--group", group, "--metrics-port", str(port)]
    with running(
        "streamrec archive",
        argv,
        log_path=tmp_path / "archive.log",
        ready=lambda: _scrapes(metrics),
        timeout_s=120,
    ):
        append(log, 3_000)
        wait_until(lambda: stored_count(history_url) == 3_000, 60, "3,000 stored events")
        deadline = time.monotonic() + 30
        while True:  # the lag gauge is refreshed by the archiver's own steps
            samples = scrape(metrics)
            lag = {
                dict(labels)["partition"]: value
                for (name, labels), value in samples.items()
                if name == "streamrec_consumer_lag_events"
            }
            if len(lag) == PARTITIONS and not any(lag.values()):
                break
            assert time.monotonic() < deadline, lag
            time.sleep(0.5)
    by_group = frozenset({("group", group)})
    assert samples["streamrec_consumer_events_total", by_group] == 3_000
    batches = samples["streamrec_consumer_write_seconds_count", by_group]
    assert batches >= 1 and samples["streamrec_consumer_batch_events_sum", by_group] == 3_000
    assert samples["streamrec_consumer_failures_total", by_group] == 0
    assert samples["streamrec_build_info", frozenset({("role", "archive"), ("version", "0.1.0")})]

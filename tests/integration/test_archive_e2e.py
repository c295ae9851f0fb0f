"""The scale-out topology with its history: HTTP in, PostgreSQL rows, training, hot swap.

One worker, one API replica and the archiver run as OS processes
(:func:`~streamrec.scaleout.cluster.cluster_up`). Events POSTed to the replica reach
PostgreSQL through Kafka; ``streamrec train --history postgresql://…`` trains on
them and publishes into the replica's data directory, which it swaps in. Then the
same with the PostgreSQL server stopped while events keep arriving.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson
import pytest

from streamrec.cli import main
from streamrec.datasets import SyntheticShop
from streamrec.events import EventBatch
from streamrec.models.store import ModelStore
from streamrec.scaleout.cluster import cluster_up
from streamrec.testing import PostgresServer
from tests.integration.archiving import stored_count, stored_records, wait_until
from tests.integration.test_redis_state import new_prefix

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SHOP = SyntheticShop(n_users=200, n_items=80, n_categories=4, seed=5)


def post(api: str, batches: list[EventBatch]) -> list[dict[str, object]]:
    """POST each batch to the replica; return every record sent."""
    sent: list[dict[str, object]] = []
    with httpx.Client(base_url=api, timeout=30) as client:
        for batch in batches:
            records = list(batch.records())
            answer = client.post("/v1/events", json={"events": records})
            assert answer.status_code == 202 and answer.json()["accepted"] == len(records)
            sent += records
    return sent


def canonical(records: list[dict[str, object]]) -> list[bytes]:
    """Records in one order, comparable as a multiset."""
    return sorted(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) for r in records)


def train(history_url: str, data_dir: Path) -> str:
    """``streamrec train`` on the history; the version it published."""
    assert main(["train", "--history", history_url, "--data-dir", str(data_dir)]) == 0
    version = ModelStore(data_dir / "models").latest_version()
    assert version is not None
    return version


def assert_serves(api: str, version: str, user: object) -> None:
    """The replica swaps ``version`` in (it watches the store every 5 s) and uses it."""
    wait_until(
        lambda: httpx.get(f"{api}/readyz", timeout=5).json()["model_version"] == version,
        30,
        f"model version {version} served",
    )
    answer = httpx.get(f"{api}/v1/users/{user}/recommendations?k=5", timeout=10)
    assert answer.status_code == 200 and answer.json()["model_version"] == version


def test_posted_events_are_archived_trained_on_and_swapped_in_across_an_outage(
    kafka_url: str,
    topic: str,
    redis_url: str,
    restartable_postgres_server: PostgresServer,
    tmp_path: Path,
) -> None:
    server = restartable_postgres_server
    history_url = server.url
    assert main(["migrate", "--history", history_url]) == 0
    log_url = f"{kafka_url}/{topic}?partitions=4"
    state_url = f"{redis_url}?prefix={new_prefix()}"
    data_dir = tmp_path / "data"
    batches = list(SHOP.events(8_000, chunk_size=1_000))
    with cluster_up(
        1,
        1,
        log_url,
        state_url,
        history_url,
        log_dir=tmp_path,
        data_dir=data_dir,
        group=f"state-{topic}",
        archive_group=f"history-{topic}",
        ready_timeout_s=180,  # three interpreters start at once on a busy machine
    ) as topology:
        (api,) = topology.api_urls
        assert httpx.get(f"{api}/readyz", timeout=5).json()["model_version"] is None

        sent = post(api, batches[:5])
        wait_until(lambda: stored_count(history_url) == 5_000, 60, "5,000 events archived")
        assert canonical(list(stored_records(history_url).values())) == canonical(sent)
        first = train(history_url, data_dir)
        assert_serves(api, first, sent[0]["user_id"])

        server.stop()
        sent += post(api, batches[5:])  # the replica takes events while the history is down
        time.sleep(3.0)  # the archiver buffers and backs off
        assert httpx.get(f"{api}/readyz", timeout=5).status_code == 200
        server.start()
        wait_until(lambda: stored_count(history_url) == 8_000, 90, "8,000 events archived")
        time.sleep(1.0)
        assert stored_count(history_url) == 8_000  # and no more
        assert canonical(list(stored_records(history_url).values())) == canonical(sent)
        second = train(history_url, data_dir)
        assert second != first
        assert_serves(api, second, sent[0]["user_id"])
        assert all(p.poll() is None for p in topology.archivers)
    assert all(p.returncode is not None for p in topology.archivers)

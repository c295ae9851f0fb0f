"""The scale-out topology (Kafka + worker processes + Redis) against the embedded one.

Workers run as real OS processes in one consumer group; one is killed with SIGKILL
mid-stream in the crash test. The reference is the memory state fed the same events
in one process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from streamrec.config import ProcessorSettings
from streamrec.errors import BackendUnavailable
from streamrec.events import EventBatch
from streamrec.log.kafka import KafkaEventLog
from streamrec.recommend.recommender import Recommender
from streamrec.scaleout.cluster import LocalCluster, cluster_up, start_worker
from streamrec.scaleout.worker import Worker
from streamrec.state.base import Ranking
from streamrec.state.memory import MemoryState
from streamrec.state.redis import RedisState
from streamrec.testing.process import free_port, running
from tests.integration.test_redis_state import (
    SETTINGS,
    all_items,
    all_users,
    assert_same_profile,
    assert_same_ranking,
    assert_same_stats,
    new_prefix,
    shop,
)

pytestmark = pytest.mark.integration

PARTITIONS = 4


@pytest.fixture
def group(topic: str) -> str:
    """A consumer group of this test only (a killed member lingers in its group)."""
    return f"group-{topic}"


@pytest.fixture
def log_url(kafka_url: str, topic: str) -> Iterator[str]:
    url = f"{kafka_url}/{topic}?partitions={PARTITIONS}"
    KafkaEventLog.connect(url).close()
    yield url


@pytest.fixture
def state(redis_url: str) -> Iterator[RedisState]:
    opened = RedisState.connect(SETTINGS, f"{redis_url}?prefix={new_prefix()}")
    yield opened
    opened.close()


def state_url(state: RedisState) -> str:
    return f"{state.target.url}?prefix={state.target.prefix}"


def produce(log_url: str, n_events: int, chunk: int = 10_000) -> list[EventBatch]:
    """Append ``n_events`` synthetic events; return them as sent (in order)."""
    log = KafkaEventLog.connect(log_url)
    sent = []
    for batch in shop().events(n_events, chunk_size=chunk):
        log.append(batch)
        sent.append(batch)
    log.close()
    return sent


def wait_applied(state: RedisState, total: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(state.positions().values()) < total:
        assert time.monotonic() < deadline, f"{state.positions()} after {timeout_s} s"
        time.sleep(0.2)
    assert sum(state.positions().values()) == total


def embedded(batches: list[EventBatch]) -> MemoryState:
    memory = MemoryState(SETTINGS)
    for batch in batches:
        memory.apply(batch)
    return memory


def assert_equivalent(state: RedisState, memory: MemoryState, batches: list[EventBatch]) -> None:
    """Profiles, item statistics and every user's top-10 list agree.

    Stored decayed values differ by summation order and by each state's decay
    landmark; lists are cut in one order (score at a fixed relative resolution, then
    item id), so they are identical.
    """
    users, items = all_users(batches), all_items(batches)
    for user in users:
        assert_same_profile(state.profile(user), memory.profile(user))
    assert_same_stats(state.item_stats(items), memory.item_stats(items))
    for got, want in zip(state.neighbors(items, 10), memory.neighbors(items, 10), strict=True):
        assert_same_ranking(got, want)
    for ranking in Ranking:
        assert_same_ranking(state.top_items(ranking, 10), memory.top_items(ranking, 10))
    scaled, embedded = (Recommender(s, s, SETTINGS.recommend) for s in (state, memory))
    for user in users:
        found, expected = scaled.recommend(user, 10), embedded.recommend(user, 10)
        assert found.model_version == expected.model_version
        assert [i.item_id for i in found.items] == [i.item_id for i in expected.items], user
        np.testing.assert_allclose(
            [i.score for i in found.items], [i.score for i in expected.items], atol=2e-6
        )


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    LocalCluster(workers=workers).down()


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a ``/metrics`` endpoint, by name and labels."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _scrapes(url: str) -> bool:
    try:
        return httpx.get(f"{url}/metrics", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_two_workers_build_the_embedded_state(
    log_url: str, state: RedisState, tmp_path: Path, group: str
) -> None:
    sent = produce(log_url, 20_000)
    workers = [
        start_worker(log_url, state_url(state), tmp_path / f"w{i}.log", group) for i in range(2)
    ]
    try:
        wait_applied(state, 20_000, timeout_s=120)
    finally:
        stop(workers)
    assert_equivalent(state, embedded(sent), sent)


def test_a_worker_serves_its_lag_batches_and_write_latency(
    log_url: str, state: RedisState, tmp_path: Path, group: str
) -> None:
    port = free_port()
    metrics = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "streamrec", "process", "--log", log_url]
    argv += ["--state", state_url(state), "--group", group, "--metrics-port", str(port)]
    with running(
        "streamrec process", argv, log_path=tmp_path / "worker.log", ready=lambda: _scrapes(metrics)
    ):
        produce(log_url, 5_000, chunk=1_000)
        wait_applied(state, 5_000, timeout_s=60)
        deadline = time.monotonic() + 30
        while True:  # the lag gauge is read at scrape time, from the broker
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
    assert set(lag) == {str(p) for p in range(PARTITIONS)}
    assert all(dict(labels)["group"] == group for name, labels in samples if "consumer" in name)
    by_group = frozenset({("group", group)})
    assert samples["streamrec_consumer_events_total", by_group] == 5_000
    batches = samples["streamrec_consumer_batch_events_count", by_group]
    assert batches >= 1 and samples["streamrec_consumer_batch_events_sum", by_group] == 5_000
    assert samples["streamrec_consumer_write_seconds_count", by_group] == batches
    assert samples["streamrec_consumer_failures_total", by_group] == 0
    build = frozenset({("role", "process"), ("version", "0.1.0")})
    assert samples["streamrec_build_info", build] == 1
    assert not _scrapes(metrics)  # the endpoint stopped with the worker


@pytest.mark.slow
def test_a_killed_worker_loses_and_duplicates_nothing(
    log_url: str, state: RedisState, tmp_path: Path, group: str
) -> None:
    total = 100_000
    sent = produce(log_url, total)
    url = state_url(state)
    workers = [start_worker(log_url, url, tmp_path / f"w{i}.log", group) for i in range(2)]
    try:
        deadline = time.monotonic() + 60
        while sum(state.positions().values()) < total // 4:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait()
        assert sum(state.positions().values()) < total, "the stream ended before the kill"
        # the survivor takes the victim's partitions after the session timeout
        wait_applied(state, total, timeout_s=300)
    finally:
        stop(workers)
    memory = embedded(sent)
    assert_equivalent(state, memory, sent)
    counted = sum(sum(s.counts.values()) for s in state.item_stats(all_items(sent)) if s)
    assert counted == total


class FailingOnce:
    """A state whose second write fails, as when Redis drops a connection."""

    def __init__(self, state: RedisState) -> None:
        self.state = state
        self.writes = 0

    def apply(self, batch: EventBatch) -> None:
        self.writes += 1
        if self.writes == 2:
            raise BackendUnavailable("Redis apply failed: connection reset")
        self.state.apply(batch)

    def positions(self) -> dict[int, int]:
        return self.state.positions()


def test_a_worker_survives_poison_and_failed_writes(
    log_url: str, state: RedisState, group: str
) -> None:
    log = KafkaEventLog.connect(log_url)
    target = log.connection.target
    batches = list(shop().events(3_000, chunk_size=500))
    raw = Producer({"bootstrap.servers": target.bootstrap})
    for batch in batches:
        log.append(batch)
        raw.produce(target.topic, value=b"{not json", key=b"u1")
    assert raw.flush(10) == 0
    flaky = FailingOnce(state)
    worker = Worker(log, flaky, ProcessorSettings(max_batch=700), group)  # type: ignore[arg-type]
    stop = threading.Event()
    runner = threading.Thread(target=worker.run, args=(stop,))
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while worker.lag() != 0 or worker.applied_events < 3_000:
            assert time.monotonic() < deadline, worker.status()
            time.sleep(0.1)
        stop.set()
        runner.join()
        assert flaky.writes > 2 and worker.status().failed_steps == 1
        assert worker.consumer.committed() == worker.consumer.positions()
        assert sum(worker.consumer.committed().values()) == 3_000 + len(batches)  # + poison
    finally:
        stop.set()
        runner.join()
        worker.close()
        log.close()
    assert_equivalent(state, embedded(batches), batches)


def test_cluster_up_serves_events_and_recommendations(
    log_url: str, state: RedisState, tmp_path: Path, group: str
) -> None:
    with cluster_up(1, 2, log_url, state_url(state), log_dir=tmp_path, group=group) as topology:
        first, second = topology.api_urls
        events = [
            {"user_id": f"u{u}", "item_id": f"i{i}", "type": "view", "timestamp": 1_700_000_000_000}
            for u in range(5)
            for i in range(u, u + 4)
        ]
        posted = httpx.post(f"{first}/v1/events?wait=true", json={"events": events}, timeout=30)
        assert posted.status_code == 202, posted.text
        # the other replica reads the same state
        answer = httpx.get(f"{second}/v1/users/u1/recommendations?k=3", timeout=10).json()
        assert answer["fallback"] is False
        assert len(answer["items"]) == 3
        popular = httpx.get(f"{second}/v1/items/popular?k=2", timeout=10).json()
        assert {i["item_id"] for i in popular["items"]} == {"i3", "i4"}  # 4 views each
        similar = httpx.get(f"{first}/v1/items/i1/similar?k=10", timeout=10).json()
        assert {i["item_id"] for i in similar["items"]} == {"i0", "i2", "i3", "i4"}
        overview = httpx.get(f"{second}/ui/", timeout=10).text  # the dashboard of a replica
        assert 'id="events-total">20<' in overview
        assert 'id="users">—<' in overview  # Redis does not count its users without a scan
        assert 'data-item-id="i3"' in httpx.get(f"{second}/ui/shop", timeout=10).text
    assert all(p.returncode is not None for p in [*topology.apis, *topology.workers])


def test_the_api_answers_from_popularity_while_redis_is_down(
    log_url: str, state: RedisState, tmp_path: Path, group: str
) -> None:
    with cluster_up(1, 1, log_url, state_url(state), log_dir=tmp_path, group=group) as topology:
        (api,) = topology.api_urls
        bought = {"u0": "i0", "u1": "i0", "u2": "i0", "u3": "i1", "u4": "i1", "u5": "i2"}
        events = [
            {"user_id": user, "item_id": item, "type": "purchase", "timestamp": 1}
            for user, item in bought.items()
        ] + [{"user_id": "u0", "item_id": "i9", "type": "view", "timestamp": 2}]
        posted = httpx.post(f"{api}/v1/events?wait=true", json={"events": events}, timeout=30)
        assert posted.status_code == 202, posted.text
        healthy = httpx.get(f"{api}/v1/users/u0/recommendations?k=2", timeout=10).json()
        assert healthy["fallback"] is False
        popular = httpx.get(f"{api}/v1/items/popular?k=3", timeout=10).json()
        server = int(state.client.info("server")["process_id"])
        os.kill(server, signal.SIGSTOP)
        try:
            down = httpx.get(f"{api}/v1/users/u0/recommendations?k=3", timeout=10)
            ranked = httpx.get(f"{api}/v1/items/popular?k=3", timeout=10)
        finally:
            os.kill(server, signal.SIGCONT)
        assert down.status_code == 200 and down.json()["fallback"] is True
        # the user looks cold: the popular list, seen items included
        assert [i["item_id"] for i in down.json()["items"]] == ["i0", "i1", "i2"]
        assert [i["item_id"] for i in popular["items"]] == ["i0", "i1", "i2"]
        assert ranked.status_code == 200 and ranked.json()["items"] == popular["items"]
        deadline = time.monotonic() + 10
        while True:  # recovers once the cool-down is over
            again = httpx.get(f"{api}/v1/users/u0/recommendations?k=2", timeout=10).json()
            if not again["fallback"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert again == {**healthy, "recommendation_id": again["recommendation_id"]}
        samples = scrape(api)
    served = "streamrec_lists_served_total"
    degraded = frozenset({("list", "recommendations"), ("fallback", "true")})
    assert samples[served, degraded] >= 1
    assert samples[served, frozenset({("list", "popular"), ("fallback", "true")})] == 1
    ranking = "streamrec_cache_requests_total"
    assert samples[ranking, frozenset({("cache", "rankings"), ("result", "miss")})] >= 1

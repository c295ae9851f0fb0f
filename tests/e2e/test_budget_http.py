"""The latency budget over HTTP: a source past the deadline is dropped and named in
``degraded``; a source that raises is isolated and logged; the list is served from
the other sources either way."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from streamrec.bootstrap import in_memory_engine
from streamrec.config import Settings
from streamrec.engine import Engine
from streamrec.recommend.recommender import Recommender
from streamrec.recommend.types import SourceKind, SourceRows, StateIds
from streamrec.serving.app import create_app
from streamrec.state.base import UserArrays


class SleepySource:
    """Proposes every known item, after sleeping for ``delay_s``."""

    name = "sleepy"
    kind: SourceKind = "content"

    def __init__(self, engine: Engine[Any], delay_s: float) -> None:
        self.engine = engine
        self.delay_s = delay_s
        self.woke = threading.Event()

    def candidates(self, user: UserArrays | None, n: int, ids: StateIds) -> SourceRows:
        time.sleep(self.delay_s)
        self.woke.set()
        known = self.engine.state.item_ids(["late-pick"])
        return SourceRows(known, np.ones(1), "from the slow source")

    def similar(self, item_id: str, n: int, ids: StateIds) -> SourceRows:
        return SourceRows.empty()


class BrokenSource:
    """Raises on every request."""

    name = "broken"
    kind: SourceKind = "content"

    def candidates(self, user: UserArrays | None, n: int, ids: StateIds) -> SourceRows:
        raise RuntimeError("the model file is corrupt")

    def similar(self, item_id: str, n: int, ids: StateIds) -> SourceRows:
        raise RuntimeError("the model file is corrupt")


@pytest.fixture()
def sleepy() -> list[SleepySource]:
    return []


@pytest.fixture()
def client(tmp_path: Path, sleepy: list[SleepySource]) -> Iterator[TestClient]:
    def factory(settings: Settings) -> Engine[Any]:
        engine: Engine[Any] = in_memory_engine(settings)
        slow = SleepySource(engine, delay_s=0.5)
        sleepy.append(slow)
        engine.use_recommender(
            Recommender(
                engine.state,
                engine.state,
                settings.recommend,
                sources=lambda: [slow, BrokenSource()],
            )
        )
        return engine

    with TestClient(create_app(Settings(data_dir=tmp_path), factory)) as test_client:
        items = [{"item_id": i, "title": i} for i in ("hit", "late-pick")]
        assert test_client.post("/v1/items", json={"items": items}).status_code == 200
        event = {"user_id": "other", "item_id": "hit", "type": "purchase", "timestamp": 1}
        assert test_client.post("/v1/events?wait=true", json=event).status_code == 202
        yield test_client


def test_a_source_past_the_budget_is_dropped_and_flagged(
    client: TestClient, sleepy: list[SleepySource], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        body = client.get("/v1/users/u/recommendations?budget_ms=50").json()
    assert body["degraded"] == ["sleepy", "broken"]
    assert [i["item_id"] for i in body["items"]] == ["hit"]
    assert not sleepy[0].woke.is_set()  # the list did not wait for it
    assert "the model file is corrupt" in caplog.text
    assert "sleepy missed the latency budget" in caplog.text


def test_without_a_budget_the_slow_source_is_waited_for(client: TestClient) -> None:
    body = client.get("/v1/users/u/recommendations").json()
    assert body["degraded"] == ["broken"]
    assert {i["item_id"] for i in body["items"]} == {"hit", "late-pick"}

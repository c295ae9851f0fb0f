"""Backpressure: a stalled processor makes ``POST /v1/events`` answer 503 with
``Retry-After`` once the lag passes the bound, the log stops growing (the backlog is
bounded), and writes are accepted again once the processor catches up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from streamrec.config import Settings
from streamrec.engine import Engine
from streamrec.events import EventBatch
from streamrec.serving.app import create_app

MAX_LAG = 1_000
BATCH = 100


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path,
        serving={"max_lag_events": MAX_LAG, "retry_after_s": 2.5, "replay_wait_s": 0},
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def _batch(n: int) -> dict[str, object]:
    return {
        "events": [
            {"user_id": f"u{(n + i) % 50}", "item_id": f"i{(n + i) % 70}", "type": "view"}
            for i in range(BATCH)
        ]
    }


def stall(engine: Engine[object]) -> threading.Event:  # type: ignore[type-var]
    """Hold the processor inside its next apply until the returned event is set."""
    release = threading.Event()
    state = engine.state
    apply = state.apply

    def gated(batch: EventBatch) -> None:
        release.wait()
        apply(batch)

    state.apply = gated  # type: ignore[method-assign]
    return release


def test_a_lagging_processor_turns_writes_away_until_it_catches_up(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    release = stall(engine)
    accepted = refused = 0
    for n in range(40):
        response = client.post("/v1/events", json=_batch(n * BATCH))
        if response.status_code == 202:
            accepted += 1
            continue
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "3"
        assert response.json()["error"]["code"] == "overloaded"
        refused += 1
    assert refused > 0 and accepted > 0
    end = engine.log.end_positions()[0]
    # the backlog stops at the bound: the last write let through was at most at it
    assert MAX_LAG < end <= MAX_LAG + BATCH
    assert engine.admission.refused == refused
    after = client.post("/v1/events", json=_batch(0))
    assert after.status_code == 503 and engine.log.end_positions()[0] == end  # nothing stored

    release.set()
    assert engine.catch_up(30)
    again = client.post("/v1/events?wait=true", json=_batch(0))
    assert again.status_code == 202, again.text
    ready = client.get("/readyz").json()
    assert ready["lag"] == 0
    assert sum(engine.state.positions().values()) == end + BATCH

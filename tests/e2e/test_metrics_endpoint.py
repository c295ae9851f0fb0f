"""``GET /metrics`` of the embedded engine: requests, errors, events, lists, caches,
freshness, the processor, the model and drift, as Prometheus parses them."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from streamrec.bootstrap.adapters import models_directory
from streamrec.config import DriftSettings, ServingSettings, Settings
from streamrec.datasets import SyntheticShop
from streamrec.models.settings import ModelSettings
from streamrec.models.store import ModelStore
from streamrec.models.trainer import train_models
from streamrec.serving.app import create_app

DRIFT = DriftSettings(block_events=20, window_blocks=2, reference_events=40)


def settings_in(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir, drift=DRIFT, serving=ServingSettings(max_events_per_request=50)
    )


def _boom() -> None:
    raise RuntimeError("a bug")


@pytest.fixture()
def app(tmp_path: Path) -> FastAPI:
    served = create_app(settings_in(tmp_path))
    served.add_api_route("/boom", _boom)  # an exception no handler maps
    return served


@pytest.fixture()
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


def events(types: list[str], user: str = "ann") -> dict[str, object]:
    return {
        "events": [
            {"user_id": user, "item_id": f"i{n % 5}", "type": t} for n, t in enumerate(types)
        ]
    }


def test_requests_by_route_method_status_and_errors_by_code(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/users/nobody/profile").status_code == 404
    assert client.get("/no/such/route").status_code == 404
    assert client.delete("/healthz").status_code == 405
    assert client.get("/v1/users/u/recommendations?k=0").status_code == 422
    assert client.get("/boom").status_code == 500
    samples = scrape(client)
    count = "streamrec_http_request_duration_seconds_count"
    assert value(samples, count, route="/healthz", method="GET", status="200") == 1
    profile = "/v1/users/{user_id}/profile"
    assert value(samples, count, route=profile, method="GET", status="404") == 1
    assert value(samples, count, route="unmatched", method="GET", status="404") == 1
    bucket = "streamrec_http_request_duration_seconds_bucket"
    assert value(samples, bucket, route="/healthz", method="GET", status="200", le="+Inf") == 1
    errors = "streamrec_http_errors_total"
    assert value(samples, errors, route=profile, status="404", code="not_found") == 1
    assert value(samples, errors, route="unmatched", status="404", code="not_found") == 1
    assert value(samples, errors, route="/healthz", status="405", code="method_not_allowed") == 1
    recommendations = "/v1/users/{user_id}/recommendations"
    assert value(samples, errors, route=recommendations, status="422", code="invalid_input") == 1
    assert value(samples, errors, route="/boom", status="500", code="internal") == 1
    assert not any(name == errors and ("status", "200") in labels for name, labels in samples)


def test_events_are_counted_by_type_and_rejected_batches_by_reason(client: TestClient) -> None:
    sent = client.post("/v1/events?wait=true", json=events(["view", "view", "impression", "click"]))
    assert sent.status_code == 202
    bad = {"events": [{"user_id": "", "item_id": "i", "type": "teleport", "colour": "red"}]}
    assert client.post("/v1/events", json=bad).status_code == 422
    assert client.post("/v1/events", content=b"{not json").status_code == 422
    assert client.post("/v1/events", json=events(["view"] * 51)).status_code == 422
    client.app.state.engine.log.close()  # type: ignore[attr-defined]
    assert client.post("/v1/events", json=events(["view"])).status_code == 503
    samples = scrape(client)
    accepted = "streamrec_events_accepted_total"
    assert value(samples, accepted, type="view") == 2
    assert value(samples, accepted, type="impression") == 1
    assert value(samples, accepted, type="click") == 1
    assert value(samples, accepted, type="purchase") == 0
    rejected = "streamrec_event_batches_rejected_total"
    assert value(samples, rejected, reason="invalid") == 2
    assert value(samples, rejected, reason="too_large") == 1
    assert value(samples, rejected, reason="log_unavailable") == 1
    problems = "streamrec_event_problems_total"
    assert value(samples, problems, field="user_id") == 1
    assert value(samples, problems, field="type") == 1
    assert value(samples, problems, field="other") == 1  # an unknown field: no new label
    assert value(samples, problems, field="body") == 1  # not JSON
    assert ("streamrec_event_problems_total", frozenset({("field", "events")})) not in samples
    assert value(samples, "streamrec_events_applied_total") == 4


def test_lists_caches_freshness_and_the_processor(client: TestClient) -> None:
    for user in ("ann", "bob"):
        sent = client.post("/v1/events?wait=true", json=events(["view"] * 4, user))
        assert sent.status_code == 202
    for _ in range(2):
        assert client.get("/v1/items/popular").status_code == 200
        assert client.get("/v1/items/i1/similar").status_code == 200
    assert client.get("/v1/items/trending").status_code == 200
    assert client.get("/v1/users/ann/recommendations").status_code == 200
    samples = scrape(client)
    served = "streamrec_lists_served_total"
    assert value(samples, served, list="popular", fallback="false") == 2
    assert value(samples, served, list="similar", fallback="false") == 2
    assert value(samples, served, list="trending", fallback="false") == 1
    assert value(samples, served, list="recommendations", fallback="false") == 1
    assert value(samples, served, list="recommendations", fallback="true") == 0
    lookups = "streamrec_cache_requests_total"
    assert value(samples, lookups, cache="rankings", result="hit") >= 1
    assert value(samples, lookups, cache="neighbors", result="hit") >= 1
    assert value(samples, lookups, cache="neighbors", result="miss") >= 1
    assert value(samples, "streamrec_freshness_seconds_count") == 2  # one per acknowledged POST
    group = "streamrec-state"
    assert value(samples, "streamrec_consumer_events_total", group=group) == 8
    assert value(samples, "streamrec_consumer_batch_events_sum", group=group) == 8
    assert value(samples, "streamrec_consumer_write_seconds_count", group=group) >= 1
    assert value(samples, "streamrec_consumer_failures_total", group=group) == 0
    assert value(samples, "streamrec_consumer_lag_events", group=group, partition="0") == 0
    assert value(samples, "streamrec_processing_lag_events") == 0
    assert value(samples, "streamrec_build_info", role="serve", version="0.1.0") == 1
    assert not any(name.startswith("streamrec_model_") for name, _ in samples)


def test_drift_gauges_and_engine_status_of_a_shifted_stream(client: TestClient) -> None:
    # reference: the first 40 events, 80 % views; the live window: 2 blocks of 20, 50/50
    first = (["view"] * 16 + ["purchase"] * 4) * 2
    shifted = (["view"] * 10 + ["purchase"] * 10) * 2
    for types in (first, shifted):
        assert client.post("/v1/events?wait=true", json=events(types)).status_code == 202
    for _ in range(16):  # a cold user's 5 items: 40 scores of reference, then 2 live blocks
        assert len(client.get("/v1/users/zed/recommendations").json()["items"]) == 5
    samples = scrape(client)
    hand = (0.5 - 0.8) * math.log(0.5 / 0.8) + (0.5 - 0.2) * math.log(0.5 / 0.2)
    psi = value(samples, "streamrec_drift_psi", feature="event_type")
    assert psi == pytest.approx(hand, abs=1e-6)
    assert value(samples, "streamrec_drift_kl", feature="event_type") > 0
    share = "streamrec_drift_share"
    assert value(samples, share, feature="event_type", bin="view", window="live") == 0.5
    assert value(samples, share, feature="event_type", bin="view", window="reference") == 0.8
    for feature in ("item_popularity", "user_activity", "category", "served_score"):
        assert ("streamrec_drift_psi", frozenset({("feature", feature)})) in samples
    status = client.app.state.engine.status()  # type: ignore[attr-defined]
    drift = {found.feature: found for found in status.drift}
    assert drift["event_type"].psi == pytest.approx(hand, abs=1e-6)
    assert drift["event_type"].as_dict()["live"]["purchase"] == 20


def test_the_model_in_use_and_its_age(tmp_path: Path) -> None:
    shop = SyntheticShop(n_users=40, n_items=30, seed=5)
    events_seen = list(shop.events(2_000, chunk_size=500))
    bundle = train_models(
        events_seen, shop.catalog(), ModelSettings(kinds=("itemknn",)), drift=DRIFT
    )
    version = ModelStore(models_directory(tmp_path)).publish(bundle)
    published = time.time()
    with TestClient(create_app(settings_in(tmp_path))) as client:
        samples = scrape(client)
    assert value(samples, "streamrec_model_info", version=version) == 1
    age = value(samples, "streamrec_model_age_seconds")
    assert 0 <= age <= time.time() - published + 5


def test_running_experiments_by_variant(client: TestClient) -> None:
    seed = events(["view", "click"], user="seed")
    assert client.post("/v1/events?wait=true", json=seed).status_code == 202
    body = {"variants": [{"name": "a", "traffic": 0.5}, {"name": "b", "traffic": 0.5}]}
    assert client.put("/v1/experiments/m", json=body).status_code == 200
    sent = {"a": [0, 0, 0], "b": [0, 0, 0]}  # lists, impressions, clicks
    for n in range(12):
        listed = client.get(f"/v1/users/m{n}/recommendations").json()
        variant, rid = listed["variant"], listed["recommendation_id"]
        shown = [i["item_id"] for i in listed["items"]]
        feedback = [
            {"user_id": f"m{n}", "item_id": i, "type": "impression", "recommendation_id": rid}
            for i in shown
        ]
        feedback += [{**feedback[0], "type": "click"}] if n % 3 == 0 and shown else []
        if feedback:
            assert client.post("/v1/events?wait=true", json={"events": feedback}).status_code == 202
        sent[variant][0] += 1
        sent[variant][1] += len(shown)
        sent[variant][2] += 1 if n % 3 == 0 and shown else 0
    samples = scrape(client)
    for variant, (lists, impressions, clicks) in sent.items():
        where = {"experiment": "m", "variant": variant}
        assert value(samples, "streamrec_experiment_lists_total", **where) == lists
        assert value(samples, "streamrec_experiment_impressions_total", **where) == impressions
        assert value(samples, "streamrec_experiment_clicks_total", **where) == clicks
        ctr = clicks / impressions if impressions else 0.0
        assert value(samples, "streamrec_experiment_ctr", **where) == pytest.approx(ctr)
    assert any(name == "streamrec_experiment_guardrail" for name, _ in samples)

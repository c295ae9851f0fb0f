"""Experiments over HTTP on the embedded engine: definitions, arms, the served-list log,
attribution by recommendation_id, and the report surviving a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from streamrec.config import Settings
from streamrec.experiments.served_log import SERVED_DIR
from streamrec.serving.app import create_app

POPULARITY = {"recommend": {"weight_collaborative": 0.0, "weight_content": 0.0}}
EXPERIMENT = {
    "variants": [
        {"name": "popularity", "traffic": 0.5, "settings": POPULARITY},
        {"name": "hybrid", "traffic": 0.5},
    ],
    "salt": "s1",
}


def _seed(client: TestClient) -> None:
    events = [
        {"user_id": f"seed{u}", "item_id": f"i{(u + j) % 12}", "type": "view"}
        for u in range(20)
        for j in range(4)
    ]
    assert client.post("/v1/events?wait=true", json={"events": events}).status_code == 202


def _send(client: TestClient, user: str, rec: dict[str, Any], *, clicks: int) -> None:
    items = [i["item_id"] for i in rec["items"]]
    rid = rec["recommendation_id"]
    events = [
        {"user_id": user, "item_id": item, "type": "impression", "recommendation_id": rid}
        for item in items[:3]
    ]
    events += [
        {"user_id": user, "item_id": item, "type": "click", "recommendation_id": rid}
        for item in items[:clicks]
    ]
    events.append(
        {
            "user_id": user,
            "item_id": items[0],
            "type": "purchase",
            "value": 12.5,
            "recommendation_id": rid,
        }
    )
    assert client.post("/v1/events?wait=true", json={"events": events}).status_code == 202


def test_definitions_are_validated_whole(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        bad = {
            "variants": [
                {"name": "a", "traffic": 0.5, "settings": {"recommend": {"weight_colab": 1}}},
                {"name": "b", "traffic": 0.5, "settings": {"serving": {"port": 1}}},
                {"name": "c", "traffic": 0.0, "settings": {"recommend": {"max_k": -3}}},
            ]
        }
        answer = client.put("/v1/experiments/x", json=bad)
        assert answer.status_code == 422
        fields = {d["field"] for d in answer.json()["error"]["details"]}
        assert fields == {
            "variants.0.settings.recommend.weight_colab",
            "variants.1.settings.serving",
            "variants.2.settings.recommend.max_k",
        }
        over = {"variants": [{"name": "a", "traffic": 0.7}, {"name": "b", "traffic": 0.7}]}
        assert client.put("/v1/experiments/x", json=over).status_code == 422
        twice = {"variants": [{"name": "a", "traffic": 0.1}, {"name": "a", "traffic": 0.1}]}
        assert client.put("/v1/experiments/x", json=twice).status_code == 422
        assert client.put("/v1/experiments/x", json=[1]).status_code == 422
        broken = client.put("/v1/experiments/x", content=b"{nope")
        assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_input"
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        assert "ExperimentBody" in schemas and "Variant" in schemas
        assert client.get("/v1/experiments/x").status_code == 404
        assert client.get("/v1/experiments/x/report").status_code == 404
        assert client.put("/v1/experiments/x", json=EXPERIMENT).status_code == 200
        other = client.put("/v1/experiments/y", json=EXPERIMENT)
        assert other.status_code == 409 and other.json()["error"]["code"] == "conflict"
        stopped = {**EXPERIMENT, "status": "stopped"}
        assert client.put("/v1/experiments/y", json=stopped).status_code == 200
        listed = client.get("/v1/experiments").json()["experiments"]
        assert [e["experiment_id"] for e in listed] == ["x", "y"]
        assert client.get("/v1/users/u1/recommendations?variant=nope").status_code == 422


def test_lists_are_attributed_and_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    sent: dict[str, dict[str, int]] = {}
    variants: dict[str, str] = {}
    with TestClient(create_app(settings)) as client:
        before = client.get("/v1/users/nobody/recommendations").json()
        assert before["experiment"] is None and before["variant"] == "default"
        _seed(client)
        assert client.put("/v1/experiments/ab", json=EXPERIMENT).status_code == 200
        for u in range(30):
            user = f"seed{u % 20}" if u < 20 else f"new{u}"
            rec = client.get(f"/v1/users/{user}/recommendations?k=5").json()
            assert rec["experiment"] == "ab" and rec["variant"] in ("popularity", "hybrid")
            assert variants.setdefault(user, rec["variant"]) == rec["variant"]  # sticky
            again = client.get(f"/v1/users/{user}/recommendations?k=5").json()
            assert again["variant"] == rec["variant"]
            clicks = 1 + u % 2
            _send(client, user, rec, clicks=clicks)
            tally = sent.setdefault(rec["variant"], {"lists": 0, "clicks": 0, "conversions": 0})
            tally["lists"] += 2
            tally["clicks"] += clicks
            tally["conversions"] += 1
        forced = client.get("/v1/users/seed1/recommendations?variant=popularity").json()
        assert forced["variant"] == "popularity"
        tally = sent.setdefault("popularity", {"lists": 0, "clicks": 0, "conversions": 0})
        tally["lists"] += 1
        similar = client.get("/v1/items/i1/similar?user_id=seed1").json()
        assert similar["variant"] == "default"
        live = client.get("/v1/experiments/ab/report").json()
        windows = {v["name"]: v["guardrails"] for v in live["variants"]}
        assert windows["hybrid"]["lists"] == sent["hybrid"]["lists"]
        assert windows["hybrid"]["p99_latency_ms"] > 0
        assert 0 < windows["hybrid"]["coverage"] <= 1
    assert len(list((tmp_path / SERVED_DIR).glob("*.jsonl"))) == 1
    with TestClient(create_app(settings)) as client:
        report = client.get("/v1/experiments/ab/report").json()
    # the counters are durable; the guardrails are the live window of the process
    for row in (*report["variants"], *live["variants"]):
        row.pop("guardrails")
    assert report == live
    rows = {v["name"]: v for v in report["variants"]}
    for name, expected in sent.items():
        row = rows[name]
        users = sum(1 for v in variants.values() if v == name)
        assert row["lists"] == expected["lists"]
        assert row["clicks"] == expected["clicks"]
        assert row["conversions"] == expected["conversions"]
        assert row["revenue"] == 12.5 * expected["conversions"]
        assert row["impressions"] == 3 * (expected["conversions"])
        assert row["ctr"] == row["clicks"] / row["impressions"]
        assert row["users"] == users
        assert row["served"] >= row["impressions"]
        assert row["positions"][0]["impressions"] == expected["conversions"]
    (comparison,) = report["comparisons"]
    assert comparison["baseline"] == "popularity" and comparison["variant"] == "hybrid"


def test_why_not_explains_the_list_of_the_users_variant(tmp_path: Path) -> None:
    cheap_only = {"recommend": {"shaping": {"rules": ["filter: price < 50"]}}}
    experiment = {
        "variants": [
            {"name": "all", "traffic": 0.5},
            {"name": "cheap", "traffic": 0.5, "settings": cheap_only},
        ]
    }
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        items = [{"item_id": f"i{n}", "price": 10.0 + 100 * (n % 2)} for n in range(12)]
        assert client.post("/v1/items", json={"items": items}).status_code == 200
        _seed(client)
        assert client.put("/v1/experiments/price", json=experiment).status_code == 200
        dear = "i1"  # price 110
        base = "/v1/users/nobody/recommendations"
        listed = client.get(f"{base}?k=12&variant=all").json()
        assert dear in [i["item_id"] for i in listed["items"]]
        served = client.get(f"{base}/explain?item_id={dear}&k=12&variant=all").json()
        assert served["stage"] == "served"
        dropped = client.get(f"{base}/explain?item_id={dear}&k=12&variant=cheap").json()
        assert dropped["stage"] == "filtered" and "price < 50" in dropped["by"]

"""The dashboard's pages over the embedded engine: each shows what the engine knows of
a state built here, with titles from the catalog, and its assets ship in the package."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from streamrec.bootstrap.adapters import models_directory
from streamrec.config import DriftSettings, Settings
from streamrec.datasets import SyntheticShop
from streamrec.models.settings import ModelSettings
from streamrec.models.store import ModelStore
from streamrec.models.trainer import train_models
from streamrec.serving.app import create_app

DRIFT = DriftSettings(block_events=20, window_blocks=2, reference_events=40)
ITEMS = [
    {"item_id": "kettle", "title": "Steel kettle", "categories": ["kitchen"], "price": 30},
    {"item_id": "teapot", "title": "Glass teapot", "categories": ["kitchen"], "price": 25},
    {"item_id": "mug", "title": "Tall mug", "categories": ["kitchen"], "price": 8},
    {"item_id": "novel", "title": "A long novel", "categories": ["books"], "price": 12},
]


def _events(user: str, pairs: list[tuple[str, str]]) -> dict[str, object]:
    return {"events": [{"user_id": user, "item_id": i, "type": t} for i, t in pairs]}


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path, drift=DRIFT))) as test_client:
        assert test_client.post("/v1/items", json={"items": ITEMS}).status_code == 200
        browsing = [("kettle", "view"), ("teapot", "view"), ("kettle", "add_to_cart")]
        buying = [("kettle", "view"), ("kettle", "add_to_cart"), ("kettle", "purchase")]
        for user, pairs in (("bob", browsing), ("cid", browsing), ("ann", buying)):
            sent = test_client.post("/v1/events?wait=true", json=_events(user, pairs))
            assert sent.status_code == 202
        sent = test_client.post("/v1/events?wait=true", json=_events("ann", [("mug", "view")]))
        assert sent.status_code == 202
        yield test_client


def _text(html: str) -> str:
    """The page's text, tags and runs of white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _figures(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="overview-figures">(.*?)</script>', html)
    assert found is not None
    figures: dict[str, object] = json.loads(found.group(1))
    return figures


def test_the_overview_shows_counts_sizes_and_the_ranked_lists_with_titles(
    client: TestClient,
) -> None:
    page = client.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = _text(page.text)
    assert "Events applied 10 " in text
    assert "Users 3 " in text and "Items 4 " in text
    popular = re.search(r'<ol class="ranked" id="popular">(.*?)</ol>', page.text, re.S)
    assert popular is not None
    assert _text(popular.group(1)).split()[:2] == ["Steel", "kettle"]  # the top item
    assert 'hx-get="/ui/fragments/overview"' in page.text


def test_the_polled_fragment_carries_rates_and_latency_of_the_api(client: TestClient) -> None:
    first = _figures(client.get("/ui/fragments/overview").text)
    assert first["events_applied"] == 10
    for _ in range(5):
        assert client.get("/v1/items/popular").status_code == 200
    assert client.post("/v1/events?wait=true", json=_events("dan", [("mug", "view")])).is_success
    second = _figures(client.get("/ui/fragments/overview").text)
    assert second["events_applied"] == 11
    assert isinstance(second["requests_per_s"], float) and second["requests_per_s"] > 0
    latency = second["latency_s"]
    assert isinstance(latency, dict) and latency["p50"] is not None
    assert latency["p50"] <= latency["p95"] <= latency["p99"]
    assert second["lag"] == 0


def test_the_user_inspector_shows_profile_session_and_the_explained_list(
    client: TestClient,
) -> None:
    page = client.get("/ui/users", params={"user_id": "ann"})
    assert page.status_code == 200
    text = _text(page.text)
    assert re.search(r"Events 4 ", text)
    assert "Cart" in text and "Session" in text and "kitchen" in text  # an affinity
    table = re.search(r'<table id="recommendations">(.*?)</table>', page.text, re.S)
    assert table is not None
    rows = _text(table.group(1))
    assert "Glass teapot" in rows  # bought with the kettle by others
    assert "cooccurrence" in rows  # the per-source column of its score
    assert "Tall mug" in _text(page.text)  # a recent interaction, by title


def test_an_unknown_user_has_no_profile_but_a_cold_start_list(client: TestClient) -> None:
    text = _text(client.get("/ui/users", params={"user_id": "nobody"}).text)
    assert "No profile for nobody" in text
    assert "Steel kettle" in text


def test_the_item_inspector_shows_stats_conversion_and_neighbours(client: TestClient) -> None:
    page = client.get("/ui/items", params={"item_id": "kettle"})
    text = _text(page.text)
    assert "Steel kettle" in text and "kitchen" in text
    assert "View → cart 100.0 %" in text  # three views, three carts
    assert "Cart → purchase 33.3 %" in text  # three carts, one purchase
    similar = re.search(r'<ol class="ranked" id="similar">(.*?)</ol>', page.text, re.S)
    assert similar is not None and "Glass teapot" in similar.group(1)
    assert "is unknown" in _text(client.get("/ui/items", params={"item_id": "ghost"}).text)


def test_an_over_long_id_is_a_clear_422(client: TestClient) -> None:
    answer = client.get("/ui/users", params={"user_id": "u" * 300})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"]


def test_the_drift_page_says_what_the_windows_wait_for(client: TestClient) -> None:
    text = _text(client.get("/ui/drift").text)
    assert "No feature has both windows yet" in text
    assert "the reference is the first 40 events (10 applied so far)" in text


def test_the_drift_page_shows_each_feature_with_both_windows(client: TestClient) -> None:
    shop = SyntheticShop(n_users=20, n_items=10, n_categories=3, seed=2)
    for batch in shop.events(120, chunk_size=60):
        sent = client.post("/v1/events?wait=true", json={"events": list(batch.records())})
        assert sent.is_success
    text = _text(client.get("/ui/drift").text)
    assert "event_type PSI" in text
    assert "Live Reference" in text


def test_the_models_page_lists_published_versions_and_their_metrics(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        assert "No model has been published" in client.get("/ui/models").text
    shop = SyntheticShop(n_users=40, n_items=30, seed=5)
    bundle = train_models(
        list(shop.events(2_000, chunk_size=500)), shop.catalog(), ModelSettings(kinds=("itemknn",))
    )
    store = ModelStore(models_directory(tmp_path))
    version = store.publish(bundle, {"metrics": {"ndcg@10": 0.1234}})
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        text = _text(client.get("/ui/models").text)
    assert f"{version} in use" in text
    assert "itemknn" in text and "ndcg@10 = 0.1234" in text


def test_the_shop_lists_products_and_ships_its_script(client: TestClient) -> None:
    page = client.get("/ui/shop", params={"user": "ann"})
    text = _text(page.text)
    assert all(item["title"] in text for item in ITEMS)
    catalog = re.search(r'<script type="application/json" id="catalog">(.*?)</script>', page.text)
    assert catalog is not None and json.loads(catalog.group(1))["kettle"]["title"] == "Steel kettle"
    assert client.get("/ui/static/shop.js").status_code == 200


@pytest.mark.parametrize(
    ("asset", "licence"),
    [
        ("vendor/htmx/htmx.min.js", "vendor/htmx/LICENSE"),
        ("vendor/uplot/uPlot.iife.min.js", "vendor/uplot/LICENSE"),
    ],
)
def test_vendored_assets_are_served_from_the_package_with_their_licences(
    client: TestClient, asset: str, licence: str
) -> None:
    static = files("streamrec.ui") / "static"
    assert (static / licence).read_text().strip()
    served = client.get(f"/ui/static/{asset}")
    assert served.status_code == 200
    assert served.content == (static / asset).read_bytes()
    page = client.get("/ui/")
    assert "//cdn" not in page.text and "https://" not in page.text

"""List shaping over HTTP: each stage's effect on a list built on purpose.

The world: twelve items in three categories with prices, made popular in a known
order by other users' purchases, so a cold user's list is the popularity order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from streamrec.config import Settings
from streamrec.serving.app import create_app

#: Items best first by popularity: (id, category, price, tags).
ITEMS = [
    (f"{category}{n}", category, price, [f"t{category}", f"t{n % 2}"])
    for n, (category, price) in enumerate(
        [("a", 10.0), ("a", 90.0), ("a", 20.0), ("a", 80.0), ("b", 30.0), ("b", 70.0)]
        + [("b", 40.0), ("b", 60.0), ("c", 15.0), ("c", 95.0), ("c", 25.0), ("c", 85.0)]
    )
]


def _world(client: TestClient) -> None:
    catalog = [
        {"item_id": item, "title": item.upper(), "categories": [cat], "price": price, "tags": tags}
        for item, cat, price, tags in ITEMS
    ]
    catalog[0]["properties"] = {"brand": "acme"}
    assert client.post("/v1/items", json={"items": catalog}).status_code == 200
    events = [
        {"user_id": f"buyer-{b}", "item_id": item, "type": "purchase", "timestamp": 1_000 + b}
        for rank, (item, *_rest) in enumerate(ITEMS)
        for b in range(len(ITEMS) - rank)
    ]
    response = client.post("/v1/events?wait=true", json={"events": events})
    assert response.status_code == 202, response.text


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path)), raise_server_exceptions=False) as c:
        _world(c)
        yield c


def _list(client: TestClient, query: str = "", user: str = "cold") -> dict[str, Any]:
    response = client.get(f"/v1/users/{user}/recommendations?{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(body: dict[str, Any]) -> list[str]:
    return [item["item_id"] for item in body["items"]]


PRICE = {item: price for item, _, price, _ in ITEMS}
CATEGORY = {item: cat for item, cat, _, _ in ITEMS}


def test_the_list_is_the_popularity_order(client: TestClient) -> None:
    assert _ids(_list(client, "k=12")) == [item for item, *_ in ITEMS]


def test_a_filter_rule_on_price_removes_the_expensive_items(client: TestClient) -> None:
    before = _ids(_list(client, "k=6"))
    assert any(PRICE[i] >= 50 for i in before)
    after = _ids(_list(client, "k=6&rules=filter: price < 50"))
    assert after == [i for i, *_ in ITEMS if PRICE[i] < 50][:6]


def test_a_pin_puts_the_item_at_its_position(client: TestClient) -> None:
    body = _list(client, 'k=5&rules=pin(2): item_id == "c11"')
    assert _ids(body)[1] == "c11"
    assert _ids(body) == ["a0", "c11", "a1", "a2", "a3"]


def test_boost_and_bury_move_items_by_their_factor(client: TestClient) -> None:
    ids = _ids(_list(client, 'k=3&rules=bury(0.01): properties.brand == "acme"'))
    assert "a0" not in ids
    boosted = _list(client, 'k=3&rules=boost(100): "c" in categories and price > 90')
    assert _ids(boosted)[0] == "c9"


def test_rules_from_the_settings_apply_to_every_list(tmp_path: Path) -> None:
    shaping = {"rules": ['filter: "b" in categories']}
    settings = Settings(data_dir=tmp_path, recommend={"shaping": shaping})
    with TestClient(create_app(settings)) as client:
        _world(client)
        assert {CATEGORY[i] for i in _ids(_list(client, "k=4"))} == {"b"}


def test_a_malformed_rule_is_a_422_naming_the_position(client: TestClient) -> None:
    response = client.get("/v1/users/cold/recommendations?rules=filter: price <&rules=boost: x")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    messages = [d["message"] for d in error["details"]]
    assert "found the end at position 15" in messages[0]
    assert "unknown field 'x'" in messages[1] and "position 7" in messages[1]
    assert [d["index"] for d in error["details"]] == [0, 1]


def test_a_category_cap_of_2_leaves_at_most_2_per_category(client: TestClient) -> None:
    before = _ids(_list(client, "k=6"))
    assert [CATEGORY[i] for i in before].count("a") == 4
    after = _ids(_list(client, "k=6&category_cap=2"))
    assert len(after) == 6
    assert max([CATEGORY[i] for i in after].count(c) for c in "abc") == 2
    assert after == ["a0", "a1", "b4", "b5", "c8", "c9"]


def _diversity(ids: list[str]) -> float:
    """Mean Jaccard distance of the label sets (category and tags) over pairs."""
    labels = {item: {cat, *(f"#{t}" for t in tags)} for item, cat, _, tags in ITEMS}
    pairs = [(x, y) for n, x in enumerate(ids) for y in ids[n + 1 :]]
    return sum(1 - len(labels[x] & labels[y]) / len(labels[x] | labels[y]) for x, y in pairs) / len(
        pairs
    )


def test_mmr_raises_intra_list_diversity(client: TestClient) -> None:
    before = _ids(_list(client, "k=4"))
    after = _ids(_list(client, "k=4&mmr_lambda=0.3"))
    assert _diversity(after) > _diversity(before)
    assert after[0] == before[0]  # the most relevant item still leads
    assert _ids(_list(client, "k=4&mmr_lambda=1")) == before


def test_excluded_items_never_appear(client: TestClient) -> None:
    assert _ids(_list(client, "k=3&exclude=a0,a2,unknown")) == ["a1", "a3", "b4"]


def test_page_tokens_give_pages_that_never_repeat(client: TestClient) -> None:
    served: list[str] = []
    token = None
    for _ in range(5):
        body = _list(client, "k=3" + (f"&page_token={token}" if token else ""))
        served += _ids(body)
        token = body.get("next_page_token")
        if token is None:
            break
    assert len(served) == len(set(served)) == len(ITEMS)
    assert served == [item for item, *_ in ITEMS]


def test_a_page_token_survives_a_lost_list_without_repeats(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, recommend={"shaping": {"page_lists": 1}})
    with TestClient(create_app(settings)) as client:
        _world(client)
        first = _list(client, "k=4")
        _list(client, "k=4", user="someone-else")  # evicts the first list
        second = _list(client, f"k=4&page_token={first['next_page_token']}")
        assert not set(_ids(first)) & set(_ids(second))
        assert len(_ids(second)) == 4


def test_a_malformed_page_token_is_a_422(client: TestClient) -> None:
    response = client.get("/v1/users/cold/recommendations?page_token=not-a-token")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "page_token"


def _why(client: TestClient, item: str, query: str = "", user: str = "shopper") -> dict[str, Any]:
    response = client.get(f"/v1/users/{user}/recommendations/explain?item_id={item}&{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_explain_names_the_stage_that_dropped_each_item(client: TestClient) -> None:
    events = [
        {"user_id": "shopper", "item_id": "a0", "type": "view", "timestamp": 9_000},
        {"user_id": "shopper", "item_id": "b5", "type": "dislike", "timestamp": 9_001},
    ]
    assert client.post("/v1/events?wait=true", json={"events": events}).status_code == 202
    new = {"title": "Brand new", "categories": ["c"], "price": 5.0}
    assert client.put("/v1/items/fresh", json=new).status_code == 200
    gone = {"title": "C9", "categories": ["c"], "price": 95.0, "available": False}
    assert client.put("/v1/items/c9", json=gone).status_code == 200

    full = _ids(_list(client, "k=20", user="shopper"))
    assert not {"a0", "b5", "c9", "fresh"} & set(full)
    assert _why(client, "a0")["stage"] == "filtered" and _why(client, "a0")["by"] == "seen"
    assert _why(client, "b5")["by"] == "disliked"
    assert _why(client, "c9")["by"] == "unavailable"
    ruled = _why(client, "a1", "rules=filter: price < 50")
    assert ruled == {**ruled, "stage": "filtered", "by": "rule filter: price < 50"}
    never = _why(client, "fresh")
    assert never["stage"] == "never_candidate" and never["sources"] == {}

    last = full[-1]
    below = _why(client, last, "k=3")
    assert below["stage"] == "below_cut" and below["rank"] > 3
    assert below["score"] <= below["kth_score"]
    first_a = [i for i in full if CATEGORY[i] == "a"]
    capped = _why(client, first_a[2], "k=6&category_cap=2")
    assert capped["stage"] == "demoted" and capped["by"] == "diversity"
    served = _why(client, full[0], "k=3")
    assert served["stage"] == "served" and served["rank"] == 1
    assert set(served["sources"]) <= {"cooccurrence", "popularity"}


def test_explain_of_a_never_candidate_names_the_sources_that_could_have(
    client: TestClient,
) -> None:
    never = _why(client, "c11", "k=1", user="cold")  # the popular pool of k=1 is 5 deep
    assert never["stage"] == "never_candidate"
    assert never["sources"] == {"popularity": 12}

"""The user inspector's why-not form explains an item of the user's list and one filtered
out, and the experiments page shows a live experiment's report as the API counts it
(in this order: no experiment runs while the inspector's list is explained)."""

from __future__ import annotations

import pytest

from streamrec.client import StreamrecClient
from tests.browser.conftest import Tab

pytestmark = pytest.mark.slow

CATALOG = [
    {"item_id": f"item-{n}", "title": f"Item {n}", "categories": [f"c{n % 3}"]} for n in range(30)
]
SEED = [
    {"user_id": f"seed-{u}", "item_id": f"item-{(u + j) % 30}", "type": "view"}
    for u in range(24)
    for j in range(4)
]
EXPERIMENT = {
    "variants": [
        {
            "name": "popularity",
            "traffic": 0.5,
            "settings": {"recommend": {"weight_collaborative": 0.0}},
        },
        {"name": "hybrid", "traffic": 0.5},
    ],
    "salt": "page",
}


@pytest.fixture(scope="module", autouse=True)
def state(client: StreamrecClient) -> None:
    client.post_items(CATALOG)
    client.send_events(SEED, wait=True)


def _percent(value: float, digits: int) -> str:
    return f"{value * 100:.{digits}f}%"


def test_why_not_explains_a_listed_item_and_a_seen_one(
    tab: Tab, server: str, client: StreamrecClient
) -> None:
    page = tab.page
    page.goto(f"{server}/ui/users?user_id=seed-20")
    page.wait_for_selector("#recommendations tr[data-item-id]")
    second = page.locator("#recommendations tr[data-item-id]").nth(1).get_attribute("data-item-id")
    assert second is not None
    page.fill('#why-not input[name="item_id"]', second)
    page.click("#why-not button")
    page.wait_for_selector('#explanation[data-stage="served"]')
    assert page.text_content("#explain-stage") == "on the list"
    assert page.text_content("#explain-rank") == "2"
    found = client.explain("seed-20", second, k=10)
    assert (found.stage, found.rank) == ("served", 2)
    assert found.score is not None and found.kth_score is not None
    assert page.text_content("#explain-score") == f"{found.score:.4f}"
    assert page.text_content("#explain-kth") == f"{found.kth_score:.4f}"

    seen = SEED[20 * 4]["item_id"]  # seed-20's first view
    page.fill('#why-not input[name="item_id"]', seen)
    page.click("#why-not button")
    page.wait_for_selector('#explanation[data-stage="filtered"]')
    assert page.text_content("#explain-stage") == "filtered out"
    assert page.text_content("#explain-by") == "seen"
    tab.screenshot("why-not")


def test_the_experiments_page_shows_the_counts_of_the_attributed_events(
    tab: Tab, server: str, client: StreamrecClient
) -> None:
    client.put_experiment("ab", EXPERIMENT)
    expected: dict[str, dict[str, int]] = {}
    for u in range(16):
        user = f"seed-{u}"
        rec = client.recommendations(user, k=4)
        items = [item.item_id for item in rec.items]
        rid = rec.recommendation_id
        shown = [
            {"user_id": user, "item_id": i, "type": "impression", "recommendation_id": rid}
            for i in items[:3]
        ]
        clicked = [
            {"user_id": user, "item_id": i, "type": "click", "recommendation_id": rid}
            for i in items[: u % 3]
        ]
        client.send_events(shown + clicked, wait=True)
        tally = expected.setdefault(
            rec.variant, {"users": 0, "lists": 0, "impressions": 0, "clicks": 0}
        )
        tally["users"] += 1
        tally["lists"] += 1
        tally["impressions"] += len(shown)
        tally["clicks"] += len(clicked)
    assert set(expected) == {"popularity", "hybrid"}

    page = tab.page
    page.goto(f"{server}/ui/")
    page.click("header nav a:text-is('Experiments')")
    page.wait_for_selector("#report")
    assert page.text_content("main h1") == "Experiments"
    report = client.experiment_report("ab")
    for variant in report.variants:
        row = page.locator(f'#variants tr[data-variant="{variant["name"]}"]')
        for field, count in expected[variant["name"]].items():
            assert row.locator(f'td[data-field="{field}"]').text_content() == str(count), field
        tally = expected[variant["name"]]
        ctr = tally["clicks"] / tally["impressions"]
        assert row.locator('td[data-field="ctr"]').text_content() == _percent(ctr, 2)
        low, high = variant["ctr_ci"]
        interval = f"{_percent(low, 2)} – {_percent(high, 2)}"
        assert row.locator('td[data-field="ctr_ci"]').text_content() == interval
        guard = page.locator(f'#guardrails tr[data-variant="{variant["name"]}"]')
        lists = guard.locator('td[data-field="lists"]').text_content()
        assert lists == str(tally["lists"])  # the pages themselves serve no list
    (comparison,) = report.comparisons
    row = page.locator('#comparisons tr[data-variant="hybrid"]')
    assert row.locator('td[data-field="ctr_lift"]').text_content() == _percent(
        comparison["ctr_lift"], 1
    )
    assert row.locator('td[data-field="p_value"]').text_content() == f"{comparison['p_value']:.4f}"
    significant = "yes" if comparison["significant"] else "no"
    assert row.locator('td[data-field="significant"]').text_content() == significant
    tab.screenshot("experiments")

    page.goto(f"{server}/ui/experiments?experiment_id=nope")
    assert page.text_content("#report") == "No experiment nope."

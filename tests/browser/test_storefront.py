"""Real clicks in the storefront send events and change the rows in front of the shopper."""

from __future__ import annotations

from typing import Any

import pytest

from streamrec.client import StreamrecClient
from tests.browser.conftest import Tab

pytestmark = pytest.mark.slow

SHOPPER = "walker"
CATALOG = [
    {"item_id": f"{kind}-{n}", "title": f"{kind.title()} {n}", "categories": [category]}
    for kind, category in (("lamp", "home"), ("tent", "outdoor"), ("book", "books"))
    for n in range(1, 5)
]


@pytest.fixture(scope="module", autouse=True)
def shop_state(client: StreamrecClient) -> None:
    """Lamps and books 1-3 are popular; campers look at tents 1 and 2 together, and
    two of them at book 4 too (too rare for the first eight of the popular list)."""
    client.post_items(CATALOG)
    events = [
        {"user_id": f"fan-{u}", "item_id": item, "type": "view"}
        for u in range(8)
        for item in ("lamp-1", "lamp-2", "lamp-3", "lamp-4", "book-1", "book-2", "book-3")
    ]
    events += [
        {"user_id": f"camper-{u}", "item_id": item, "type": "view"}
        for u in range(4)
        for item in ("tent-1", "tent-2", "book-4")
        if item != "book-4" or u < 2
    ]
    client.send_events(events, wait=True)


def _row(page: Any, row: str) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        f"#{row} .card", "cards => cards.map(c => c.dataset.itemId)"
    )
    return ids


def _after_update(page: Any, action: Any) -> None:
    """Run ``action`` (which sends one event) and wait until the rows shown reflect it."""
    sent = int(page.eval_on_selector("#for-you", "row => row.dataset.events || '0'"))
    action()
    page.wait_for_function(
        "expected => document.querySelector('#for-you').dataset.events === expected",
        arg=str(sent + 1),
    )


def test_clicking_a_product_changes_for_you_and_shows_similar_items(
    tab: Tab, server: str, client: StreamrecClient
) -> None:
    page = tab.page
    page.goto(f"{server}/ui/shop?user={SHOPPER}")
    page.wait_for_selector("#for-you .card")
    cold = _row(page, "for-you")
    assert cold[0].startswith(("lamp-", "book-"))  # the popular items first
    tab.screenshot("shop-before")

    _after_update(page, lambda: page.click('#products .card[data-item-id="tent-1"]'))
    page.wait_for_selector("#similar .card")
    assert page.text_content("#detail-title") == "Tent 1"
    assert _row(page, "similar")[0] == "tent-2"
    warm = _row(page, "for-you")
    assert warm[0] == "tent-2"  # seen together with what the shopper just viewed
    assert "tent-1" in cold and "tent-1" not in warm  # seen now
    assert "book-4" not in cold and "book-4" in warm  # also seen with tent 1
    assert page.locator('#for-you .card[data-item-id="book-4"].new').count() == 1
    reason = page.text_content('#for-you .card[data-item-id="tent-2"] .reason')
    assert reason is not None and "Tent 1" in reason
    tab.screenshot("shop-after-click")

    _after_update(page, lambda: page.click('#detail button[data-action="add_to_cart"]'))
    assert page.text_content("#shop-status") == "add to cart of Tent 1 sent"
    profile = client.profile(SHOPPER)
    assert profile.cart == ["tent-1"]
    assert [(i.item_id, i.type) for i in profile.recent[:2]] == [
        ("tent-1", "add_to_cart"),
        ("tent-1", "view"),
    ]

    _after_update(page, lambda: page.click('#for-you .card[data-item-id="tent-2"]'))
    assert page.text_content("#detail-title") == "Tent 2"
    newest = client.profile(SHOPPER).recent[0]
    assert (newest.item_id, newest.type) == ("tent-2", "click")  # attributed to the list
    tab.screenshot("shop-after-list-click")

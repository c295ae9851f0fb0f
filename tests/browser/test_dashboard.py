"""The dashboard in a browser: the overview shows the state this module builds and keeps
itself up to date; the inspectors show a profile and an item; every page renders."""

from __future__ import annotations

import pytest

from streamrec.client import StreamrecClient
from tests.browser.conftest import Tab

pytestmark = pytest.mark.slow

CATALOG = [
    {"item_id": "star", "title": "The star product", "categories": ["gadgets"]},
    *(
        {"item_id": f"item-{n}", "title": f"Plain item {n}", "categories": ["misc"]}
        for n in range(4)
    ),
]
#: The star is viewed by 30 shoppers; each plain item by two.
STAR_VIEWS = [{"user_id": f"u{n}", "item_id": "star", "type": "view"} for n in range(30)]
PLAIN_VIEWS = [{"user_id": f"u{n}", "item_id": f"item-{n % 4}", "type": "view"} for n in range(8)]
BUYER = [
    {"user_id": "buyer", "item_id": "item-1", "type": "view"},
    {"user_id": "buyer", "item_id": "item-1", "type": "add_to_cart"},
    {"user_id": "buyer", "item_id": "star", "type": "view"},
]
EVENTS = len(STAR_VIEWS) + len(PLAIN_VIEWS) + len(BUYER)


@pytest.fixture(scope="module", autouse=True)
def dashboard_state(client: StreamrecClient) -> None:
    client.post_items(CATALOG)
    client.send_events(STAR_VIEWS + PLAIN_VIEWS + BUYER, wait=True)


def test_the_overview_shows_the_event_count_and_the_top_item_and_updates_live(
    tab: Tab, server: str, client: StreamrecClient
) -> None:
    page = tab.page
    page.goto(f"{server}/ui/")
    assert page.text_content("#events-total") == f"{EVENTS:,}"
    assert page.text_content("#users") == "31"  # u0..u29 and the buyer
    assert page.text_content("#items") == str(len(CATALOG))
    assert page.text_content("#popular li:first-child a") == "The star product"
    assert page.text_content("#trending li:first-child a") == "The star product"
    assert page.locator("#chart-events canvas").count() == 1  # uPlot drew its chart

    more = [{"user_id": "late", "item_id": "item-3", "type": "view"}] * 5
    client.send_events(more, wait=True)
    page.wait_for_function(  # the polled fragment brings the new count without a reload
        "expected => document.querySelector('#events-total').textContent === expected",
        arg=f"{EVENTS + len(more):,}",
    )
    assert page.text_content("#events-rate") != "— /s"  # two polls apart: a rate
    tab.screenshot("overview")


def test_the_user_inspector_shows_a_profile_and_its_recommendations(tab: Tab, server: str) -> None:
    page = tab.page
    page.goto(f"{server}/ui/users")
    page.fill('input[name="user_id"]', "buyer")
    page.click("form.lookup button")
    page.wait_for_selector("#profile-events")
    assert page.url.endswith("/ui/users?user_id=buyer")  # htmx pushed the inspected user
    assert page.text_content("#profile-events") == "3"
    cart = page.locator("#profile dt:text('Cart') + dd").text_content()
    assert cart == "item-1"
    assert page.locator("#recent tr").count() == 1 + len(BUYER)
    assert page.locator("#recommendations tr[data-item-id]").count() >= 1
    tab.screenshot("user-inspector")


def test_the_item_inspector_shows_stats_and_neighbours(tab: Tab, server: str) -> None:
    page = tab.page
    page.goto(f"{server}/ui/")
    page.click("#popular li:first-child a")  # from the overview to the item
    page.wait_for_selector("#stats")
    assert page.text_content("#item h2") == "The star product"
    assert page.locator("#counts td:text-is('view') + td").text_content() == "31"
    assert page.locator("#similar li[data-item-id]").count() >= 1
    tab.screenshot("item-inspector")


@pytest.mark.parametrize(("link", "heading"), [("Models", "Models"), ("Drift", "Drift")])
def test_every_page_renders_from_the_navigation(
    tab: Tab, server: str, link: str, heading: str
) -> None:
    page = tab.page
    page.goto(f"{server}/ui/")
    page.click(f"header nav a:text-is('{link}')")
    page.wait_for_selector("main h1")
    assert page.text_content("main h1") == heading
    tab.screenshot(heading.lower())

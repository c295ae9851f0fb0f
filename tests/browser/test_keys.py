"""With API keys configured, the dashboard and the storefront work for a person who
signs in with a key: the pages' reads carry the sign-in cookie, the storefront's calls
carry the key as X-API-Key, and a key without the scope is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from streamrec.client import StreamrecClient
from tests.browser.conftest import Tab, serving

pytestmark = pytest.mark.slow

KEYS = {
    "ops": ("ops-key-for-the-browser-test", ["read", "write", "admin"]),
    "shop": ("shop-key-for-the-browser-test", ["read", "write"]),
    "viewer": ("viewer-key-for-the-browser-test", ["read"]),
}
CATALOG = [
    {"item_id": f"{kind}-{n}", "title": f"{kind.title()} {n}", "categories": [kind]}
    for kind in ("lamp", "tent")
    for n in range(1, 4)
]
#: Lamps are popular; campers view tents 1 and 2 together.
EVENTS = [
    {"user_id": f"fan-{u}", "item_id": f"lamp-{n}", "type": "view"}
    for u in range(6)
    for n in range(1, 4)
] + [
    {"user_id": f"camper-{u}", "item_id": item, "type": "view"}
    for u in range(3)
    for item in ("tent-1", "tent-2")
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server that asks for keys (set in its TOML settings file)."""
    root = tmp_path_factory.mktemp("ui-keys")
    entries = [
        f'[[auth.keys]]\nname = "{name}"\nkey = "{key}"\nscopes = {json.dumps(scopes)}\n'
        for name, (key, scopes) in KEYS.items()
    ]
    config = root / "streamrec.toml"
    config.write_text("\n".join(entries), encoding="utf-8")
    with serving(root, "--config", str(config)) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[StreamrecClient]:
    with StreamrecClient(server, api_key=KEYS["ops"][0], timeout=30) as found:
        yield found


@pytest.fixture(scope="module", autouse=True)
def state(client: StreamrecClient) -> None:
    client.post_items(CATALOG)
    client.send_events(EVENTS, wait=True)


def _sign_in(page: Any, key: str) -> None:
    page.fill('#sign-in input[name="key"]', key)
    page.click("#sign-in button")


def test_a_page_asks_for_a_key_and_serves_its_reads_once_signed_in(
    tab: Tab, server: str, client: StreamrecClient
) -> None:
    page = tab.page
    page.goto(f"{server}/ui/users?user_id=fan-1")
    assert page.url == f"{server}/ui/login?next=%2Fui%2Fusers%3Fuser_id%3Dfan-1"
    _sign_in(page, "not-a-key-of-this-server")
    assert page.text_content("#sign-in-problem") == "Not signed in: the key is not known."
    tab.screenshot("sign-in")
    _sign_in(page, KEYS["viewer"][0])
    page.wait_for_selector("#profile-events")
    assert page.url == f"{server}/ui/users?user_id=fan-1"
    assert page.text_content("#profile-events") == "3"

    page.click("header nav a:text-is('Overview')")
    total = len(EVENTS)
    assert page.text_content("#events-total") == f"{total:,}"
    client.send_events([{"user_id": "late", "item_id": "tent-3", "type": "view"}], wait=True)
    page.wait_for_function(  # the polled fragment is read with the cookie too
        "expected => document.querySelector('#events-total').textContent === expected",
        arg=f"{total + 1:,}",
    )
    answer = page.goto(f"{server}/ui/experiments")
    assert answer is not None and answer.status == 403  # reports need admin

    page.goto(f"{server}/ui/")
    page.click("header .sign-out button")
    page.wait_for_selector("#sign-in")
    page.goto(f"{server}/ui/items?item_id=tent-1")
    assert page.url.startswith(f"{server}/ui/login?next=")


def _after_update(page: Any, action: Any) -> None:
    sent = int(page.eval_on_selector("#for-you", "row => row.dataset.events || '0'"))
    action()
    page.wait_for_function(
        "expected => document.querySelector('#for-you').dataset.events === expected",
        arg=str(sent + 1),
    )


def _row(page: Any, row: str) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        f"#{row} .card", "cards => cards.map(c => c.dataset.itemId)"
    )
    return ids


def test_the_storefront_sends_the_key_and_its_clicks_change_the_rows(
    tab: Tab, server: str, client: StreamrecClient
) -> None:
    page = tab.page
    page.goto(f"{server}/ui/shop?user=keyed")
    _sign_in(page, KEYS["shop"][0])
    page.wait_for_selector("#for-you .card")
    assert page.url == f"{server}/ui/shop?user=keyed"
    cold = _row(page, "for-you")
    assert cold[0].startswith("lamp-")

    _after_update(page, lambda: page.click('#products .card[data-item-id="tent-1"]'))
    page.wait_for_selector("#similar .card")
    assert _row(page, "similar")[0] == "tent-2"
    warm = _row(page, "for-you")
    assert warm[0] == "tent-2" and warm != cold
    assert [(i.item_id, i.type) for i in client.profile("keyed").recent] == [("tent-1", "view")]
    assert page.is_hidden("#shop-sign-in")
    tab.screenshot("shop-with-key")


def test_a_key_that_only_reads_cannot_send_storefront_events(tab: Tab, server: str) -> None:
    page = tab.page
    page.goto(f"{server}/ui/shop?user=reader")
    _sign_in(page, KEYS["viewer"][0])
    page.wait_for_selector("#for-you .card")  # reading the rows is allowed
    page.click('#products .card[data-item-id="tent-2"]')
    page.wait_for_selector("#shop-sign-in", state="visible")
    status = page.text_content("#shop-status")
    assert status == "error: the API key lacks the 'write' scope"

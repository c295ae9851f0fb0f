"""The dashboard with API keys: pages send a browser without a key to the sign-in form,
the sign-in cookie counts for reads under /ui only, and the form checks the key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from streamrec.config import Settings
from streamrec.serving.app import create_app
from streamrec.serving.auth import UI_KEY_COOKIE
from streamrec.ui.signin import safe_next

KEYS = {
    "viewer": ("viewer-key-0123456789", ["read"]),
    "writer": ("writer-key-0123456789", ["write"]),
    "ops": ("ops-key-0123456789", ["read", "write", "admin"]),
}
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    keys = [{"name": n, "key": k, "scopes": s} for n, (k, s) in KEYS.items()]
    settings = Settings(data_dir=tmp_path, auth={"keys": keys})
    with TestClient(create_app(settings), follow_redirects=False) as found:
        yield found


def _sign_in(client: TestClient, key: str, next_page: str = "/ui/users") -> int:
    body = f"key={key}&next={next_page}"
    return client.post("/ui/login", content=body, headers=FORM).status_code


def test_a_page_without_a_key_leads_to_the_sign_in_form(client: TestClient) -> None:
    answer = client.get("/ui/users?user_id=ann")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=%2Fui%2Fusers%3Fuser_id%3Dann"
    client.cookies.set(UI_KEY_COOKIE, "not-a-key-0123456789", path="/ui")
    assert client.get("/ui/").status_code == 303  # an unknown key in the cookie too
    assert client.get("/ui/login").status_code == 200
    assert client.get("/ui/static/ui.css").status_code == 200
    fragment = client.get("/ui/fragments/overview")  # what a page fetches: 401, as the API
    assert fragment.status_code == 401 and fragment.json()["error"]["code"] == "unauthorized"
    with_header = client.get("/ui/users", headers={"x-api-key": KEYS["viewer"][0]})
    assert with_header.status_code == 200


def test_the_form_checks_the_key_and_sets_a_strict_cookie(client: TestClient) -> None:
    assert _sign_in(client, "not-a-key-0123456789") == 401
    assert _sign_in(client, KEYS["writer"][0]) == 403  # no read scope
    assert UI_KEY_COOKIE not in client.cookies
    answer = client.post(
        "/ui/login", content=f"key={KEYS['viewer'][0]}&next=/ui/items", headers=FORM
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/items"
    cookie = answer.headers["set-cookie"].lower()
    for part in ("httponly", "samesite=strict", "path=/ui"):
        assert part in cookie
    assert client.get("/ui/users").status_code == 200
    assert client.get("/ui/fragments/overview").status_code == 200
    # the cookie is no key for the JSON API, nor for the admin-only experiments page
    assert client.get("/v1/items/popular").status_code == 401
    assert client.get("/ui/experiments").status_code == 403
    signed_out = client.post("/ui/logout")
    assert signed_out.status_code == 303
    assert client.get("/ui/users").status_code == 303


def test_an_admin_key_reads_the_experiments_page(client: TestClient) -> None:
    assert _sign_in(client, KEYS["ops"][0]) == 303
    assert client.get("/ui/experiments").status_code == 200


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/ui/shop?user=ann", "/ui/shop?user=ann"),
        ("/ui", "/ui"),
        ("https://elsewhere.example/", "/ui/"),
        ("//elsewhere.example/ui/", "/ui/"),
        ("/ui//elsewhere.example", "/ui/"),
        ("/ui/\\elsewhere", "/ui/"),
        ("/v1/items/popular", "/ui/"),
        ("/uix", "/ui/"),
        ("/ui/login", "/ui/"),
        (None, "/ui/"),
    ],
)
def test_a_sign_in_never_leads_off_the_dashboard(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_without_keys_the_sign_in_page_says_the_dashboard_is_open(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        page = client.get("/ui/login?next=/ui/items")
        assert page.status_code == 200 and 'id="sign-in-open"' in page.text
        assert 'href="/ui/items"' in page.text
        assert "Sign out" not in client.get("/ui/").text

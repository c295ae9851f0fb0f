"""API keys against a real ``streamrec serve``: every route × (no key, a wrong key,
each scope) gives the contract's 401 / 403 / 2xx (DESIGN.md section 4, Auth)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from streamrec.client import AuthError, RetryPolicy, StreamrecClient
from streamrec.testing.process import free_port
from tests.serving import serving

KEYS = {
    "read": "read-key-0123456789abcdef",
    "write": "write-key-0123456789abcdef",
    "admin": "admin-key-0123456789abcdef",
}
EVERY_SCOPE = "all-key-0123456789abcdef"
CONFIG = "\n".join(
    [
        *(
            f'[[auth.keys]]\nname = "{scope}-only"\nkey = "{key}"\nscopes = ["{scope}"]\n'
            for scope, key in KEYS.items()
        ),
        f'[[auth.keys]]\nname = "all"\nkey = "{EVERY_SCOPE}"\n'
        'scopes = ["read", "write", "admin"]\n',
    ]
)
EVENT = {"user_id": "auth-ann", "item_id": "auth-tent", "type": "view"}
ITEM = {"title": "Trail Tent", "categories": ["auth-camping"]}

#: (method, path, JSON body, the scope it needs or None when open, whether the route
#: exists on this server: then the allowed answer must be 2xx, otherwise only not
#: 401/403 — the scope table covers routes by where they live).
ROUTES: list[tuple[str, str, object, str | None, bool]] = [
    ("GET", "/healthz", None, None, True),
    ("GET", "/readyz", None, None, True),
    ("GET", "/metrics", None, None, True),
    ("GET", "/openapi.json", None, None, True),
    ("POST", "/v1/events", EVENT, "write", True),
    ("PUT", "/v1/items/auth-tent", ITEM, "write", True),
    ("POST", "/v1/items", {"items": [{"item_id": "auth-stove", **ITEM}]}, "write", True),
    ("GET", "/v1/items/auth-tent", None, "read", True),
    ("GET", "/v1/items/popular", None, "read", True),
    ("GET", "/v1/items/trending", None, "read", True),
    ("GET", "/v1/items/auth-tent/similar", None, "read", True),
    ("GET", "/v1/users/auth-ann/recommendations", None, "read", True),
    ("GET", "/v1/users/auth-ann/profile", None, "read", True),
    ("PUT", "/v1/users/auth-ann", {"segments": ["x"]}, "write", False),
    ("GET", "/v1/users/auth-ann/recommendations/explain?item_id=auth-tent", None, "read", True),
    ("GET", "/ui/fragments/overview", None, "read", True),
    ("GET", "/ui/static/ui.css", None, None, True),
    ("GET", "/ui/login", None, None, True),
    ("GET", "/v1/experiments", None, "admin", True),
    ("GET", "/v1/experiments/auth-exp/report", None, "admin", False),
    ("PUT", "/v1/experiments/auth-exp", {"variants": []}, "admin", False),
    ("GET", "/v1/models", None, "admin", False),
    ("DELETE", "/v1/users/auth-gone", None, "admin", False),
    ("DELETE", "/v1/items/auth-gone", None, "admin", False),
    ("PATCH", "/v1/anything-new", {}, "admin", False),
]
CALLERS = ["no key", "wrong key", *KEYS]
#: Generous: the first list of a kind may compile its kernels on a busy machine.
TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``streamrec serve`` with one key per scope (and one with every scope)."""
    root = tmp_path_factory.mktemp("auth-serve")
    with serving(root, CONFIG) as url:
        with StreamrecClient(url, api_key=EVERY_SCOPE) as client:
            client.put_item({"item_id": "auth-tent", **ITEM})
            client.send_events([EVENT], wait=True)
        yield url
        assert KEYS["write"] not in (root / "serve.log").read_text()


def _headers(caller: str) -> dict[str, str]:
    if caller == "no key":
        return {}
    if caller == "wrong key":
        return {"authorization": "Bearer not-a-key-0123456789abcdef"}
    return {"authorization": f"Bearer {KEYS[caller]}"}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path", "body", "needed", "exists"), ROUTES)
def test_route_answers_by_key_and_scope(
    server: str,
    caller: str,
    method: str,
    path: str,
    body: object,
    needed: str | None,
    exists: bool,
) -> None:
    response = httpx.request(
        method, server + path, json=body, headers=_headers(caller), timeout=TIMEOUT_S
    )
    if needed is None or caller == needed:
        assert response.status_code not in (401, 403), response.text
        if exists:
            assert 200 <= response.status_code < 300, response.text
        else:
            assert response.status_code < 500, response.text
        return
    expected = 401 if caller in ("no key", "wrong key") else 403
    assert response.status_code == expected, response.text
    error = response.json()["error"]
    assert error["code"] == ("unauthorized" if expected == 401 else "forbidden")
    assert set(error) == {"code", "message", "details"}
    if expected == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_x_api_key_header_works_like_a_bearer_token(server: str) -> None:
    url = f"{server}/v1/items/popular"
    assert httpx.get(url, headers={"x-api-key": KEYS["read"]}).status_code == 200
    assert httpx.get(url, headers={"x-api-key": "not-a-key"}).status_code == 401
    assert httpx.get(url, headers={"authorization": f"Basic {KEYS['read']}"}).status_code == 401


def test_the_python_client_sends_its_key(server: str) -> None:
    with StreamrecClient(server, api_key=KEYS["read"]) as reader:
        assert reader.popular(k=5).items is not None
        with pytest.raises(AuthError) as refused:
            reader.send_events([EVENT])
        assert refused.value.status == 403
    with StreamrecClient(server, retry=RetryPolicy(attempts=1)) as anonymous:
        with pytest.raises(AuthError) as unknown:
            anonymous.popular(k=5)
        assert unknown.value.status == 401


def test_ingest_over_http_sends_its_key(server: str, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"user_id": "auth-ingest", "item_id": "auth-tent", "type": "view"}\n')
    argv = [sys.executable, "-m", "streamrec", "ingest", str(events), "--url", server, "--quiet"]
    refused = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "401" in refused.stderr
    read_only = subprocess.run(
        [*argv, "--api-key", KEYS["read"]], capture_output=True, text=True, timeout=120
    )
    assert read_only.returncode == 2 and "403" in read_only.stderr
    done = subprocess.run(
        [*argv, "--api-key", KEYS["write"]], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "ingested 1 events" in done.stdout


def test_protected_metrics_need_a_read_key(tmp_path: Path) -> None:
    config = (
        f'[auth]\nprotect_metrics = true\n[[auth.keys]]\nname = "r"\nkey = "{KEYS["read"]}"\n'
        'scopes = ["read"]\n'
    )
    with serving(tmp_path, config) as url:
        assert httpx.get(f"{url}/metrics").status_code == 401
        assert httpx.get(f"{url}/metrics", headers=_headers("read")).status_code == 200
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_serve_refuses_an_open_api_beyond_loopback(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "streamrec", "serve", "--data-dir", str(tmp_path / "data")]
    done = subprocess.run(
        [*argv, "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "without API keys" in done.stderr
    assert "--insecure" in done.stderr

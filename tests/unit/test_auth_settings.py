"""API key settings, the scope table, key lookup and the token bucket."""

from __future__ import annotations

import hashlib
import json

import pytest
from starlette.datastructures import Headers

from streamrec.access import AuthSettings, Scope
from streamrec.cli import is_loopback
from streamrec.config import Settings, load_settings
from streamrec.errors import ConfigError
from streamrec.serving.auth import KeyRing, presented_key, required_scope
from streamrec.serving.limits import RateLimiter, retry_after

SECRET = "s3cret-0123456789abcdef"


def test_keys_come_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = hashlib.sha256(b"other-0123456789abcdef").hexdigest()
    keys = [
        {"name": "app", "key": SECRET, "scopes": ["read", "write"]},
        {"name": "ops", "key_sha256": digest, "scopes": ["admin"], "rate_per_s": 5},
    ]
    monkeypatch.setenv("STREAMREC_AUTH__KEYS", json.dumps(keys))
    auth = Settings().auth
    assert auth.enabled
    assert [k.name for k in auth.keys] == ["app", "ops"]
    assert auth.keys[0].scopes == {Scope.READ, Scope.WRITE}
    assert auth.keys[1].digest() == bytes.fromhex(digest)
    assert SECRET not in repr(auth)


@pytest.mark.parametrize(
    "key",
    [
        {"name": "k", "scopes": ["read"]},  # neither key nor digest
        {"name": "k", "key": SECRET, "key_sha256": "0" * 64, "scopes": ["read"]},
        {"name": "k", "key": SECRET, "scopes": []},
        {"name": "k", "key": SECRET, "scopes": ["root"]},
        {"name": "k", "key": "short", "scopes": ["read"]},
        {"name": "k", "key_sha256": "not-hex", "scopes": ["read"]},
    ],
)
def test_bad_keys_are_config_errors_that_never_echo_the_key(key: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(auth={"keys": [key]})
    assert "short" not in str(refused.value)
    assert SECRET not in str(refused.value)


def test_key_names_and_secrets_are_unique() -> None:
    same_name = [{"name": "k", "key": SECRET, "scopes": ["read"]}] * 2
    with pytest.raises(ConfigError, match="unique"):
        load_settings(auth={"keys": same_name})
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    same_secret = [
        {"name": "a", "key": SECRET, "scopes": ["read"]},
        {"name": "b", "key_sha256": digest, "scopes": ["admin"]},
    ]
    with pytest.raises(ConfigError, match="same secret"):
        load_settings(auth={"keys": same_secret})


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/openapi.json", None),
        ("GET", "/metrics", None),
        ("POST", "/v1/events", Scope.WRITE),
        ("PUT", "/v1/items/x", Scope.WRITE),
        ("POST", "/v1/items", Scope.WRITE),
        ("PUT", "/v1/users/x", Scope.WRITE),
        ("GET", "/v1/users/x/recommendations", Scope.READ),
        ("GET", "/v1/users/x/recommendations/explain", Scope.READ),
        ("HEAD", "/ui/shop", Scope.READ),
        ("GET", "/ui", Scope.READ),
        ("GET", "/v1/experiments/e/report", Scope.ADMIN),
        ("PUT", "/v1/experiments/e", Scope.ADMIN),
        ("POST", "/v1/models/promote", Scope.ADMIN),
        ("PUT", "/v1/rules/r", Scope.ADMIN),
        ("PUT", "/v1/editorial/front", Scope.ADMIN),
        ("DELETE", "/v1/users/x", Scope.ADMIN),
        ("DELETE", "/v1/items/x", Scope.ADMIN),
        ("POST", "/v1/users/x/something-new", Scope.ADMIN),
        ("PUT", "/v1/items/x/y", Scope.ADMIN),
        ("POST", "/healthz", Scope.ADMIN),
        ("OPTIONS", "/v1/events", Scope.ADMIN),
        ("GET", "/somewhere/new", Scope.READ),
    ],
)
def test_the_scope_table(method: str, path: str, scope: Scope | None) -> None:
    assert required_scope(method, path, protect_metrics=False) is scope


def test_protected_metrics_need_read() -> None:
    assert required_scope("GET", "/metrics", protect_metrics=True) is Scope.READ


def test_keys_are_read_from_either_header() -> None:
    assert presented_key(Headers({"authorization": f"Bearer {SECRET}"})) == SECRET
    assert presented_key(Headers({"authorization": f"bearer  {SECRET} "})) == SECRET
    assert presented_key(Headers({"x-api-key": SECRET})) == SECRET
    assert presented_key(Headers({"authorization": f"Basic {SECRET}"})) is None
    assert presented_key(Headers({"authorization": "Bearer "})) is None
    assert presented_key(Headers({})) is None


def test_the_key_ring_finds_the_caller_by_key_or_digest() -> None:
    digest = hashlib.sha256(b"ops-key-0123456789abcdef").hexdigest()
    ring = KeyRing(
        AuthSettings.model_validate(
            {
                "keys": [
                    {"name": "app", "key": SECRET, "scopes": ["read"]},
                    {"name": "ops", "key_sha256": digest, "scopes": ["admin"]},
                ]
            }
        )
    )
    app, ops = ring.identify(SECRET), ring.identify("ops-key-0123456789abcdef")
    assert app is not None and app.name == "app" and app.scopes == {Scope.READ}
    assert ops is not None and ops.name == "ops"
    assert ring.identify(SECRET[:-1]) is None
    assert ring.identify(digest) is None


def test_a_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(burst=3, clock=lambda: now[0])
    assert [limiter.take("a", rate=2.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a", rate=2.0) == pytest.approx(0.5)
    assert limiter.take("b", rate=2.0) == 0.0  # buckets are per caller
    now[0] = 0.5
    assert limiter.take("a", rate=2.0) == 0.0
    assert limiter.take("a", rate=2.0) > 0
    now[0] = 100.0  # refills up to the burst only
    assert [limiter.take("a", rate=2.0) for _ in range(4)][-1] > 0
    assert retry_after(0.01) == "1" and retry_after(2.2) == "3"


def test_the_limiter_forgets_the_oldest_callers_past_its_bound() -> None:
    limiter = RateLimiter(burst=1, max_callers=2, clock=lambda: 0.0)
    for caller in ("a", "b", "c"):
        assert limiter.take(caller, rate=1.0) == 0.0
    assert limiter.take("a", rate=1.0) == 0.0  # forgotten, so a full bucket again
    assert limiter.take("c", rate=1.0) > 0


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.org", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback

"""What the request guard (API keys, scopes, rate limits, body limits) costs.

Usage: ``python scripts/measure_guard_overhead.py [--rounds N]``

Two apps over one warm in-memory engine (5,000 users, 2,000 items, 100,000 synthetic
events) are called through ASGI directly, with no network in between, alternating
in every round; the report gives the medians of the rounds:

- ``GET /v1/users/{id}/recommendations?k=10`` with auth off (no keys: the guard only
  looks the scope up) against auth on (four keys, a Bearer key checked by SHA-256 and
  ``hmac.compare_digest`` against each, and a token bucket per key);
- ``GET /healthz`` (an open route) the same way, and the guard alone around a
  trivial ASGI app.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from streamrec.access import AuthSettings, LimitSettings
from streamrec.config import Settings
from streamrec.datasets import SyntheticShop
from streamrec.engine import Engine
from streamrec.serving.app import create_app
from streamrec.serving.guard import Guard
from streamrec.state.memory import MemoryState

KEY = "bench-key-0123456789abcdef"
KEYS = [{"name": f"k{n}", "key": f"{KEY}-{n}", "scopes": ["read", "write"]} for n in range(3)] + [
    {"name": "bench", "key": KEY, "scopes": ["read"]}
]
LIMITS = {"rate_per_s": 1e9, "rate_burst": 1e9}
ASGI = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _scope(path: str, query: str = "", key: str | None = None) -> dict[str, Any]:
    headers = [(b"host", b"bench")]
    if key is not None:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _per_call(loop: asyncio.AbstractEventLoop, app: ASGI, scopes: list[dict[str, Any]]) -> float:
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def run() -> None:
        for scope in scopes:
            await app(dict(scope), _receive, send)

    started = time.perf_counter()
    loop.run_until_complete(run())
    seconds = (time.perf_counter() - started) / len(scopes)
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses {sorted(set(statuses))}")
    return seconds


def _app(engine: Engine[Any], **settings: Any) -> FastAPI:
    app = create_app(Settings(**settings), engine_factory=lambda _: engine)
    app.state.engine = engine  # what the lifespan does; the engine is shared
    return app


def _compare(
    loop: asyncio.AbstractEventLoop,
    name: str,
    runs: tuple[tuple[ASGI, list[dict[str, Any]]], tuple[ASGI, list[dict[str, Any]]]],
    rounds: int,
) -> None:
    base, added = [], []
    for n in range(rounds):  # alternating which goes first
        if n % 2:
            added.append(_per_call(loop, *runs[1]))
        base.append(_per_call(loop, *runs[0]))
        if not n % 2:
            added.append(_per_call(loop, *runs[1]))
    b, a = statistics.median(base), statistics.median(added)
    print(f"{name:52s} {b * 1e6:9.1f} us {a * 1e6:9.1f} us  {a / b - 1:+7.1%}")


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=500, help="per round and app")
    args = parser.parse_args()
    settings = Settings()
    engine = Engine(settings, MemoryState(settings))
    for batch in SyntheticShop(n_users=5_000, n_items=2_000, seed=5).events(100_000, 10_000):
        engine.state.apply(batch)
    off, on = _app(engine), _app(engine, auth={"keys": KEYS}, limits=LIMITS)
    users = [f"u{(7 * n) % 5_000}" for n in range(args.requests)]
    path = "/v1/users/{}/recommendations"
    plain = [_scope(path.format(u), "k=10") for u in users]
    keyed = [_scope(path.format(u), "k=10", KEY) for u in users]
    loop = asyncio.new_event_loop()
    _per_call(loop, off, plain[:50])  # compile kernels, warm caches
    _per_call(loop, on, keyed[:50])
    print(f"{'':52s} {'auth off':>12s} {'auth on':>12s}  {'added':>7s}")
    _compare(loop, "GET recommendations?k=10 (full app)", ((off, plain), (on, keyed)), args.rounds)
    health = [_scope("/healthz")] * args.requests
    _compare(loop, "GET /healthz (full app)", ((off, health), (on, health)), args.rounds)
    guard_off = Guard(_ok, AuthSettings(), LimitSettings())
    guard_on = Guard(
        _ok, AuthSettings.model_validate({"keys": KEYS}), LimitSettings.model_validate(LIMITS)
    )
    bare = [_scope(path.format(u), "k=10", KEY) for u in users] * 10
    _compare(
        loop, "guard alone around a trivial app", ((guard_off, bare), (guard_on, bare)), args.rounds
    )
    _compare(
        loop, "bare trivial app vs guard with keys", ((_ok, bare), (guard_on, bare)), args.rounds
    )
    loop.close()


if __name__ == "__main__":
    main()

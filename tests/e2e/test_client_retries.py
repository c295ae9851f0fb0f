"""Retries, timeouts and error reading, against a real scripted HTTP server.

The server is a small ASGI app run by uvicorn in a thread on a free port: it answers
each request with the next reply of its script and records when each arrived, so the
waits between tries are measured where the server sees them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

import orjson
import pytest
import uvicorn

from streamrec.client import (
    AsyncStreamrecClient,
    AuthError,
    BatchError,
    BatchOptions,
    InvalidInputError,
    NotFoundError,
    RetryPolicy,
    StreamrecClient,
    StreamrecClientError,
    StreamrecConnectionError,
    StreamrecHTTPError,
    UnavailableError,
)
from streamrec.testing.process import free_port

ACCEPTED = orjson.dumps({"accepted": 1, "applied": False})
LIST = orjson.dumps(
    {
        "user_id": "u",
        "items": [{"item_id": "i", "score": 1.0, "reasons": ["popular"], "sources": {}}],
        "variant": "default",
        "model_version": None,
        "recommendation_id": "r1",
        "fallback": True,
        "next_page_token": "p2",
        "served_by": "replica-2",  # a field this client does not know yet
    }
)
FAST = RetryPolicy(attempts=4, backoff_s=0.05, max_backoff_s=0.2)


def _error(code: str, message: str, details: object = None) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "details": details or []}})


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Arrival:
    at: float  # epoch seconds, to compare with HTTP dates
    method: str
    path: str
    query: str
    headers: dict[str, str]


class ScriptedApp:
    """Answers request ``n`` with ``replies[n]`` (500 once the script runs out)."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.arrivals: list[Arrival] = []

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def gaps(self) -> list[float]:
        times = [a.at for a in self.arrivals]
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        assert scope["type"] == "http"
        self.arrivals.append(
            Arrival(
                at=time.time(),
                method=scope["method"],
                path=scope["raw_path"].decode(),
                query=scope["query_string"].decode(),
                headers={k.decode(): v.decode() for k, v in scope["headers"]},
            )
        )
        reply = self.replies.popleft() if self.replies else Reply(500, b"script ran out")
        await asyncio.sleep(reply.delay_s)
        headers = [(b"content-type", b"application/json")]
        headers += [(k.encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ScriptedApp, str]]:
    app = ScriptedApp()
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
    )
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, name="scripted-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield app, f"http://127.0.0.1:{port}"
    runner.should_exit = True
    thread.join(timeout=30)


@pytest.fixture()
def app(server: tuple[ScriptedApp, str]) -> Iterator[ScriptedApp]:
    scripted, _ = server
    yield scripted
    scripted.replies.clear()
    scripted.arrivals.clear()


@pytest.fixture()
def url(server: tuple[ScriptedApp, str]) -> str:
    return server[1]


EVENT = {"user_id": "u", "item_id": "i", "type": "view"}


def test_503_is_retried_after_its_retry_after_seconds(app: ScriptedApp, url: str) -> None:
    app.script(Reply(503, _error("unavailable", "log down"), {"retry-after": "1"}))
    app.script(Reply(202, ACCEPTED))
    with StreamrecClient(url, retry=FAST) as client:
        assert client.send_event(EVENT).accepted == 1
    (gap,) = app.gaps()
    assert 1.0 <= gap < 2.0  # the asked wait, not the 0.05 s backoff


def test_429_is_retried_at_its_retry_after_date(app: ScriptedApp, url: str) -> None:
    retry_at = formatdate(time.time() + 2, usegmt=True)  # whole seconds: 1 to 2 s ahead
    app.script(Reply(429, _error("rate_limited", "slow down"), {"retry-after": retry_at}))
    app.script(Reply(200, LIST))
    with StreamrecClient(url, retry=FAST) as client:
        assert client.recommendations("u").item_ids == ["i"]
    first, second = app.arrivals
    assert second.at >= parsedate_to_datetime(retry_at).timestamp()
    assert second.at - first.at < 3.5


def test_without_retry_after_the_backoff_doubles_with_jitter(app: ScriptedApp, url: str) -> None:
    app.script(*[Reply(503, _error("unavailable", "busy"))] * 3, Reply(200, LIST))
    policy = RetryPolicy(attempts=4, backoff_s=0.2, max_backoff_s=0.4)
    with StreamrecClient(url, retry=policy) as client:
        client.popular()
    ceilings = [0.2, 0.4, 0.4]  # 0.2 * 2**n, capped at 0.4
    for gap, ceiling in zip(app.gaps(), ceilings, strict=True):
        assert ceiling / 2 <= gap < ceiling + 0.5


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (400, StreamrecHTTPError, "bad_request"),
        (401, AuthError, "unauthorized"),
        (404, NotFoundError, "not_found"),
        (422, InvalidInputError, "invalid_input"),
    ],
)
def test_other_4xx_are_raised_at_once(
    app: ScriptedApp, url: str, status: int, kind: type[StreamrecHTTPError], code: str
) -> None:
    details = [{"index": 0, "field": "type", "message": "bad type"}]
    app.script(Reply(status, _error(code, "no", details), {"retry-after": "0"}))
    with StreamrecClient(url, retry=FAST) as client, pytest.raises(kind) as raised:
        client.send_events([EVENT])
    assert type(raised.value) is kind
    assert (raised.value.status, raised.value.code, raised.value.message) == (status, code, "no")
    assert raised.value.details == details
    assert [(p.index, p.field, p.message) for p in raised.value.problems] == [
        (0, "type", "bad type")
    ]
    assert len(app.arrivals) == 1


def test_attempts_run_out_with_the_last_error(app: ScriptedApp, url: str) -> None:
    app.script(*[Reply(503, _error("unavailable", "down"), {"retry-after": "0.1"})] * 3)
    with (
        StreamrecClient(url, retry=RetryPolicy(attempts=3)) as client,
        pytest.raises(UnavailableError) as raised,
    ):
        client.ready()  # /readyz: a 503 in the error shape is still an error
    assert (raised.value.status, raised.value.retry_after) == (503, 0.1)
    assert len(app.arrivals) == 3


def test_a_retry_after_beyond_the_limit_is_raised_for_the_caller(
    app: ScriptedApp, url: str
) -> None:
    app.script(Reply(429, _error("rate_limited", "later"), {"retry-after": "120"}))
    policy = RetryPolicy(max_retry_after_s=30)
    with StreamrecClient(url, retry=policy) as client, pytest.raises(UnavailableError) as raised:
        client.trending()
    assert raised.value.retry_after == 120
    assert len(app.arrivals) == 1


def test_a_degraded_readiness_is_an_answer(app: ScriptedApp, url: str) -> None:
    body = {"status": "degraded", "version": "0", "model_version": None, "lag": 7}
    app.script(Reply(503, orjson.dumps({**body, "processor_error": "boom", "retrain": None})))
    with StreamrecClient(url, retry=FAST) as client:
        readiness = client.ready()
    assert not readiness.ready and readiness.processor_error == "boom"
    assert len(app.arrivals) == 1


def test_timeouts_retry_reads_but_never_resend_events(app: ScriptedApp, url: str) -> None:
    policy = RetryPolicy(attempts=2, backoff_s=0.01)
    app.script(Reply(200, LIST, delay_s=1.0), Reply(200, LIST, delay_s=1.0))
    with StreamrecClient(url, timeout=0.2, retry=policy) as client:
        with pytest.raises(StreamrecConnectionError, match="ReadTimeout after 2 attempt"):
            client.similar("i")
        assert len(app.arrivals) == 2
        app.replies.clear()
        app.script(Reply(202, ACCEPTED, delay_s=1.0))
        with pytest.raises(StreamrecConnectionError, match="after 1 attempt"):
            client.send_event(EVENT)
    assert [a.method for a in app.arrivals] == ["GET", "GET", "POST"]


def test_refused_connections_are_retried_with_backoff() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    policy = RetryPolicy(attempts=3, backoff_s=0.2)
    started = time.monotonic()
    with StreamrecClient(nobody, retry=policy) as client, pytest.raises(StreamrecConnectionError):
        client.send_event(EVENT)
    assert time.monotonic() - started >= 0.1 + 0.2  # at least half of 0.2, then of 0.4


def test_requests_carry_the_key_ids_and_passed_through_parameters(
    app: ScriptedApp, url: str
) -> None:
    app.script(Reply(200, LIST))
    with StreamrecClient(url, api_key="k-123") as client:
        answer = client.recommendations(
            "ann/b #1?",
            k=3,
            exclude_seen=False,
            exclude=["a", "b"],
            page_token="p1",
            budget_ms=50,
            surface=None,
        )
    assert answer.next_page_token == "p2"
    assert answer.model_extra == {"served_by": "replica-2"}
    (arrival,) = app.arrivals
    assert arrival.headers["authorization"] == "Bearer k-123"
    assert arrival.headers["user-agent"].startswith("streamrec-client/")
    assert arrival.path == "/v1/users/ann%2Fb%20%231%3F/recommendations"
    assert arrival.query == "k=3&exclude_seen=false&exclude=a%2Cb&page_token=p1&budget_ms=50"


def test_error_bodies_outside_the_api_shape_are_still_read(app: ScriptedApp, url: str) -> None:
    app.script(Reply(502, b"<html>bad gateway</html>"), Reply(200, b'{"status": 1}'))
    with StreamrecClient(url, retry=FAST) as client:
        with pytest.raises(StreamrecHTTPError) as raised:
            client.health()
        assert (raised.value.code, raised.value.message) == ("http_502", "<html>bad gateway</html>")
        with pytest.raises(StreamrecClientError, match="not a Health"):
            client.health()
    assert len(app.arrivals) == 2


def test_a_batch_that_cannot_be_delivered_is_raised_by_close(app: ScriptedApp, url: str) -> None:
    app.script(*[Reply(503, _error("unavailable", "down"), {"retry-after": "0"})] * 2)
    with StreamrecClient(url, retry=RetryPolicy(attempts=2)) as client:
        batcher = client.batcher(BatchOptions(max_delay_s=60))
        batcher.add(EVENT)
        with pytest.raises(BatchError) as raised:
            batcher.close()
    (failure,) = raised.value.failures
    assert failure.events == [EVENT] and isinstance(failure.error, UnavailableError)
    assert failure.events_without_problems() == [EVENT]  # nothing wrong with it: resend


def test_the_async_client_retries_the_same_way(app: ScriptedApp, url: str) -> None:
    app.script(Reply(503, _error("unavailable", "log down"), {"retry-after": "0.5"}))
    app.script(Reply(202, ACCEPTED), Reply(404, _error("not_found", "no such item")))

    async def scenario() -> None:
        async with AsyncStreamrecClient(url, api_key="k-9", retry=FAST) as client:
            assert (await client.send_events([EVENT], wait=True)).accepted == 1
            with pytest.raises(NotFoundError):
                await client.get_item("gone")

    asyncio.run(scenario())
    assert 0.5 <= app.gaps()[0] < 1.5
    assert [a.query for a in app.arrivals[:2]] == ["wait=true", "wait=true"]
    assert len(app.arrivals) == 3 and app.arrivals[0].headers["authorization"] == "Bearer k-9"

"""The client's pure parts: Retry-After reading, retry decisions and batch bookkeeping."""

from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest

from streamrec.client import BatcherClosedError, BatchError, BatchOptions, RetryPolicy
from streamrec.client import calls as api
from streamrec.client.batching import BatchQueue
from streamrec.client.errors import StreamrecConnectionError, retry_after_seconds
from streamrec.client.retry import Attempts

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 0.5 ", 0.5),
        ("-4", 0.0),
        (formatdate(NOW + 90, usegmt=True), 90.0),
        (formatdate(NOW - 90, usegmt=True), 0.0),
        (formatdate(NOW + 30).replace("+0000", "-0000"), 30.0),  # no zone: UTC
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str | None, seconds: float) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


def test_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half() -> None:
    policy = RetryPolicy(backoff_s=0.1, max_backoff_s=0.5)
    for retry, ceiling in enumerate([0.1, 0.2, 0.4, 0.5, 0.5]):
        waits = [policy.backoff(retry) for _ in range(200)]
        assert ceiling / 2 <= min(waits) and max(waits) <= ceiling
        assert max(waits) - min(waits) > ceiling / 10  # jittered, not fixed


@pytest.mark.parametrize("bad", [{"attempts": 0}, {"backoff_s": -1.0}, {"max_retry_after_s": -1}])
def test_retry_policy_rejects_impossible_settings(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


def _response(code: int, headers: dict[str, str] | None = None, **body: object) -> httpx.Response:
    return httpx.Response(code, headers=headers, json=body)


def test_statuses_retried_are_429_and_503_only() -> None:
    attempts = Attempts(RetryPolicy(attempts=9), api.popular())
    for status in (400, 401, 403, 404, 409, 422, 500, 502, 504):
        assert attempts.after_response(_response(status)) is None
    assert attempts.after_response(_response(429, {"retry-after": "7"})) == 7.0
    assert attempts.after_response(_response(503, {"retry-after": "61"})) is None  # > 60 s
    assert 0.1 <= (attempts.after_response(_response(503)) or 0) <= 0.2 * 2
    assert attempts.retries == 2


def test_a_degraded_readiness_is_final_but_a_503_error_is_retried() -> None:
    attempts = Attempts(RetryPolicy(), api.ready())
    assert attempts.after_response(_response(503, status="degraded")) is None
    error = _response(503, {"retry-after": "1"}, error={"code": "unavailable", "message": "x"})
    assert attempts.after_response(error) == 1.0


def test_attempts_count_the_first_try() -> None:
    attempts = Attempts(RetryPolicy(attempts=3, backoff_s=0.0), api.health())
    refused = httpx.ConnectError("refused")
    assert attempts.after_error(refused) == 0.0
    assert attempts.after_error(refused) == 0.0
    with pytest.raises(StreamrecConnectionError, match="after 3 attempt"):
        attempts.after_error(refused)


def test_only_idempotent_calls_are_resent_after_a_read_failure() -> None:
    timeout = httpx.ReadTimeout("slow")
    assert Attempts(RetryPolicy(), api.get_item("i")).after_error(timeout) > 0
    event = {"user_id": "u", "item_id": "i", "type": "view"}
    with pytest.raises(StreamrecConnectionError, match="after 1 attempt"):
        Attempts(RetryPolicy(), api.send_events([event])).after_error(timeout)
    assert (
        Attempts(RetryPolicy(), api.send_events([event])).after_error(httpx.ConnectError("refused"))
        > 0
    )


def test_a_batch_is_due_when_full_when_old_when_flushed_or_closed() -> None:
    queue = BatchQueue(BatchOptions(max_batch=3, max_delay_s=1.0))
    assert not queue.due(0.0) and queue.seconds_until_due(0.0) is None
    queue.add({"n": 0}, now=10.0)
    queue.add({"n": 1}, now=10.5)
    assert not queue.due(10.9) and queue.seconds_until_due(10.5) == pytest.approx(0.5)
    assert queue.due(11.0)  # the oldest has waited max_delay_s
    queue.add({"n": 2}, now=10.6)
    queue.add({"n": 3}, now=10.7)
    assert queue.due(10.7)  # full
    assert queue.take() == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert not queue.due(10.8)
    target = queue.request_flush()
    assert queue.due(10.8) and target == 4
    assert queue.take() == [{"n": 3}] and not queue.due(10.8)
    queue.add({"n": 4}, now=20.0)
    queue.closed = True
    assert queue.due(20.0) and not queue.finished_all()
    queue.take()
    assert queue.finished_all()
    with pytest.raises(BatcherClosedError):
        queue.add({"n": 5}, now=21.0)


def test_failures_are_raised_once_and_reported_ones_not_kept() -> None:
    queue = BatchQueue(BatchOptions(max_batch=1, max_queue=2))
    queue.add({"n": 0}, now=0.0)
    assert queue.has_room()
    queue.add({"n": 1}, now=0.0)
    assert not queue.has_room()
    first, second = queue.take(), queue.take()
    queue.finished(first, ValueError("rejected"), reported=False)
    queue.finished(second, ValueError("handed to on_error"), reported=True)
    assert queue.done == 2
    with pytest.raises(BatchError) as raised:
        queue.raise_failures()
    assert [f.events for f in raised.value.failures] == [[{"n": 0}]]
    queue.raise_failures()  # nothing left to report


@pytest.mark.parametrize(
    "bad", [{"max_batch": 0}, {"max_queue": 0}, {"max_delay_s": -1}, {"when_full": "drop"}]
)
def test_batch_options_reject_impossible_settings(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BatchOptions(**bad)  # type: ignore[arg-type]

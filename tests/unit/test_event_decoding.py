"""The strict bulk decoder gives the full validator's answer on every body.

On random bodies, good and bad, :func:`streamrec.event_decoding.decode_batch`
either builds the same batch as ``EventBatch.from_events(decode_events(...))`` or
raises the same error with the same problems.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamrec.bounds import TimeWindow
from streamrec.errors import InvalidInput
from streamrec.event_decoding import decode_batch
from streamrec.events import EVENT_TYPES, EventBatch, decode_events

STAMP = 1_700_000_000_000
MAX_BATCH = 20
#: A server's window of accepted event times: from 2020 (its end is capped at 9999,
#: so that the problems listed do not depend on the clock between the two calls).
WINDOW = TimeWindow(earliest_ms=1_577_836_800_000, max_skew_s=1e12)

ids = st.one_of(
    st.text(min_size=1, max_size=8),
    st.sampled_from(["", "x" * 256, "x" * 257, "é" * 256, "😀" * 257]),
    st.integers(),
    st.none(),
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([2**63 - 1, 2**63, 2**64, 1.0, 1.5, -0.5, 1e20, 1e12, 1e12 + 1]),
)
in_window = st.one_of(
    st.integers(min_value=WINDOW.earliest_ms - 10, max_value=STAMP),
    st.sampled_from([253_402_300_799_999, 253_402_300_800_000]),
)
timestamps = st.one_of(
    numbers,
    in_window,
    st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-01T00:00:00", "yesterday", "1700000000000"]),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=1),
)
values = st.one_of(numbers, st.sampled_from(["5", "five", "1e400"]), st.booleans(), st.none())
types = st.one_of(st.sampled_from([t.value for t in EVENT_TYPES]), st.sampled_from(["x", 3, None]))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=4)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)
deep: dict[str, Any] = {}
for _ in range(9):
    deep = {"d": deep}
contexts = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=3), json_values),
    json_values,
    st.sampled_from([deep, deep["d"], {"s": "x" * 10_001}, {"k" * 257: 1}]),
)

OPTIONAL = {
    "value": values,
    "timestamp": timestamps,
    "session_id": ids,
    "context": contexts,
    "recommendation_id": ids,
    "colour": st.just("red"),
}


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {}
    if draw(st.integers(0, 19)):  # mostly present, sometimes missing
        event["user_id"] = draw(st.one_of(st.text(min_size=1, max_size=8), ids))
    if draw(st.integers(0, 19)):
        event["item_id"] = draw(st.one_of(st.text(min_size=1, max_size=8), ids))
    if draw(st.integers(0, 19)):
        event["type"] = draw(st.one_of(st.sampled_from([t.value for t in EVENT_TYPES]), types))
    for name, strategy in OPTIONAL.items():
        if draw(st.integers(0, 3 if name != "colour" else 40)) == 0:
            event[name] = draw(strategy)
    return event


def _mostly_good(event: dict[str, Any]) -> dict[str, Any]:
    return {"user_id": "u", "item_id": "i", "type": "view", **event}


bodies = st.one_of(
    st.lists(events().map(_mostly_good), max_size=MAX_BATCH + 2).map(lambda e: {"events": e}),
    st.lists(events(), max_size=5).map(lambda e: {"events": e}),
    events().map(_mostly_good),
    st.fixed_dictionaries({"events": st.lists(events(), max_size=3), "extra": st.just(1)}),
    json_values,
).map(lambda body: json.dumps(body).encode())


Outcome = EventBatch | InvalidInput | OverflowError


def _reference(body: bytes, window: TimeWindow | None = None) -> Outcome:
    try:
        events = decode_events(body, MAX_BATCH, window)
        return EventBatch.from_events(events, default_timestamp=STAMP)
    except (InvalidInput, OverflowError) as exc:  # a timestamp past int64 overflows
        return exc


def _decoded(body: bytes, window: TimeWindow | None = None) -> Outcome:
    try:
        return decode_batch(body, MAX_BATCH, window, default_timestamp=STAMP)
    except (InvalidInput, OverflowError) as exc:
        return exc


def _same(expected: Outcome, got: Outcome) -> None:
    if isinstance(expected, OverflowError):
        assert isinstance(got, OverflowError), got
        return
    if isinstance(expected, InvalidInput):
        assert isinstance(got, InvalidInput), got
        assert (type(got), got.message, got.problems) == (
            type(expected),
            expected.message,
            expected.problems,
        )
        return
    assert isinstance(got, EventBatch), got
    for name in ("user_id", "item_id", "session_id", "context", "recommendation_id"):
        assert getattr(got, name) == getattr(expected, name), name
    for name in ("type", "value", "timestamp", "offset", "partition"):
        want, have = getattr(expected, name), getattr(got, name)
        assert have.dtype == want.dtype, name
        np.testing.assert_array_equal(have, want, err_msg=name)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies, st.sampled_from([None, WINDOW]))
def test_strict_decoder_answers_like_the_full_validator(
    body: bytes, window: TimeWindow | None
) -> None:
    _same(_reference(body, window), _decoded(body, window))


@pytest.mark.parametrize(
    "body",
    [
        {"events": [{"user_id": "u", "item_id": "i", "type": "view"}]},
        {"user_id": "u", "item_id": "i", "type": "rating", "value": "4.5"},
        {"events": [{"user_id": "u", "item_id": "i", "type": "view", "timestamp": "2024-01-01Z"}]},
        {"events": [{"user_id": "u", "item_id": "i", "type": "view", "timestamp": 1.9}]},
        {"events": [{"user_id": "u", "item_id": "i", "type": "like", "context": {"n": 2**70}}]},
        {"events": [{"user_id": "u", "item_id": "i", "type": "view", "context": [1]}]},
    ],
)
def test_lax_and_edge_forms(body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    _same(_reference(raw), _decoded(raw))


def test_a_full_batch_decodes_strictly() -> None:
    event = {"user_id": "u", "item_id": "i", "type": "purchase", "value": 2, "timestamp": 5}
    batch = decode_batch(orjson.dumps({"events": [event] * 5_000}), 5_000)
    assert len(batch) == 5_000
    assert batch.timestamp.tolist() == [5] * 5_000
    assert batch.value.tolist() == [2.0] * 5_000


def test_a_good_batch_never_reaches_the_full_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(body: bytes, max_batch: int) -> None:
        raise AssertionError("the strict pass fell back")

    monkeypatch.setattr("streamrec.event_decoding.decode_events", refuse)
    events = [
        {"user_id": "u", "item_id": "i", "type": t.value, "value": 1, "timestamp": 3}
        for t in EVENT_TYPES
    ]
    events.append({"user_id": "u", "item_id": "i", "type": "view", "context": {"page": "home"}})
    events.append(
        {"user_id": "u", "item_id": "i", "type": "view", "session_id": "s", "value": None}
    )
    batch = decode_batch(orjson.dumps({"events": events}), 100, default_timestamp=STAMP)
    assert batch.type.tolist() == [*range(len(EVENT_TYPES)), 0, 0]
    assert batch.context[-2] == {"page": "home"}
    assert batch.timestamp[-1] == STAMP


def test_events_past_the_allowed_future_skew_are_listed_like_the_full_validator() -> None:
    window = TimeWindow(earliest_ms=0, max_skew_s=3600.0)
    future = int(time.time() * 1000) + 2 * 3600 * 1000
    good = {"user_id": "u", "item_id": "i", "type": "view", "timestamp": STAMP}
    body = orjson.dumps({"events": [good, {**good, "timestamp": future}, good]})
    with pytest.raises(InvalidInput) as rejected:
        decode_batch(body, MAX_BATCH, window)
    assert [(p.index, p.field) for p in rejected.value.problems] == [(1, "timestamp")]
    assert len(decode_batch(orjson.dumps({"events": [good, good]}), MAX_BATCH, window)) == 2

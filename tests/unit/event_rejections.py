"""Bad ``POST /v1/events`` bodies, each with a name, for the 422 contract test.

The answers to these bodies are pinned in ``golden/events_422.json``: whatever
decodes the events, the same bad batch gets the same 422, every problem listed.
"""

from __future__ import annotations

import orjson

LONG_ID = "x" * 257


def _good(n: int) -> dict[str, object]:
    return {"user_id": f"u{n}", "item_id": f"i{n}", "type": "view", "timestamp": 1_700_000_000_000}


def _batch(*events: object, **extra: object) -> bytes:
    return orjson.dumps({"events": list(events), **extra})


def _many_bad() -> bytes:
    events: list[object] = [_good(n) for n in range(1_000)]
    for n in range(0, 1_000, 97):
        events[n] = {**_good(n), "type": "teleport"}
    for n in range(5, 1_000, 131):
        events[n] = {**_good(n), "timestamp": -n}
    return _batch(*events)


#: name -> body; every one is rejected whole.
BAD_BODIES: dict[str, bytes] = {
    "not json": b"not json",
    "truncated json": b'{"events": [{"user_id": "u"',
    "trailing bytes": _batch(_good(0)) + b" x",
    "top-level list": b"[]",
    "top-level null": b"null",
    "top-level string": b'"events"',
    "top-level number": b"42",
    "empty batch": b'{"events": []}',
    "events not a list": b'{"events": {"a": 1}}',
    "events null": b'{"events": null}',
    "extra top-level field": _batch(_good(0), source="app", extra=1),
    "event not an object": _batch(_good(0), "view", None, 7),
    "missing fields": _batch({"type": "view"}, {"user_id": "u"}),
    "unknown type": _batch(_good(0), {**_good(1), "type": "teleport"}),
    "type not a string": _batch({**_good(0), "type": 3}),
    "empty ids": _batch({**_good(0), "user_id": ""}, {**_good(1), "item_id": ""}),
    "ids too long": _batch({**_good(0), "user_id": LONG_ID}, {**_good(1), "item_id": LONG_ID}),
    "ids not strings": _batch({**_good(0), "user_id": 12}, {**_good(1), "item_id": None}),
    "unknown field": _batch({**_good(0), "colour": "red"}),
    "timestamp words": _batch({**_good(0), "timestamp": "yesterday"}),
    "timestamp without zone": _batch({**_good(0), "timestamp": "2024-01-01T00:00:00"}),
    "timestamp negative": _batch({**_good(0), "timestamp": -1}, {**_good(1), "timestamp": -0.5}),
    "timestamp bool": _batch({**_good(0), "timestamp": True}),
    "timestamp list": _batch({**_good(0), "timestamp": [1]}),
    "value not a number": _batch({**_good(0), "value": "five"}, {**_good(1), "value": [5]}),
    "value bool and object": _batch({**_good(0), "value": {"v": 1}}),
    "value infinite": _batch({**_good(0), "value": 0}).replace(b'"value":0', b'"value":1e400'),
    "context not an object": _batch({**_good(0), "context": [1, 2]}, {**_good(1), "context": "x"}),
    "session and recommendation ids": _batch(
        {**_good(0), "session_id": ""},
        {**_good(1), "recommendation_id": LONG_ID},
        {**_good(2), "session_id": 5},
    ),
    "one bad single event": orjson.dumps({**_good(0), "type": "teleport"}),
    "single event with events field": orjson.dumps({**_good(0), "events": []}),
    "several problems in one event": _batch({"user_id": "", "type": "x", "value": "v", "n": 1}),
    "many events, some bad": _many_bad(),
    "too many events": _batch(*[_good(n) for n in range(10_001)]),
    "too many bad events": _batch(*[{"type": "x"} for _ in range(10_001)]),
}

"""Bulk decoding of event batches: one strict pass for good batches, the full listing for bad.

A ``POST /v1/events`` body of thousands of events is decoded by msgspec straight
into typed structs, in one strict JSON-mode pass with no per-event Python
validator, and turned into the columns of an :class:`~streamrec.events.EventBatch`.

The strict pass accepts a subset of what :func:`streamrec.events.decode_events`
accepts, and decodes it to the same batch. Whatever it does not accept goes
through :func:`~streamrec.events.decode_events`, which either takes it (a lax form
such as an RFC 3339 timestamp, a numeric string as a value, or a single event
that is not wrapped in ``{"events": [...]}``) or rejects the batch with every
problem listed. A bad batch therefore gets exactly the 422 of the full validator
(``tests/unit/test_event_rejections.py`` pins those answers).

The strict rules are the field annotations of :class:`StrictEvent`, one field a
line. A rule added to :class:`~streamrec.events.Event` needs its strict twin there
(a msgspec constraint or a column check in :func:`_columns`), or the strict pass
would let through what the full validator rejects;
``tests/unit/test_event_decoding.py`` compares the two on random bodies.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import numpy as np
import orjson

from streamrec.bounds import MAX_TIMESTAMP_MS, TimeWindow, check_json
from streamrec.events import (
    MAX_ID_LENGTH,
    MAX_VALUE,
    TYPE_CODE,
    EventBatch,
    EventType,
    decode_events,
    now_ms,
)

#: A present id: 1 to ``MAX_ID_LENGTH`` characters.
StrictId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]
#: Epoch milliseconds as a JSON integer, from 1970 to 9999 (the window is checked on
#: the column).
StrictTimestamp = Annotated[int, msgspec.Meta(ge=0, le=MAX_TIMESTAMP_MS)]
#: A finite value within the full validator's bounds (msgspec rejects 1e400).
StrictValue = Annotated[float, msgspec.Meta(ge=-MAX_VALUE, le=MAX_VALUE)]
#: ``context`` is kept as raw JSON and parsed by orjson, as the full validator does.
ABSENT = msgspec.Raw(b"null")


class StrictEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The strict wire rules of one event, a field a line (see the module docstring).

    ``gc=False``: an event holds only strings, numbers and raw bytes, so it cannot be
    part of a reference cycle, and thousands of them per batch stay out of the
    cyclic garbage collector's way.
    """

    user_id: StrictId
    item_id: StrictId
    type: EventType
    value: StrictValue | None = None
    timestamp: StrictTimestamp | None = None
    session_id: StrictId | None = None
    context: msgspec.Raw = ABSENT  # an object within bounds, or null (checked in _columns)
    recommendation_id: StrictId | None = None


class StrictBatch(msgspec.Struct, forbid_unknown_fields=True):
    """``{"events": [...]}`` and nothing else."""

    events: list[StrictEvent]


_DECODER = msgspec.json.Decoder(StrictBatch)


def _contexts(events: list[StrictEvent]) -> list[dict[str, Any] | None] | None:
    """Each event's context, or ``None`` if one is neither an object nor null, or
    breaks the bounds of :func:`streamrec.bounds.check_json`."""
    contexts: list[dict[str, Any] | None] = []
    for event in events:
        raw = event.context
        parsed = None if raw is ABSENT else orjson.loads(memoryview(raw))
        if parsed is not None:
            if not isinstance(parsed, dict):
                return None
            try:
                check_json(parsed)
            except ValueError:
                return None
        contexts.append(parsed)
    return contexts


def _holds_nul(batch: EventBatch) -> bool:
    """Whether an id of ``batch`` holds a NUL (:data:`~streamrec.events.ID_PATTERN`)."""
    ids = (batch.user_id, batch.item_id, batch.session_id, batch.recommendation_id)
    return any("\x00" in i for column in ids for i in column if i is not None)


def _columns(events: list[StrictEvent], stamp: int, window: TimeWindow | None) -> EventBatch | None:
    """The batch of strictly decoded events, or ``None`` if a column check fails."""
    contexts = _contexts(events)
    if contexts is None:
        return None
    n = len(events)
    batch = EventBatch(
        user_id=[e.user_id for e in events],
        item_id=[e.item_id for e in events],
        type=np.fromiter((TYPE_CODE[e.type] for e in events), dtype=np.int8, count=n),
        value=np.array([e.value for e in events], dtype=np.float64),  # None becomes NaN
        timestamp=np.fromiter(
            (stamp if e.timestamp is None else e.timestamp for e in events),
            dtype=np.int64,
            count=n,
        ),
        session_id=[e.session_id for e in events],
        context=contexts,
        recommendation_id=[e.recommendation_id for e in events],
        offset=np.full(n, -1, dtype=np.int64),
        partition=np.zeros(n, dtype=np.int32),
    )
    if _holds_nul(batch):
        return None
    if window is not None:
        given = np.fromiter((e.timestamp is not None for e in events), dtype=np.bool_, count=n)
        earliest, latest = window.bounds(now_ms())
        times = batch.timestamp[given]
        if ((times < earliest) | (times > latest)).any():
            return None
    return batch


def decode_batch(
    body: bytes,
    max_batch: int,
    window: TimeWindow | None = None,
    default_timestamp: int | None = None,
) -> EventBatch:
    """Decode one event or ``{"events": [...]}`` into a batch; all good or rejected whole.

    Parameters
    ----------
    body
        The JSON request body.
    max_batch
        The largest batch accepted.
    window
        The event times accepted, relative to now (any from 1970 to 9999 without).
    default_timestamp
        Epoch milliseconds for events without a timestamp (default: now).

    Raises
    ------
    InvalidInput
        Listing every problem of every bad event, exactly as
        :func:`streamrec.events.decode_events` does;
        :class:`~streamrec.errors.BatchTooLarge` for more than ``max_batch`` events.
    """
    stamp = now_ms() if default_timestamp is None else default_timestamp
    try:
        events = _DECODER.decode(body).events
        batch = _columns(events, stamp, window) if 0 < len(events) <= max_batch else None
    except (msgspec.DecodeError, orjson.JSONDecodeError):
        batch = None
    if batch is not None:
        return batch
    return EventBatch.from_events(decode_events(body, max_batch, window), default_timestamp=stamp)

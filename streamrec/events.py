"""Interaction events: the wire schema, validation, and the columnar batch.

Events enter at the edge (HTTP, files, Kafka) as JSON objects and are validated
here whole-batch: either every event is good, or the batch is rejected with every
problem listed. Inside the engine a batch travels as an :class:`EventBatch`, a
column-per-field structure whose numeric fields are NumPy arrays, so processing
works on arrays rather than per-event objects.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import numpy as np
import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from streamrec.bounds import MAX_TIMESTAMP_MS, TimeWindow, bounded_json
from streamrec.errors import BatchTooLarge, InvalidInput, Problem

MAX_ID_LENGTH = 256
#: Ids hold no NUL character (column stores and NumPy string arrays drop them).
ID_PATTERN = r"^[^\x00]*$"


class EventType(StrEnum):
    """The kinds of interaction streamrec understands (the order fixes their codes)."""

    VIEW = "view"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    REMOVE_FROM_CART = "remove_from_cart"
    WISHLIST = "wishlist"
    PURCHASE = "purchase"
    RATING = "rating"
    LIKE = "like"
    DISLIKE = "dislike"
    SKIP = "skip"
    IMPRESSION = "impression"


EVENT_TYPES: tuple[EventType, ...] = tuple(EventType)
TYPE_CODE: dict[str, int] = {t.value: code for code, t in enumerate(EVENT_TYPES)}
N_TYPES = len(EVENT_TYPES)
#: Type codes of erasure records (tombstones) in the log: never sent as events,
#: written by ``DELETE /v1/users/{id}`` and ``DELETE /v1/items/{id}`` (see
#: :mod:`streamrec.erasures`). An erasure of a user carries an empty item id, and
#: an erasure of an item an empty user id.
ERASE_USER = -1
ERASE_ITEM = -2


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def parse_timestamp(value: int | float | str) -> int:
    """Turn epoch milliseconds or an RFC 3339 string into epoch milliseconds.

    Raises
    ------
    ValueError
        If the value is neither a number nor an RFC 3339 date-time with a time zone,
        or lies before the epoch or after the year 9999.
    """
    if isinstance(value, bool):
        raise ValueError("timestamp must be epoch milliseconds or an RFC 3339 string")
    if isinstance(value, int | float):
        if not 0 <= value <= MAX_TIMESTAMP_MS:  # NaN compares false: rejected too
            raise ValueError(f"timestamp must be epoch milliseconds from 0 to {MAX_TIMESTAMP_MS}")
        return int(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        stamp = int(parsed.timestamp() * 1000) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"timestamp {value!r} is not RFC 3339") from exc
    if stamp is None:
        raise ValueError(f"timestamp {value!r} has no time zone")
    if not 0 <= stamp <= MAX_TIMESTAMP_MS:
        raise ValueError(f"timestamp {value!r} lies before 1970 or after 9999")
    return stamp


Identifier = Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN)
#: A free-form object within the bounds of :func:`streamrec.bounds.check_json`.
BoundedObject = Annotated[dict[str, Any], AfterValidator(bounded_json)]
#: The largest magnitude of an event's ``value``.
MAX_VALUE = 1e12
#: A time: epoch milliseconds (read as one) or an RFC 3339 date-time, as described.
Time = Annotated[
    int,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": MAX_TIMESTAMP_MS},
                {"type": "string", "format": "date-time"},
            ]
        }
    ),
]
#: Where :func:`validate_events` passes the accepted span of times to the validators.
TIME_BOUNDS = "time_bounds"


class Event(BaseModel):
    """One interaction, as sent by a client (DESIGN.md section 4)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Identifier
    item_id: str = Identifier
    type: EventType
    value: float | None = Field(default=None, ge=-MAX_VALUE, le=MAX_VALUE, allow_inf_nan=False)
    timestamp: Time | None = Field(
        default=None, description="Epoch milliseconds or RFC 3339; defaults to arrival time."
    )
    session_id: str | None = Field(
        default=None, min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN
    )
    context: BoundedObject | None = None
    recommendation_id: str | None = Field(
        default=None, min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN
    )

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("value must be a number, not true or false")
        return value

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp(cls, value: object, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        if not isinstance(value, int | float | str):
            raise ValueError("timestamp must be epoch milliseconds or an RFC 3339 string")
        stamp = parse_timestamp(value)
        bounds = (info.context or {}).get(TIME_BOUNDS)
        if bounds is not None and not bounds[0] <= stamp <= bounds[1]:
            raise ValueError(
                f"timestamp {stamp} lies outside the accepted window [{bounds[0]}, {bounds[1]}]"
            )
        return stamp


_EVENT_LIST = TypeAdapter(list[Event])


@dataclass(frozen=True, slots=True)
class EventBatch:
    """A batch of validated events, one column per field.

    ``type`` holds codes into :data:`EVENT_TYPES`, ``value`` is NaN where absent and
    ``timestamp`` is epoch milliseconds. ``offset`` is the log position of each event
    (``-1`` before the event was appended); ``partition`` is its log partition.
    """

    user_id: list[str]
    item_id: list[str]
    type: np.ndarray
    value: np.ndarray
    timestamp: np.ndarray
    session_id: list[str | None]
    context: list[dict[str, Any] | None]
    recommendation_id: list[str | None]
    offset: np.ndarray
    partition: np.ndarray

    def __len__(self) -> int:
        return len(self.user_id)

    @classmethod
    def from_events(
        cls, events: Sequence[Event], default_timestamp: int | None = None
    ) -> EventBatch:
        """Build a batch from validated events, stamping missing timestamps."""
        stamp = now_ms() if default_timestamp is None else default_timestamp
        n = len(events)
        return cls(
            user_id=[e.user_id for e in events],
            item_id=[e.item_id for e in events],
            type=np.fromiter((TYPE_CODE[e.type] for e in events), dtype=np.int8, count=n),
            value=np.fromiter(
                (np.nan if e.value is None else e.value for e in events), dtype=np.float64, count=n
            ),
            timestamp=np.fromiter(
                (stamp if e.timestamp is None else e.timestamp for e in events),
                dtype=np.int64,
                count=n,
            ),
            session_id=[e.session_id for e in events],
            context=[e.context for e in events],
            recommendation_id=[e.recommendation_id for e in events],
            offset=np.full(n, -1, dtype=np.int64),
            partition=np.zeros(n, dtype=np.int32),
        )

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> EventBatch:
        """Rebuild a batch from :meth:`to_columns` output (as stored in a log)."""
        n = len(columns["user_id"])
        values = np.asarray(columns["value"], dtype=np.float64) if n else np.empty(0)
        return cls(
            user_id=list(columns["user_id"]),
            item_id=list(columns["item_id"]),
            type=np.asarray(columns["type"], dtype=np.int8),
            value=values,
            timestamp=np.asarray(columns["timestamp"], dtype=np.int64),
            session_id=list(columns.get("session_id") or [None] * n),
            context=list(columns.get("context") or [None] * n),
            recommendation_id=list(columns.get("recommendation_id") or [None] * n),
            offset=np.asarray(columns.get("offset", [-1] * n), dtype=np.int64),
            partition=np.asarray(columns.get("partition", [0] * n), dtype=np.int32),
        )

    def to_columns(self) -> dict[str, Any]:
        """Columns as plain lists, ready for JSON (NaN values become ``None``)."""
        boxed = self.value.astype(object)
        boxed[np.isnan(self.value)] = None
        values = boxed.tolist()
        optional = {
            name: column
            for name, column in (
                ("session_id", self.session_id),
                ("context", self.context),
                ("recommendation_id", self.recommendation_id),
            )
            if any(x is not None for x in column)
        }
        return {
            "user_id": self.user_id,
            "item_id": self.item_id,
            "type": self.type.tolist(),
            "value": values,
            "timestamp": self.timestamp.tolist(),
            **optional,
        }

    def with_positions(self, offset: np.ndarray, partition: np.ndarray | None = None) -> EventBatch:
        """The same events, placed at the given log offsets (and partitions)."""
        n = len(self)
        return EventBatch(
            user_id=self.user_id,
            item_id=self.item_id,
            type=self.type,
            value=self.value,
            timestamp=self.timestamp,
            session_id=self.session_id,
            context=self.context,
            recommendation_id=self.recommendation_id,
            offset=np.asarray(offset, dtype=np.int64),
            partition=np.zeros(n, np.int32)
            if partition is None
            else np.asarray(partition, np.int32),
        )

    def take(self, index: np.ndarray | slice) -> EventBatch:
        """A sub-batch of the rows selected by ``index`` (a slice or integer array)."""
        positions = np.arange(len(self))[index]
        rows = positions.tolist()
        return EventBatch(
            user_id=[self.user_id[i] for i in rows],
            item_id=[self.item_id[i] for i in rows],
            type=self.type[positions],
            value=self.value[positions],
            timestamp=self.timestamp[positions],
            session_id=[self.session_id[i] for i in rows],
            context=[self.context[i] for i in rows],
            recommendation_id=[self.recommendation_id[i] for i in rows],
            offset=self.offset[positions],
            partition=self.partition[positions],
        )

    def records(self) -> Iterator[dict[str, Any]]:
        """Each event as a wire-format dict (type names, optional fields omitted);
        an erasure record is ``{"erase": "user"|"item", "user_id"|"item_id", "timestamp"}``."""
        for i in range(len(self)):
            code = int(self.type[i])
            if code < 0:
                kind, field = ("user", "user_id") if code == ERASE_USER else ("item", "item_id")
                yield {
                    "erase": kind,
                    field: getattr(self, field)[i],
                    "timestamp": int(self.timestamp[i]),
                }
                continue
            record: dict[str, Any] = {
                "user_id": self.user_id[i],
                "item_id": self.item_id[i],
                "type": EVENT_TYPES[int(self.type[i])].value,
                "timestamp": int(self.timestamp[i]),
            }
            if not np.isnan(self.value[i]):
                record["value"] = float(self.value[i])
            for name in ("session_id", "context", "recommendation_id"):
                field = getattr(self, name)[i]
                if field is not None:
                    record[name] = field
            yield record

    @staticmethod
    def concat(batches: Iterable[EventBatch]) -> EventBatch:
        """Join batches in order."""
        parts = list(batches)
        if not parts:
            return EMPTY_BATCH
        if len(parts) == 1:
            return parts[0]
        return EventBatch(
            user_id=[u for b in parts for u in b.user_id],
            item_id=[i for b in parts for i in b.item_id],
            type=np.concatenate([b.type for b in parts]),
            value=np.concatenate([b.value for b in parts]),
            timestamp=np.concatenate([b.timestamp for b in parts]),
            session_id=[s for b in parts for s in b.session_id],
            context=[c for b in parts for c in b.context],
            recommendation_id=[r for b in parts for r in b.recommendation_id],
            offset=np.concatenate([b.offset for b in parts]),
            partition=np.concatenate([b.partition for b in parts]),
        )


EMPTY_BATCH = EventBatch.from_events([])


def _problems(error: ValidationError, index_offset: int = 0) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        loc = list(item["loc"])
        index = int(loc.pop(0)) + index_offset if loc and isinstance(loc[0], int) else None
        problems.append(
            Problem(index=index, field=".".join(str(p) for p in loc) or None, message=item["msg"])
        )
    return problems


def validate_events(
    payload: object, max_batch: int, window: TimeWindow | None = None
) -> list[Event]:
    """Validate one event or ``{"events": [...]}``; all good or :class:`InvalidInput`.

    Parameters
    ----------
    payload
        The decoded JSON body.
    max_batch
        The largest batch accepted.
    window
        The event times accepted, relative to now (any from 1970 to 9999 without).

    Raises
    ------
    InvalidInput
        Listing every problem of every bad event (with its index in the batch);
        :class:`~streamrec.errors.BatchTooLarge` for more than ``max_batch`` events.
    """
    if isinstance(payload, dict) and "events" in payload:
        extra = sorted(set(payload) - {"events"})
        if extra:
            raise InvalidInput(
                "a batch body holds only 'events'",
                [Problem(None, name, "unexpected field") for name in extra],
            )
        raw = payload["events"]
        if not isinstance(raw, list):
            raise InvalidInput("'events' must be a list", [Problem(None, "events", "not a list")])
    elif isinstance(payload, dict):
        raw = [payload]
    else:
        raise InvalidInput(
            'body must be an event object or {"events": [...]}',
            [Problem(None, None, "not a JSON object")],
        )
    if not raw:
        raise InvalidInput("the batch is empty", [Problem(None, "events", "empty list")])
    if len(raw) > max_batch:
        raise BatchTooLarge(
            f"the batch holds {len(raw)} events; at most {max_batch} are accepted",
            [Problem(None, "events", f"more than {max_batch} events")],
        )
    context = {TIME_BOUNDS: window.bounds(now_ms())} if window is not None else None
    try:
        return _EVENT_LIST.validate_python(raw, context=context)
    except ValidationError as exc:
        raise InvalidInput(f"{exc.error_count()} problem(s) in the batch", _problems(exc)) from None


def decode_events(body: bytes, max_batch: int, window: TimeWindow | None = None) -> list[Event]:
    """Parse a JSON body and validate it as in :func:`validate_events`."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("body is not valid JSON", [Problem(None, None, str(exc))]) from None
    return validate_events(payload, max_batch, window)

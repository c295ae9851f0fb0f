"""Property tests of the parsers clients and files feed: event JSON (the body of
``POST /v1/events``) and CSV / JSON-lines files (``streamrec ingest``).

Random and malformed input either parses or raises :class:`InvalidInput` — never any
other exception — and valid input round-trips field for field.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamrec.bounds import MAX_TIMESTAMP_MS, TimeWindow
from streamrec.datasets import open_events
from streamrec.datasets.generic import CsvMapping
from streamrec.errors import InvalidInput
from streamrec.events import EVENT_TYPES, MAX_VALUE, EventBatch, decode_events, now_ms

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TYPES = [t.value for t in EVENT_TYPES]
WINDOW = TimeWindow(earliest_ms=0, max_skew_s=86_400)
#: The latest time a valid event has (fixed, so generation does not drift with the clock).
LATEST_MS = now_ms()

ids = st.text(
    st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), min_size=1, max_size=20
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)
#: Field values that are sometimes right and often wrong.
field_values = st.one_of(
    json_values,
    st.sampled_from([*TYPES, "", "VIEW", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00"]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(min_value=-1e300, max_value=1e300),
)
event_like = st.dictionaries(
    st.sampled_from(
        ["user_id", "item_id", "type", "value", "timestamp", "session_id", "context",
         "recommendation_id", "extra"]
    ),
    field_values,
)  # fmt: skip
context_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(-1e6, 1e6),
    st.text(max_size=20),
)
context_values = st.recursive(
    context_leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A wire event that every parser must accept."""
    event: dict[str, Any] = {
        "user_id": draw(ids),
        "item_id": draw(ids),
        "type": draw(st.sampled_from(TYPES)),
        "timestamp": draw(st.integers(min_value=0, max_value=LATEST_MS)),
    }
    if draw(st.booleans()):
        event["value"] = draw(st.floats(-MAX_VALUE, MAX_VALUE, allow_nan=False))
    if draw(st.booleans()):
        event["session_id"] = draw(ids)
    if draw(st.booleans()):
        event["recommendation_id"] = draw(ids)
    if draw(st.booleans()):
        event["context"] = draw(st.dictionaries(st.text(max_size=8), context_values, max_size=4))
    return event


def _decoded_or_invalid(body: bytes) -> None:
    try:
        events = decode_events(body, max_batch=50, window=WINDOW)
    except InvalidInput as exc:
        assert exc.message
        return
    assert 1 <= len(events) <= 50
    batch = EventBatch.from_events(events)
    assert all(0 <= t <= MAX_TIMESTAMP_MS for t in batch.timestamp.tolist())


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_are_invalid_input(body: bytes) -> None:
    _decoded_or_invalid(body)


@FUZZ
@given(json_values)
def test_any_json_value_decodes_or_is_invalid_input(payload: object) -> None:
    _decoded_or_invalid(_json(payload))


@FUZZ
@given(st.lists(event_like, min_size=1, max_size=8))
def test_malformed_batches_list_every_bad_event(events: list[dict[str, Any]]) -> None:
    body = _json({"events": events})
    try:
        decoded = decode_events(body, max_batch=50, window=WINDOW)
    except InvalidInput as exc:
        flagged = {p.index for p in exc.problems}
        assert flagged, exc.problems
        for index in flagged - {None}:  # each flagged event is bad on its own
            assert index is not None and not _valid_alone(events[index])
        return
    assert len(decoded) == len(events)


@FUZZ
@given(st.lists(valid_events(), min_size=1, max_size=10))
def test_valid_events_round_trip_through_the_wire_format(events: list[dict[str, Any]]) -> None:
    decoded = decode_events(orjson.dumps({"events": events}), max_batch=50, window=WINDOW)
    assert list(EventBatch.from_events(decoded).records()) == events


def _valid_alone(event: dict[str, Any]) -> bool:
    try:
        decode_events(_json(event), max_batch=1, window=WINDOW)
    except InvalidInput:
        return False
    return True


def _json(value: object) -> bytes:
    """JSON as any client may write it: big integers, NaN and Infinity included."""
    return json.dumps(value).encode()


def _read_all(
    path: Path, format: str, mapping: CsvMapping | None = None
) -> list[dict[str, Any]] | None:
    """The file's events as records, or None when it is invalid input."""
    try:
        stream = open_events(path, format, mapping=mapping, chunk_size=3)  # type: ignore[arg-type]
        return [record for batch in stream for record in batch.records()]
    except InvalidInput as exc:
        assert str(exc)
        return None


@FUZZ
@given(st.binary(max_size=400))
def test_any_jsonl_file_reads_or_is_invalid_input(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    _read_all(path, "jsonl")


@FUZZ
@given(st.binary(max_size=400))
def test_any_csv_file_reads_or_is_invalid_input(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(b"user_id,item_id,type,timestamp,value\n" + content)
    _read_all(path, "csv", CsvMapping(value="value"))


CSV_CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [*TYPES, "1e400", "-1", "nan", "inf", "1e300", "9" * 30, "2024-01-01T00:00:00Z"]
    ),
    st.integers(-(10**20), 10**20).map(str),
    st.floats().map(str),
)


@FUZZ
@given(
    st.lists(st.lists(CSV_CELL, min_size=0, max_size=6), min_size=1, max_size=8),
    st.sampled_from(["ms", "s", "rfc3339"]),
)
def test_malformed_csv_rows_are_invalid_input(
    tmp_path: Path, rows: list[list[str]], unit: str
) -> None:
    path = tmp_path / "rows.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["user_id", "item_id", "type", "timestamp", "value"])
        writer.writerows(rows)
    records = _read_all(path, "csv", CsvMapping(value="value", time_unit=unit))  # type: ignore[arg-type]
    for record in records or []:
        assert 0 <= record["timestamp"] <= MAX_TIMESTAMP_MS
        assert math.isfinite(record.get("value", 0.0))


@FUZZ
@given(st.lists(valid_events(), min_size=1, max_size=10))
def test_valid_jsonl_round_trips(tmp_path: Path, events: list[dict[str, Any]]) -> None:
    path = tmp_path / "valid.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    assert _read_all(path, "jsonl") == events


@FUZZ
@given(st.lists(valid_events(), min_size=1, max_size=10))
def test_valid_csv_round_trips(tmp_path: Path, events: list[dict[str, Any]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["user_id", "item_id", "type", "timestamp", "value"])
    clean = []
    for event in events:  # CSV carries ids, type, time and value
        value = event.get("value")
        writer.writerow(
            [
                event["user_id"],
                event["item_id"],
                event["type"],
                event["timestamp"],
                "" if value is None else repr(value),
            ]
        )
        kept = {k: event[k] for k in ("user_id", "item_id", "type", "timestamp")}
        if value is not None:
            kept["value"] = value
        clean.append(kept)
    path = tmp_path / "valid.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    assert _read_all(path, "csv", CsvMapping(value="value")) == clean

"""Generic event files: CSV with a column mapping, JSON lines of wire events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from streamrec.datasets import (
    CsvMapping,
    detect_format,
    load_dataset,
    open_events,
    read_csv,
    read_jsonl,
)
from streamrec.errors import InvalidInput
from streamrec.events import TYPE_CODE, EventBatch, EventType

SECONDS_CSV = """\
who,what,kind,amount,when
u2,i1,purchase,2,1700000001.5
u1,i1,view,,1700000000
u1,i2,add_to_cart,1,1700000002
u3,i3,rating,4.5,1700000000
u1,i2,purchase,1,1700000003
"""
SECONDS = CsvMapping(
    user="who", item="what", type="kind", value="amount", timestamp="when", time_unit="s"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_mapping_reads_in_file_order_and_chunks(tmp_path: Path) -> None:
    path = write(tmp_path, "events.csv", SECONDS_CSV)
    chunks = list(read_csv(path, SECONDS, chunk_size=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    events = EventBatch.concat(chunks)
    assert events.user_id == ["u2", "u1", "u1", "u3", "u1"]
    assert events.item_id == ["i1", "i1", "i2", "i3", "i2"]
    names = ["purchase", "view", "add_to_cart", "rating", "purchase"]
    assert events.type.tolist() == [TYPE_CODE[n] for n in names]
    assert np.isnan(events.value[1])
    assert events.value[[0, 2, 3]].tolist() == [2.0, 1.0, 4.5]
    assert events.timestamp.tolist() == [
        1_700_000_001_500,
        1_700_000_000_000,
        1_700_000_002_000,
        1_700_000_000_000,
        1_700_000_003_000,
    ]


def test_csv_dataset_is_sorted_and_stream_knows_its_total(tmp_path: Path) -> None:
    path = write(tmp_path, "events.csv", SECONDS_CSV)
    dataset = load_dataset(path, mapping=SECONDS)
    assert dataset.name == "events"
    assert dataset.events.user_id == ["u1", "u3", "u2", "u1", "u1"]
    assert dataset.events.item_id == ["i1", "i3", "i1", "i2", "i2"]
    stream = open_events(path, "csv", mapping=SECONDS, chunk_size=3)
    assert stream.total == 5
    assert [len(batch) for batch in stream] == [3, 2]


def test_csv_fixed_type_headerless_tab_separated_ms(tmp_path: Path) -> None:
    path = write(tmp_path, "ratings.tsv", "7\t70\t3\t1000\n8\t80\t5\t2000\n")
    mapping = CsvMapping(
        user=0,
        item=1,
        value=2,
        timestamp=3,
        event_type=EventType.RATING,
        delimiter="\t",
        header=False,
    )
    (events,) = read_csv(path, mapping)
    assert events.type.tolist() == [TYPE_CODE["rating"]] * 2
    assert (events.user_id, events.value.tolist()) == (["7", "8"], [3.0, 5.0])
    assert events.timestamp.tolist() == [1000, 2000]


def test_csv_rfc3339_timestamps(tmp_path: Path) -> None:
    text = (
        "user_id,item_id,type,timestamp\n"
        "a,b,view,2024-01-01T00:00:01.250Z\n"
        "a,c,click,2024-01-01T01:00:00+01:00\n"
    )
    (events,) = read_csv(write(tmp_path, "e.csv", text), CsvMapping(time_unit="rfc3339"))
    assert events.timestamp.tolist() == [1_704_067_201_250, 1_704_067_200_000]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("u,i,buy,1", "type", "type must be one of"),
        ("u,i,view,soon", "timestamp", "not a number"),
        ("u,i,view,", "timestamp", "missing value"),
        ("u,i,view,-5", "timestamp", "must not be negative"),
        (",i,view,5", "user_id", "id must be"),
        ("u," + "x" * 257 + ",view,5", "item_id", "id must be"),
        ("u,i,view", None, "expected at least 4 fields"),
    ],
)
def test_csv_bad_row_names_its_line(
    tmp_path: Path, row: str, column: str | None, message: str
) -> None:
    # The quoted cell spans two lines, so the bad row is on physical line 5.
    text = f'user_id,item_id,type,timestamp\nu,i,view,1\nu,"i\n2",view,2\n{row}\nu,i,view,3\n'
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(InvalidInput, match=f"line 5.*{message}") as caught:
        list(read_csv(path, CsvMapping(), chunk_size=2))
    problem = caught.value.problems[0]
    assert (problem.index, problem.field) == (5, column)


@pytest.mark.parametrize(("cell", "message"), [("nan", "not a finite"), ("x", "not a number")])
def test_csv_bad_value(tmp_path: Path, cell: str, message: str) -> None:
    path = write(
        tmp_path, "v.csv", f"user_id,item_id,type,timestamp,v\nu,i,view,1,\nu,i,view,2,{cell}\n"
    )
    with pytest.raises(InvalidInput, match=f"line 3, column 'v': {message}"):
        list(read_csv(path, CsvMapping(value="v")))


def test_csv_date_without_time_zone(tmp_path: Path) -> None:
    dates = write(
        tmp_path, "d.csv", "user_id,item_id,type,timestamp\nu,i,view,2024-01-01T00:00:00\n"
    )
    with pytest.raises(InvalidInput, match="line 2.*no time zone"):
        list(read_csv(dates, CsvMapping(time_unit="rfc3339")))


def test_csv_unknown_column(tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", "user,item_id,type,timestamp\n")
    with pytest.raises(InvalidInput, match="no column 'user_id'"):
        list(read_csv(path, CsvMapping()))


def jsonl(tmp_path: Path, records: list[object | str]) -> Path:
    lines = [r if isinstance(r, str) else orjson.dumps(r).decode() for r in records]
    return write(tmp_path, "events.jsonl", "\n".join(lines) + "\n")


def test_jsonl_keeps_every_wire_field(tmp_path: Path) -> None:
    records: list[object | str] = [
        {"user_id": "u1", "item_id": "i1", "type": "view", "timestamp": 5, "session_id": "s1"},
        "",
        {
            "user_id": "u1",
            "item_id": "i1",
            "type": "purchase",
            "value": 2,
            "context": {"page": "x"},
        },
        {"user_id": "u2", "item_id": "i9", "type": "like", "timestamp": "1970-01-01T00:00:01Z"},
    ]
    path = jsonl(tmp_path, records)
    chunks = list(read_jsonl(path, chunk_size=2, default_timestamp=99))
    assert [len(c) for c in chunks] == [2, 1]
    events = EventBatch.concat(chunks)
    assert list(events.records()) == [
        {"user_id": "u1", "item_id": "i1", "type": "view", "timestamp": 5, "session_id": "s1"},
        {
            "user_id": "u1",
            "item_id": "i1",
            "type": "purchase",
            "timestamp": 99,
            "value": 2.0,
            "context": {"page": "x"},
        },
        {"user_id": "u2", "item_id": "i9", "type": "like", "timestamp": 1000},
    ]
    stream = open_events(path)
    assert stream.total == 3


def test_jsonl_invalid_event_reports_its_line(tmp_path: Path) -> None:
    good = {"user_id": "u", "item_id": "i", "type": "view", "timestamp": 1}
    path = jsonl(tmp_path, [good, good, good, {**good, "type": "teleport"}, good])
    with pytest.raises(InvalidInput, match="line 4, column 'type'") as caught:
        list(read_jsonl(path, chunk_size=2))
    assert [(p.index, p.field) for p in caught.value.problems] == [(4, "type")]


def test_jsonl_broken_json_reports_its_line(tmp_path: Path) -> None:
    good = {"user_id": "u", "item_id": "i", "type": "view"}
    path = jsonl(tmp_path, [good, "", '{"user_id": "u",'])
    with pytest.raises(InvalidInput, match="line 3: not JSON"):
        list(read_jsonl(path))


def test_jsonl_is_a_stream_not_a_dataset(tmp_path: Path) -> None:
    path = jsonl(tmp_path, [{"user_id": "u", "item_id": "i", "type": "view"}])
    with pytest.raises(InvalidInput, match="open_events"):
        load_dataset(path)


def test_detect_format(tmp_path: Path) -> None:
    assert detect_format(write(tmp_path, "a.csv", "x\n")) == "csv"
    assert detect_format(jsonl(tmp_path, [{"user_id": "u"}])) == "jsonl"
    review = '{"reviewerID": "A", "asin": "B", "overall": 5.0, "unixReviewTime": 1}\n'
    assert detect_format(write(tmp_path, "reviews.json", review)) == "amazon"
    with pytest.raises(InvalidInput, match="cannot tell the format"):
        detect_format(write(tmp_path, "notes.txt", "hello\n"))
    with pytest.raises(InvalidInput, match="no file or folder"):
        load_dataset(tmp_path / "missing.csv")

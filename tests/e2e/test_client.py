"""The Python client against a real ``streamrec serve``: every route, sync and async,
errors with every problem, and the event batchers (by size, by time, drained on close)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest

from streamrec.client import (
    AsyncStreamrecClient,
    BatchError,
    BatchOptions,
    Event,
    EventType,
    FailedBatch,
    InvalidInputError,
    ItemIn,
    NotFoundError,
    QueueFullError,
    StreamrecClient,
)

pytestmark = pytest.mark.slow


@pytest.fixture()
def client(streamrec_url: str) -> Iterator[StreamrecClient]:
    with StreamrecClient(streamrec_url) as opened:
        yield opened


def _views(user: str, items: list[str], start: int = 1_000) -> list[Event]:
    return [
        Event(user_id=user, item_id=item, type=EventType.VIEW, timestamp=start + n)
        for n, item in enumerate(items)
    ]


def _eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> float:
    """Seconds until ``check()`` held (fails after ``timeout_s``)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout_s, "the condition never held"
        time.sleep(0.02)
    return time.monotonic() - started


def _events_of(client: StreamrecClient, user: str) -> int:
    try:
        return client.profile(user).events
    except NotFoundError:
        return 0


def test_catalog_events_and_every_list(client: StreamrecClient) -> None:
    tent, stove, lamp = "s-tent #1?", "s-stove", "s-lamp"  # ids with reserved characters
    stored = client.put_item(ItemIn(item_id=tent, title="Trail Tent", categories=["s-camping"]))
    assert stored.item_id == tent and stored.stored
    more: list[ItemIn | dict[str, object]] = [
        {"item_id": stove, "title": "Camp Stove", "categories": ["s-camping"]},
        ItemIn(item_id=lamp, title="Camp Lamp", categories=["s-camping"], price=12.5),
    ]
    assert client.post_items(more).stored == 2

    history = [e for n in range(4) for e in _views(f"s-shopper-{n}", [tent, stove, lamp])]
    accepted = client.send_events(history, wait=True)
    assert (accepted.accepted, accepted.applied) == (12, True)
    one = {"user_id": "s-newbie", "item_id": tent, "type": "view", "timestamp": 9_000}
    assert client.send_event(one, wait=True).accepted == 1

    recs = client.recommendations("s-newbie", k=3)
    assert recs.user_id == "s-newbie" and not recs.fallback
    assert tent not in recs.item_ids and set(recs.item_ids) >= {stove, lamp}
    assert all(any("Trail Tent" in r for r in item.reasons) for item in recs.items)
    assert all(item.sources and item.score > 0 for item in recs.items)
    assert recs.variant == "default" and recs.recommendation_id

    with_seen = client.recommendations("s-newbie", k=3, exclude_seen=False, category="s-camping")
    assert tent in with_seen.item_ids

    similar = client.similar(tent, k=5)
    assert set(similar.item_ids) == {stove, lamp}
    assert all(item.reasons for item in similar.items)
    popular = client.popular(k=3, category="s-camping")
    assert popular.item_ids[0] == tent  # viewed 5 times, the others 4
    assert set(client.trending(k=3, category="s-camping").item_ids) == {tent, stove, lamp}

    detail = client.get_item(lamp)
    assert detail.metadata is not None and detail.metadata.price == 12.5
    assert detail.stats is not None and detail.stats.counts == {"view": 4}
    profile = client.profile("s-newbie")
    assert [i.item_id for i in profile.recent] == [tent] and profile.seen == [tent]
    assert profile.affinities == {"s-camping": pytest.approx(1.0)}


def test_health_and_readiness(client: StreamrecClient) -> None:
    assert client.health().status == "ok"
    ready = client.ready()
    assert ready.ready and ready.lag >= 0 and ready.processor_error is None


def test_a_bad_batch_raises_every_problem_and_stores_nothing(client: StreamrecClient) -> None:
    batch: list[Event | dict[str, object]] = [
        Event(user_id="r-ok", item_id="r-1", type=EventType.VIEW),
        {"user_id": "r-ok", "item_id": "r-2", "type": "teleport"},
        Event(user_id="r-ok", item_id="r-3", type=EventType.CLICK),
        {"user_id": "r-ok", "type": "view"},
        {"user_id": "r-ok", "item_id": "", "type": "view", "colour": "red"},
    ]
    with pytest.raises(InvalidInputError) as raised:
        client.send_events(batch, wait=True)
    error = raised.value
    assert (error.status, error.code) == (422, "invalid_input")
    assert {(p.index, p.field) for p in error.problems} == {
        (1, "type"),
        (3, "item_id"),
        (4, "item_id"),
        (4, "colour"),
    }
    with pytest.raises(NotFoundError) as missing:
        client.profile("r-ok")
    assert missing.value.code == "not_found"


def test_a_bad_query_is_a_422_naming_the_parameter(client: StreamrecClient) -> None:
    with pytest.raises(InvalidInputError) as raised:
        client.recommendations("q-user", k=0)
    assert [p.field for p in raised.value.problems] == ["query.k"]


def test_batcher_sends_a_full_batch_at_once_and_the_rest_on_close(
    client: StreamrecClient,
) -> None:
    options = BatchOptions(max_batch=5, max_delay_s=60, wait=True)
    batcher = client.batcher(options)
    for event in _views("b-size", [f"b-size-{n}" for n in range(7)]):
        batcher.add(event)
    _eventually(lambda: _events_of(client, "b-size") == 5)
    time.sleep(0.5)
    assert _events_of(client, "b-size") == 5  # the last 2 wait for a full batch or 60 s
    batcher.close()
    assert _events_of(client, "b-size") == 7


def test_batcher_sends_a_partial_batch_after_its_delay(client: StreamrecClient) -> None:
    with client.batcher(BatchOptions(max_batch=1_000, max_delay_s=0.3, wait=True)) as batcher:
        started = time.monotonic()
        for event in _views("b-time", ["b-time-1", "b-time-2", "b-time-3"]):
            batcher.add(event)
        _eventually(lambda: _events_of(client, "b-time") == 3)
        assert time.monotonic() - started >= 0.3


def test_batcher_flush_raises_a_rejected_batch_with_its_events(client: StreamrecClient) -> None:
    good = _views("b-bad", ["b-bad-1"])[0]
    bad = {"user_id": "b-bad", "item_id": "b-bad-2", "type": "nope"}
    with client.batcher(BatchOptions(max_delay_s=60, wait=True)) as batcher:
        batcher.add(good)
        batcher.add(bad)
        with pytest.raises(BatchError) as raised:
            batcher.flush()
        (failure,) = raised.value.failures
        assert failure.events == [good, bad]
        assert isinstance(failure.error, InvalidInputError)
        assert [(p.index, p.field) for p in failure.error.problems] == [(1, "type")]
        assert "#1 type" in str(raised.value)
        assert failure.events_without_problems() == [good]
        for event in failure.events_without_problems():
            batcher.add(event)  # reported once: the batcher goes on
        batcher.flush()
    assert _events_of(client, "b-bad") == 1


def test_batcher_hands_failures_to_on_error_instead(client: StreamrecClient) -> None:
    seen: list[FailedBatch] = []
    with client.batcher(BatchOptions(max_delay_s=60), on_error=seen.append) as batcher:
        batcher.add({"user_id": "b-cb", "item_id": "", "type": "view"})
        batcher.flush()
    assert [f.error.status for f in seen if isinstance(f.error, InvalidInputError)] == [422]


def test_batcher_queue_bound_raises_or_blocks(client: StreamrecClient) -> None:
    raising = BatchOptions(max_batch=100, max_delay_s=60, max_queue=2, when_full="raise")
    with client.batcher(raising) as batcher:
        batcher.add(_views("b-full", ["b-full-1"])[0])
        batcher.add(_views("b-full", ["b-full-2"])[0])
        with pytest.raises(QueueFullError):
            batcher.add(_views("b-full", ["b-full-3"])[0])
    blocking = BatchOptions(max_batch=100, max_delay_s=60, max_queue=1, wait=True)
    with client.batcher(blocking) as batcher:
        batcher.add(_views("b-block", ["b-block-1"])[0])
        started = time.monotonic()
        with pytest.raises(QueueFullError):
            batcher.add(_views("b-block", ["b-block-2"])[0], timeout=0.2)
        assert time.monotonic() - started >= 0.2
    assert _events_of(client, "b-full") == 2 and _events_of(client, "b-block") == 1


def test_the_clients_own_batcher_is_drained_by_close(streamrec_url: str) -> None:
    with StreamrecClient(streamrec_url) as client:
        for event in _views("b-own", ["b-own-1", "b-own-2"]):
            client.events.add(event)
    with StreamrecClient(streamrec_url) as reader:
        _eventually(lambda: _events_of(reader, "b-own") == 2)


def test_async_client_speaks_every_route(streamrec_url: str) -> None:
    async def scenario() -> None:
        async with AsyncStreamrecClient(streamrec_url) as client:
            assert (await client.health()).status == "ok"
            assert (await client.ready()).ready
            await client.put_item({"item_id": "a-tent", "title": "Tent", "categories": ["a-c"]})
            stove = ItemIn(item_id="a-stove", categories=["a-c"])
            assert (await client.post_items([stove])).stored == 1
            history = _views("a-1", ["a-tent", "a-stove"]) + _views("a-2", ["a-tent"])
            assert (await client.send_events(history, wait=True)).accepted == 3
            recs = await client.recommendations("a-2", k=2, category="a-c")
            assert recs.item_ids == ["a-stove"] and recs.items[0].reasons
            assert (await client.similar("a-tent")).item_ids == ["a-stove"]
            assert (await client.popular(category="a-c")).item_ids == ["a-tent", "a-stove"]
            assert (await client.trending(category="a-c")).item_ids[0] == "a-tent"
            assert (await client.get_item("a-stove")).stats is not None
            assert (await client.profile("a-1")).seen == ["a-stove", "a-tent"]
            with pytest.raises(InvalidInputError) as raised:
                await client.send_event({"user_id": "a-3", "type": "view"})
            assert [p.field for p in raised.value.problems] == ["item_id"]

    asyncio.run(scenario())


def test_async_batcher_by_size_by_time_and_on_close(streamrec_url: str) -> None:
    async def scenario(reader: StreamrecClient) -> None:
        async with AsyncStreamrecClient(streamrec_url) as client:
            by_size = client.batcher(BatchOptions(max_batch=3, max_delay_s=60, wait=True))
            for event in _views("ab-size", [f"ab-size-{n}" for n in range(4)]):
                await by_size.add(event)
            while _events_of(reader, "ab-size") < 3:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            assert _events_of(reader, "ab-size") == 3
            await by_size.close()
            assert _events_of(reader, "ab-size") == 4

            started = time.monotonic()
            async with client.batcher(BatchOptions(max_delay_s=0.3, wait=True)) as by_time:
                await by_time.add(_views("ab-time", ["ab-time-1"])[0])
                while _events_of(reader, "ab-time") < 1:
                    await asyncio.sleep(0.02)
                assert time.monotonic() - started >= 0.3

            await client.events.add({"user_id": "ab-own", "item_id": "ab-own-1", "type": "x"})
            with pytest.raises(BatchError) as raised:
                await client.events.flush()
            assert isinstance(raised.value.failures[0].error, InvalidInputError)

    with StreamrecClient(streamrec_url) as reader:
        asyncio.run(scenario(reader))

"""Bounded influence: one user cannot take over what everyone is served."""

from __future__ import annotations

from streamrec.config import Settings
from streamrec.events import Event, EventBatch
from streamrec.state.base import Ranking
from streamrec.state.memory import MemoryState

START = 1_700_000_000_000


def views(user: str, item: str, n: int, start_ms: int, step_ms: int) -> list[Event]:
    return [
        Event(user_id=user, item_id=item, type="view", timestamp=start_ms + k * step_ms)
        for k in range(n)
    ]


def crowd() -> list[Event]:
    """Forty shoppers view "tent" and "stove" once each, spread over an hour."""
    return [
        e
        for n in range(40)
        for e in (
            *views(f"shopper{n}", "tent", 1, START + n * 90_000, 1),
            *views(f"shopper{n}", "stove", 1, START + n * 90_000 + 1_000, 1),
        )
    ]


def test_one_users_thousands_of_views_do_not_make_an_item_the_most_popular() -> None:
    state = MemoryState(Settings())
    spam = views("spammer", "gadget", 5_000, START, 700)  # ~one hour of views
    state.apply(EventBatch.from_events(sorted([*crowd(), *spam], key=lambda e: e.timestamp)))
    top = state.top_items(Ranking.POPULAR, 3).item_ids
    assert top[:2] == ["stove", "tent"] or top[:2] == ["tent", "stove"]
    stats = state.item_stats(["gadget", "tent"])
    assert stats[0] is not None and stats[1] is not None
    assert stats[0].counts == {"view": 5_000}  # every event is counted as what happened
    assert stats[0].popularity < stats[1].popularity / 5
    profile = state.profile("spammer")
    assert profile is not None and profile.events == 5_000  # the profile is not limited
    # the spammer's repeated views do not multiply the pair either
    shopper_then_spam = [
        *views("fan", "tent", 1, START, 1),
        *views("fan", "gadget", 3_000, START + 1_000, 1_000),
        *views("fan", "tent", 1, START + 4_000_000, 1),
    ]
    pairs = MemoryState(Settings())
    pairs.apply(EventBatch.from_events(shopper_then_spam))
    honest = MemoryState(Settings())
    honest.apply(
        EventBatch.from_events(
            [*views("fan", "tent", 1, START, 1), *views("fan", "gadget", 1, START + 1_000, 1)]
        )
    )
    row = pairs.cooccurrence.row(pairs.items.get("gadget"))[1]
    single = honest.cooccurrence.row(honest.items.get("gadget"))[1]
    assert len(row) == len(single) == 1
    # capped: the first pair_cap views pair, then the second tent view once
    assert row[0] <= (Settings().influence.pair_cap + 1) * single[0]


def test_bots_stay_out_of_shared_aggregates_but_keep_their_profile() -> None:
    settings = Settings(influence={"bot_events": 20, "bot_window_s": 60})
    state = MemoryState(settings)
    bot = [
        Event(user_id="bot", item_id=f"promo{k % 100}", type="purchase", timestamp=START + k * 100)
        for k in range(2_000)
    ]  # twenty purchases of each of a hundred items, too far apart for the pair cap
    state.apply(EventBatch.from_events(sorted([*crowd(), *bot], key=lambda e: e.timestamp)))
    popular = state.top_items(Ranking.POPULAR, 5).item_ids
    assert popular[:2] in (["stove", "tent"], ["tent", "stove"])
    stats = state.item_stats(["promo0"])[0]
    assert stats is not None
    # the first twenty purchases, one per item, came before the bot was recognized
    assert stats.popularity == settings.weights.purchase
    profile = state.profile("bot")
    assert profile is not None and profile.events == 2_000
    # only the bot's own first purchases ever paired its items
    assert all(n.startswith("promo") for n in state.neighbors(["promo0"], 5)[0].item_ids)

"""A seedable synthetic shop: a skewed catalog and a stream of shopping sessions.

The catalog has items in categories of skewed sizes; item popularity follows a Zipf
law (a random global rank per item), so each category is Zipf-like inside as well.
Users have lognormal activity (a few users start most sessions) and favourite
categories. Sessions arrive as a Poisson process; each browses a geometric number of
items, mostly inside one category, and some views lead on to clicks, carts,
wishlists, likes or dislikes; carts end in a purchase at checkout (the end of the
session) or are sometimes removed.

Everything is vectorized over blocks of sessions whose layout does not depend on
the requested chunk size, so a stream read in any chunk size is the same stream, and
the same seed always gives the same shop and the same events.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from streamrec.datasets.base import Dataset, EventColumns, make_batch
from streamrec.datasets.sessions import (
    SessionBlock,
    ShopBehaviour,
    ShopModel,
    pick,
    simulate_sessions,
)
from streamrec.events import EventBatch
from streamrec.state.base import CatalogItem

#: 2024-01-01T00:00:00Z, where the default stream starts.
DEFAULT_START_MS = 1_704_067_200_000

_DEPARTMENTS = (
    "electronics", "books", "home", "fashion", "beauty", "sports", "toys", "grocery",
    "garden", "automotive", "music", "pets", "health", "office", "jewelry", "baby",
    "tools", "games", "shoes", "outdoors",
)  # fmt: skip
_TAG_WORDS = (
    "classic", "premium", "budget", "eco", "compact", "pro", "kids", "vintage",
    "smart", "outdoor", "wireless", "handmade", "gift", "bestseller", "travel", "bundle",
)  # fmt: skip
_TAGS_PER_CATEGORY = 4
_SESSIONS_PER_BLOCK = 16_384
_DAY_MS = 86_400_000


def category_names(n_categories: int) -> list[str]:
    """Readable, distinct category names (department names, numbered when reused)."""
    names = []
    for index in range(n_categories):
        round_, slot = divmod(index, len(_DEPARTMENTS))
        names.append(_DEPARTMENTS[slot] if round_ == 0 else f"{_DEPARTMENTS[slot]}-{round_ + 1}")
    return names


class SyntheticShop:
    """A reproducible shop with skewed popularity and funnel-shaped sessions.

    Parameters
    ----------
    n_users, n_items, n_categories
        Sizes; every category has at least one item (``n_items >= n_categories``).
    seed
        The same seed gives the same catalog and the same event stream.
    zipf
        Exponent of item popularity by rank (about 1.1 in real shops).
    category_skew
        Exponent of category sizes by rank (0 gives equal sizes).
    activity_sigma
        Spread of the lognormal per-user activity (larger: heavier tail).
    behaviour
        Session shape and funnel rates.
    start_ms
        Epoch milliseconds at which the stream starts.

    Examples
    --------
    >>> shop = SyntheticShop(n_users=1_000, n_items=500, n_categories=10, seed=7)
    >>> catalog = shop.catalog()
    >>> for batch in shop.events(100_000, chunk_size=10_000):
    ...     pass
    """

    def __init__(
        self,
        n_users: int = 10_000,
        n_items: int = 5_000,
        n_categories: int = 20,
        seed: int = 0,
        *,
        zipf: float = 1.1,
        category_skew: float = 1.0,
        activity_sigma: float = 1.5,
        behaviour: ShopBehaviour | None = None,
        start_ms: int = DEFAULT_START_MS,
    ) -> None:
        if n_users < 1 or n_categories < 1 or n_items < n_categories:
            raise ValueError("need n_users >= 1 and n_items >= n_categories >= 1")
        if zipf <= 0 or category_skew < 0 or activity_sigma < 0:
            raise ValueError("zipf must be positive; category_skew and activity_sigma >= 0")
        self.n_users, self.n_items, self.n_categories = n_users, n_items, n_categories
        self.behaviour = behaviour or ShopBehaviour()
        self.start_ms = start_ms
        catalog_seed, user_seed, self._event_seed = np.random.SeedSequence(seed).spawn(3)
        self._metadata_seed = catalog_seed.spawn(1)[0]
        rng = np.random.default_rng(catalog_seed)
        share = 1.0 / np.arange(1, n_categories + 1) ** category_skew
        sizes = 1 + rng.multinomial(n_items - n_categories, share / share.sum())
        self._category = np.repeat(np.arange(n_categories), sizes)
        popularity = 1.0 / (rng.permutation(n_items) + 1.0) ** zipf
        category_first = np.concatenate(([0], np.cumsum(sizes)))
        category_cumulative = np.cumsum(np.add.reduceat(popularity, category_first[:-1]))
        rng = np.random.default_rng(user_seed)
        activity = rng.lognormal(0.0, activity_sigma, n_users)
        favourites = pick(category_cumulative, rng.random((n_users, 2)))
        self._shop = ShopModel(
            user_cumulative=np.cumsum(activity),
            favourites=favourites,
            item_cumulative=np.cumsum(popularity),
            category_first=category_first,
            category_cumulative=category_cumulative,
        )
        self._user_ids = [f"u{i}" for i in range(n_users)]
        self._item_ids = [f"i{i}" for i in range(n_items)]

    def catalog(self) -> list[CatalogItem]:
        """Every item: id, title, one category, tags, price and creation time.

        Items of a category share a small pool of tags and a price level, so content
        similarity has something to find. Every item exists before the stream starts.
        """
        rng = np.random.default_rng(self._metadata_seed)
        names = category_names(self.n_categories)
        pools = [rng.choice(len(_TAG_WORDS), _TAGS_PER_CATEGORY, replace=False) for _ in names]
        level = np.exp(rng.uniform(1.5, 5.5, self.n_categories))
        price = np.round(level[self._category] * rng.lognormal(0.0, 0.4, self.n_items), 2)
        age_ms = rng.integers(_DAY_MS, 365 * _DAY_MS, self.n_items)
        tag_picks = rng.random((self.n_items, _TAGS_PER_CATEGORY)).argsort(axis=1)[:, :2]
        items = []
        for i, (category, picks) in enumerate(zip(self._category.tolist(), tag_picks, strict=True)):
            pool = pools[category]
            items.append(
                CatalogItem(
                    item_id=self._item_ids[i],
                    title=f"{names[category].capitalize()} item {i}",
                    categories=[names[category]],
                    tags=sorted(_TAG_WORDS[pool[p]] for p in picks),
                    price=float(price[i]),
                    created_at=self.start_ms - int(age_ms[i]),
                )
            )
        return items

    def _blocks(self) -> Iterator[SessionBlock]:
        """Events that can no longer be preceded by later ones, block after block."""
        rng = np.random.default_rng(self._event_seed)
        clock = float(self.start_ms)
        first_session = 0
        pending = SessionBlock.empty()
        while True:
            block, clock = simulate_sessions(
                rng, self._shop, self.behaviour, clock, first_session, _SESSIONS_PER_BLOCK
            )
            first_session += _SESSIONS_PER_BLOCK
            merged = SessionBlock.concat([pending, block]).sorted()
            # Later sessions start at or after ``clock``, so earlier events are final.
            cut = int(np.searchsorted(merged.timestamp, int(clock), side="left"))
            yield merged.take(slice(0, cut))
            pending = merged.take(slice(cut, None))

    def event_columns(self, n_events: int, chunk_size: int) -> Iterator[SessionBlock]:
        """The first ``n_events`` events in time order, as column chunks.

        Users, items and sessions are dense numbers here: user ``k`` is ``"u{k}"``,
        item ``k`` is ``"i{k}"`` and session ``k`` is ``"s{k}"`` in :meth:`events`.
        """
        if n_events < 0 or chunk_size < 1:
            raise ValueError("need n_events >= 0 and chunk_size >= 1")
        left = n_events
        buffer = SessionBlock.empty()
        blocks = self._blocks()
        while left > 0:
            size = min(chunk_size, left)
            if len(buffer) < size:
                parts, have = [buffer], len(buffer)
                while have < size:
                    parts.append(next(blocks))
                    have += len(parts[-1])
                buffer = SessionBlock.concat(parts)
            yield buffer.take(slice(0, size))
            buffer = buffer.take(slice(size, None))
            left -= size

    def events(self, n_events: int, chunk_size: int = 100_000) -> Iterator[EventBatch]:
        """The first ``n_events`` events in global time order, in chunks.

        Only the current block of sessions is held in memory, so any number of
        events can be streamed. The stream does not depend on ``chunk_size``.
        """
        for part in self.event_columns(n_events, chunk_size):
            users, items = self._user_ids, self._item_ids
            sessions, codes = np.unique(part.session, return_inverse=True)
            names = [f"s{s}" for s in sessions.tolist()]
            yield make_batch(
                user_id=[users[u] for u in part.user.tolist()],
                item_id=[items[i] for i in part.item.tolist()],
                type=part.type,
                value=part.value,
                timestamp=part.timestamp,
                session_id=[names[c] for c in codes.tolist()],
            )

    def dataset(self, n_events: int) -> Dataset:
        """The first ``n_events`` events (without session ids) and the catalog.

        The order is the stream's: by timestamp, then user and item number.
        """
        chunks = self.event_columns(n_events, max(n_events, 1))
        part = SessionBlock.concat([SessionBlock.empty(), *chunks])
        columns = EventColumns(
            users=self._user_ids,
            items=self._item_ids,
            user=part.user,
            item=part.item,
            type=part.type,
            value=part.value,
            timestamp=part.timestamp,
        )
        return Dataset(name="synthetic", columns=columns, catalog=self.catalog())

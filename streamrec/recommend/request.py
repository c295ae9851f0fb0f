"""The options of one recommendation request, carried through every stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Request:
    """What a caller asked for; stages read their options from here.

    A new option (a page token, rules, a latency budget, …) is one more field with a
    default, read by the stage that needs it.

    Attributes
    ----------
    user_id
        Whose list it is (``None`` for lists that belong to no user: similar items).
    k
        How many items to return.
    exclude
        Items never to return.
    exclude_seen
        Drop items the user already interacted with.
    category
        Only items whose catalog entry lists this category.
    context_item
        An item the user is looking at now; it seeds neighbours first.
    rules
        Business rules of this request (texts of
        :mod:`streamrec.recommend.rules_lang`), applied after those of the settings.
    shaping
        An overlay of the recommender's ``shaping`` settings for this request (the
        same keys, deep-merged over them: ``{"diversity": {"category_cap": 2}}``).
    page_token
        The token of the previous page (``None``: the first page).
    now_ms
        The time rules read as ``now`` (``None``: the wall clock).
    """

    user_id: str | None
    k: int
    exclude: tuple[str, ...] = ()
    exclude_seen: bool = True
    category: str | None = None
    context_item: str | None = None
    rules: tuple[str, ...] = ()
    shaping: Mapping[str, Any] | None = None
    page_token: str | None = None
    now_ms: int | None = None

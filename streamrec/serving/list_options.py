"""The query parameters that shape a user's list, shared by the list and its
why-not explanation (so both build the same list)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from streamrec.serving.dependencies import IdQuery


@dataclass(frozen=True, slots=True)
class ListOptions:
    """A request's options for :meth:`streamrec.engine.Engine.recommend`."""

    options: dict[str, Any]


async def _list_options(
    exclude_seen: bool = True,
    category: IdQuery = None,
    context_item: IdQuery = None,
    exclude: Annotated[str | None, Query(max_length=16_384)] = None,
    rules: Annotated[list[str] | None, Query(max_length=100)] = None,
    category_cap: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    mmr_lambda: Annotated[float | None, Query(ge=0, le=1)] = None,
    budget_ms: Annotated[float | None, Query(gt=0, le=60_000)] = None,
) -> ListOptions:
    """``category`` keeps items that list it among their categories (popular and
    trending lists rank by primary category); ``context_item``
    is an item the user is looking at now (its neighbours come first). ``exclude``
    is a comma-separated list of items never to return; each ``rules`` is a business
    rule (``filter: price < 50``, docs/shaping.md); ``category_cap`` and
    ``mmr_lambda`` override the diversity settings; ``budget_ms`` is the time the
    candidate sources get (a late one is dropped and named in ``degraded``)."""
    overlay: dict[str, Any] = {} if budget_ms is None else {"budget_ms": budget_ms}
    diversity = {
        key: value
        for key, value in (("category_cap", category_cap), ("mmr_lambda", mmr_lambda))
        if value is not None
    }
    if diversity:
        overlay["diversity"] = diversity
    return ListOptions(
        {
            "exclude": [i for i in (exclude or "").split(",") if i],
            "exclude_seen": exclude_seen,
            "category": category,
            "context_item": context_item,
            "rules": tuple(rules or ()),
            "shaping": overlay or None,
        }
    )


ListOptionsDep = Annotated[ListOptions, Depends(_list_options)]

"""Each route of HTTP API v1 as a :class:`Call`: the request to send and how to read the answer.

Building requests and reading responses happens here, once, for both clients; a
client only moves a call's request over its transport (blocking or async) and hands
the response back to :meth:`Call.read`. Ids go into paths percent-encoded; query
values are sent as the API reads them (booleans ``true``/``false``, sequences
comma-separated, ``None`` left out). Every listing route passes unknown keyword
arguments through as query parameters, so parameters a newer server understands
(``variant``, ``surface``, ``exclude``, ``page_token``, ``budget_ms``, …) need no
client change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from streamrec import __version__
from streamrec.client.errors import StreamrecClientError, http_error, is_error_body
from streamrec.client.models import (
    Accepted,
    EditorialList,
    Erased,
    Event,
    ExperimentInfo,
    ExperimentList,
    ExperimentReport,
    Explanation,
    Health,
    ItemDetail,
    ItemIn,
    ItemsStored,
    ItemStored,
    Profile,
    Readiness,
    RecommendationList,
)

M = TypeVar("M", bound=BaseModel)
QueryValue = str | int | float | bool | Sequence[str | int] | None
EventLike = Event | Mapping[str, Any]
ItemLike = ItemIn | Mapping[str, Any]
_JSON = {"content-type": "application/json"}


@dataclass(frozen=True, slots=True)
class Call(Generic[M]):
    """One request of the API and the model its successful answer is read into.

    ``idempotent`` says whether sending it twice is harmless (see
    :mod:`streamrec.client.retry`); ``also_ok`` lists non-2xx statuses whose body
    is still an answer of type ``model`` unless it is in the error shape
    (``/readyz`` answers 503 with its readiness when degraded).
    """

    method: str
    path: str
    model: type[M]
    params: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    idempotent: bool = True
    also_ok: frozenset[int] = frozenset()

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The request, built on ``http`` (its base URL, headers and timeouts)."""
        headers = _JSON if self.body is not None else None
        return http.build_request(
            self.method, self.path, params=self.params, content=self.body, headers=headers
        )

    def is_answer(self, response: httpx.Response) -> bool:
        """Whether ``response`` carries this call's answer rather than an error."""
        if response.is_success:
            return True
        return response.status_code in self.also_ok and not is_error_body(response)

    def read(self, response: httpx.Response) -> M:
        """The answer's model.

        Raises
        ------
        StreamrecHTTPError
            (or its subclass for the status) when the server answered an error.
        StreamrecClientError
            When a successful answer does not fit ``model``.
        """
        if not self.is_answer(response):
            raise http_error(response)
        try:
            return self.model.model_validate_json(response.content)
        except ValidationError as exc:
            raise StreamrecClientError(
                f"{self.method} {self.path} answered {response.status_code} with a body that "
                f"is not a {self.model.__name__}: {exc}"
            ) from exc


def _id(value: str) -> str:
    """A path segment: every reserved character percent-encoded."""
    return quote(value, safe="")


def _query(values: Mapping[str, QueryValue]) -> dict[str, str]:
    params = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            params[name] = str(value)
        else:
            params[name] = ",".join(str(v) for v in value)
    return params


def event_json(event: EventLike) -> Any:
    """An event as JSON data: a model as its wire form, a mapping unchanged."""
    if isinstance(event, Event):
        return event.model_dump(mode="json", exclude_none=True)
    return event


def send_event(event: EventLike, *, wait: bool = False) -> Call[Accepted]:
    """Send one event (``POST /v1/events``).

    Parameters
    ----------
    event
        An :class:`Event`, or a mapping sent as it is (the server validates it).
    wait
        Return only once the event is applied to the online state, not just durable.
    """
    body = orjson.dumps(event_json(event))
    return Call("POST", "/v1/events", Accepted, _query({"wait": wait}), body, idempotent=False)


def send_events(events: Iterable[EventLike], *, wait: bool = False) -> Call[Accepted]:
    """Send a batch of events (``POST /v1/events`` with ``{"events": [...]}``).

    The server takes the batch whole or not at all: a bad event rejects it with
    :class:`~streamrec.client.errors.InvalidInputError`, whose ``problems`` name every
    bad event by its index in ``events``.

    Parameters
    ----------
    events
        :class:`Event` models and/or mappings (sent as they are).
    wait
        Return only once the events are applied to the online state, not just durable.
    """
    body = orjson.dumps({"events": [event_json(e) for e in events]})
    return Call("POST", "/v1/events", Accepted, _query({"wait": wait}), body, idempotent=False)


def recommendations(
    user_id: str,
    *,
    k: int | None = None,
    exclude_seen: bool | None = None,
    category: str | None = None,
    context_item: str | None = None,
    **extra: QueryValue,
) -> Call[RecommendationList]:
    """The user's personalized list (``GET /v1/users/{user_id}/recommendations``).

    Parameters
    ----------
    user_id
        The user; an unknown one gets the popularity fallback.
    k
        How many items (the server's default and cap apply).
    exclude_seen
        Leave out items the user has interacted with (the server's default: yes).
    category
        Only items of this category.
    context_item
        The item being looked at, to recommend around.
    **extra
        Further query parameters, sent as they are.
    """
    params = {
        "k": k,
        "exclude_seen": exclude_seen,
        "category": category,
        "context_item": context_item,
    }
    query = _query({**params, **extra})
    return Call("GET", f"/v1/users/{_id(user_id)}/recommendations", RecommendationList, query)


def explain(
    user_id: str, item_id: str, *, k: int | None = None, **extra: QueryValue
) -> Call[Explanation]:
    """What happened to ``item_id`` on the user's list
    (``GET /v1/users/{user_id}/recommendations/explain``); ``extra`` are the list's own
    query parameters (``rules``, ``category_cap``, …)."""
    query = _query({"item_id": item_id, "k": k, **extra})
    return Call("GET", f"/v1/users/{_id(user_id)}/recommendations/explain", Explanation, query)


def put_editorial(items: Iterable[str]) -> Call[EditorialList]:
    """Replace the editorial list of the reserved slots (``PUT /v1/editorial``)."""
    body = orjson.dumps({"items": list(items)})
    return Call("PUT", "/v1/editorial", EditorialList, body=body)


def get_editorial() -> Call[EditorialList]:
    """The editorial list (``GET /v1/editorial``)."""
    return Call("GET", "/v1/editorial", EditorialList)


def similar(item_id: str, *, k: int | None = None, **extra: QueryValue) -> Call[RecommendationList]:
    """Items most related to ``item_id`` (``GET /v1/items/{item_id}/similar``)."""
    query = _query({"k": k, **extra})
    return Call("GET", f"/v1/items/{_id(item_id)}/similar", RecommendationList, query)


def popular(
    *, k: int | None = None, category: str | None = None, **extra: QueryValue
) -> Call[RecommendationList]:
    """The most popular available items (``GET /v1/items/popular``), optionally of a category."""
    query = _query({"k": k, "category": category, **extra})
    return Call("GET", "/v1/items/popular", RecommendationList, query)


def trending(
    *, k: int | None = None, category: str | None = None, **extra: QueryValue
) -> Call[RecommendationList]:
    """The items rising fastest (``GET /v1/items/trending``), optionally of a category."""
    query = _query({"k": k, "category": category, **extra})
    return Call("GET", "/v1/items/trending", RecommendationList, query)


def _item_json(item: ItemLike) -> dict[str, Any]:
    if isinstance(item, ItemIn):
        return item.model_dump(mode="json", exclude_none=True)
    return dict(item)


def put_item(item: ItemLike) -> Call[ItemStored]:
    """Create or replace one item's metadata (``PUT /v1/items/{item_id}``).

    Parameters
    ----------
    item
        An :class:`ItemIn`, or a mapping with an ``item_id`` (the rest is sent as it is).
    """
    fields = _item_json(item)
    if "item_id" not in fields:
        raise ValueError("the item has no 'item_id'")
    item_id = str(fields.pop("item_id"))
    return Call("PUT", f"/v1/items/{_id(item_id)}", ItemStored, body=orjson.dumps(fields))


def post_items(items: Iterable[ItemLike]) -> Call[ItemsStored]:
    """Create or replace many items' metadata (``POST /v1/items``), all or none."""
    body = orjson.dumps({"items": [_item_json(i) for i in items]})
    return Call("POST", "/v1/items", ItemsStored, body=body)


def get_item(item_id: str) -> Call[ItemDetail]:
    """An item's metadata and live statistics (``GET /v1/items/{item_id}``)."""
    return Call("GET", f"/v1/items/{_id(item_id)}", ItemDetail)


def profile(user_id: str) -> Call[Profile]:
    """The user's real-time features (``GET /v1/users/{user_id}/profile``)."""
    return Call("GET", f"/v1/users/{_id(user_id)}/profile", Profile)


def put_experiment(experiment_id: str, definition: Mapping[str, Any]) -> Call[ExperimentInfo]:
    """Create or replace an experiment (``PUT /v1/experiments/{experiment_id}``):
    ``{"variants": [{"name", "traffic", "settings"}], "salt"?, "status"?, "mode"?}``."""
    path = f"/v1/experiments/{_id(experiment_id)}"
    return Call("PUT", path, ExperimentInfo, body=orjson.dumps(dict(definition)))


def experiments() -> Call[ExperimentList]:
    """Every experiment (``GET /v1/experiments``)."""
    return Call("GET", "/v1/experiments", ExperimentList)


def get_experiment(experiment_id: str) -> Call[ExperimentInfo]:
    """One experiment (``GET /v1/experiments/{experiment_id}``)."""
    return Call("GET", f"/v1/experiments/{_id(experiment_id)}", ExperimentInfo)


def experiment_report(experiment_id: str) -> Call[ExperimentReport]:
    """An experiment's report (``GET /v1/experiments/{experiment_id}/report``)."""
    return Call("GET", f"/v1/experiments/{_id(experiment_id)}/report", ExperimentReport)


def delete_user(user_id: str) -> Call[Erased]:
    """Erase a user everywhere (``DELETE /v1/users/{user_id}``, admin)."""
    return Call("DELETE", f"/v1/users/{_id(user_id)}", Erased)


def delete_item(item_id: str) -> Call[Erased]:
    """Erase an item everywhere (``DELETE /v1/items/{item_id}``, admin)."""
    return Call("DELETE", f"/v1/items/{_id(item_id)}", Erased)


def health() -> Call[Health]:
    """Whether the server process is up (``GET /healthz``)."""
    return Call("GET", "/healthz", Health)


def ready() -> Call[Readiness]:
    """The server's readiness (``GET /readyz``): read :attr:`Readiness.ready`.

    A degraded server answers 503 with the same body; that is returned, not raised
    (and not retried).
    """
    return Call("GET", "/readyz", Readiness, also_ok=frozenset({503}))


def http_options(
    base_url: str, api_key: str | None, timeout: float | httpx.Timeout
) -> dict[str, Any]:
    """The keyword arguments of the httpx client under a streamrec client."""
    headers = {"user-agent": f"streamrec-client/{__version__}", "accept": "application/json"}
    if api_key is not None:
        headers["authorization"] = f"Bearer {api_key}"
    return {"base_url": base_url, "headers": headers, "timeout": timeout}

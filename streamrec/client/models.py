"""Typed bodies of HTTP API v1, as the client sends and reads them.

Requests reuse the server's own models (:class:`~streamrec.events.Event` and
:class:`~streamrec.serving.schemas.ItemIn`), so a request the client builds is one the
server accepts. Responses are declared here, with ``extra="allow"``: a field a newer
server adds (``next_page_token``, ``experiment``, ``degraded``, …) is kept in
``model_extra`` instead of being dropped, so it can be read without a client change.
``tests/e2e/test_client_contract.py`` checks these fields against the server's
``/openapi.json`` and its live answers, so they cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from streamrec.events import Event, EventType
from streamrec.serving.schemas import ItemIn

__all__ = [
    "Accepted",
    "Erased",
    "Event",
    "EventType",
    "ExperimentInfo",
    "ExperimentList",
    "ExperimentReport",
    "ExperimentVariant",
    "Explanation",
    "Health",
    "Interaction",
    "ItemDetail",
    "ItemIn",
    "ItemMetadata",
    "ItemStats",
    "ItemStored",
    "ItemsStored",
    "Profile",
    "Readiness",
    "RecommendationList",
    "RecommendedItem",
    "ResponseModel",
    "Session",
]


class ResponseModel(BaseModel):
    """A response body: read-only, keeping fields this client does not know yet."""

    model_config = ConfigDict(extra="allow", frozen=True)


class RecommendedItem(ResponseModel):
    """One item of a list: its blended score, why it is there, and each source's share."""

    item_id: str
    score: float
    reasons: list[str]
    sources: dict[str, float]
    propensity: float | None = None  # the probability of an exploration slot's draw


class RecommendationList(ResponseModel):
    """A "for you", similar, popular or trending list.

    ``recommendation_id`` names this served list: send it back on the events it
    leads to (impressions, clicks, purchases) so they are attributed to it.
    ``fallback`` is true when the list is popularity standing in for personalization.
    ``experiment`` and ``variant`` say who served it; ``next_page_token`` asks for the
    next page; ``degraded`` names the sources left out (past the latency budget, or
    failing). An exploration item carries the ``propensity`` of its draw.
    """

    user_id: str | None = None
    items: list[RecommendedItem]
    experiment: str | None = None
    variant: str
    model_version: str | None
    recommendation_id: str
    fallback: bool
    next_page_token: str | None = None
    #: What was left out or may be stale: candidate sources dropped under the latency
    #: budget, or "replaying" while the server replays its log at start.
    degraded: list[str] = Field(default_factory=list)

    @property
    def item_ids(self) -> list[str]:
        """The recommended ids, best first."""
        return [item.item_id for item in self.items]


class Explanation(ResponseModel):
    """Why an item is or is not on a user's list: ``stage`` is ``served``,
    ``never_candidate``, ``filtered``, ``demoted`` or ``below_cut``, ``by`` the
    stage or filter that did it."""

    item_id: str
    stage: str
    by: str | None
    rank: int | None
    score: float | None
    kth_score: float | None
    k: int
    sources: dict[str, int | None]


class EditorialList(ResponseModel):
    """The editorial picks of the reserved slots, in order."""

    items: list[str]


class Accepted(ResponseModel):
    """Events accepted: durable, and applied to the online state too when ``applied``."""

    accepted: int
    applied: bool


class ItemStored(ResponseModel):
    """``PUT /v1/items/{item_id}``: the item's metadata was stored."""

    item_id: str
    stored: bool


class Erased(ResponseModel):
    """``DELETE /v1/users/{id}`` or ``/v1/items/{id}``: the erasure is durable, and
    ``applied`` once the online state reflects it."""

    erased: str
    id: str
    applied: bool


class ItemsStored(ResponseModel):
    """``POST /v1/items``: how many items were stored."""

    stored: int


class ItemMetadata(ResponseModel):
    """An item's catalog metadata (``created_at`` in epoch milliseconds)."""

    item_id: str
    title: str | None
    categories: list[str]
    tags: list[str]
    price: float | None
    available: bool
    created_at: int | None
    properties: dict[str, Any]


class ItemStats(ResponseModel):
    """An item's activity: decayed popularity, counts per type (raw and decayed), ratings."""

    item_id: str
    popularity: float
    trending: float
    counts: dict[str, int]
    decayed_counts: dict[str, float]
    rating_mean: float | None
    rating_count: int
    view_to_cart: float | None
    cart_to_purchase: float | None


class ItemDetail(ResponseModel):
    """``GET /v1/items/{item_id}``: metadata (if stored) and live stats (if ever seen)."""

    item_id: str
    metadata: ItemMetadata | None
    stats: ItemStats | None


class Interaction(ResponseModel):
    """One remembered interaction of a user."""

    item_id: str
    type: str
    timestamp: int
    value: float | None


class Session(ResponseModel):
    """The user's current session."""

    session_key: int
    started_ms: int
    events: int
    category: str | None


class Profile(ResponseModel):
    """A user's real-time features (``recent`` newest first)."""

    user_id: str
    recent: list[Interaction]
    seen: list[str]
    negative: list[str]
    cart: list[str]
    wishlist: list[str]
    affinities: dict[str, float]
    session: Session | None
    events: int
    last_ms: int


class Health(ResponseModel):
    """``GET /healthz``: the process is up."""

    status: str


class Readiness(ResponseModel):
    """``GET /readyz``, answered with 200 when ready and 503 when degraded."""

    status: str
    version: str
    model_version: str | None
    lag: int
    processor_error: str | None
    retrain: dict[str, Any] | None
    serving: dict[str, Any] | None = None  # tuned settings of the model version in use
    #: The start-up replay's progress (applied, target, remaining) while it runs.
    replay: dict[str, Any] | None = None
    #: Why the newest published model version is not in use.
    model_error: str | None = None

    @property
    def ready(self) -> bool:
        """Whether the server is ready to serve."""
        return self.status == "ready"


class ExperimentVariant(ResponseModel):
    """One arm of an experiment: its share of users and its settings overlay."""

    name: str
    traffic: float
    settings: dict[str, Any] = Field(default_factory=dict)


class ExperimentInfo(ResponseModel):
    """A stored experiment (``created_at`` in epoch milliseconds)."""

    experiment_id: str
    variants: list[ExperimentVariant]
    salt: str
    status: Literal["running", "stopped"]
    mode: Literal["ab", "interleaving"]
    surface: str
    created_at: int


class ExperimentList(ResponseModel):
    """``GET /v1/experiments``: every experiment, in id order."""

    experiments: list[ExperimentInfo]


class ExperimentReport(ResponseModel):
    """``GET /v1/experiments/{id}/report``: per-variant counters and comparisons
    against the first variant (the fields of each are in docs/experiments.md)."""

    experiment_id: str
    status: Literal["running", "stopped"]
    mode: Literal["ab", "interleaving"]
    variants: list[dict[str, Any]]
    comparisons: list[dict[str, Any]]

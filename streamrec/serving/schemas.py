"""Wire types of HTTP API v1 (DESIGN.md section 4)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from streamrec.events import (
    ID_PATTERN,
    MAX_ID_LENGTH,
    MAX_VALUE,
    BoundedObject,
    Time,
    parse_timestamp,
)
from streamrec.state.base import CatalogItem, ItemStats

#: A category or a tag.
Label = Annotated[str, StringConstraints(max_length=MAX_ID_LENGTH)]


class ItemBody(BaseModel):
    """``PUT /v1/items/{item_id}``: an item's catalog metadata (the id is the path's)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=10_000)
    categories: list[Label] = Field(default_factory=list, max_length=100)
    tags: list[Label] = Field(default_factory=list, max_length=1000)
    price: float | None = Field(default=None, ge=0, le=MAX_VALUE, allow_inf_nan=False, strict=True)
    available: bool = Field(default=True, strict=True)
    created_at: Time | None = Field(
        default=None, description="Epoch milliseconds or RFC 3339 (sent as a string)."
    )
    properties: BoundedObject = Field(default_factory=dict)

    @field_validator("created_at", mode="before")
    @classmethod
    def _created_at(cls, value: object) -> int | None:
        if value is None:
            return None
        if not isinstance(value, int | float | str) or isinstance(value, bool):
            raise ValueError("created_at must be epoch milliseconds or an RFC 3339 string")
        return parse_timestamp(value)

    def to_domain(self, item_id: str) -> CatalogItem:
        """The catalog item ``item_id`` with this metadata."""
        return CatalogItem(item_id=item_id, **self.model_dump())


class ItemIn(ItemBody):
    """Catalog metadata of one item, with its id (``POST /v1/items``)."""

    item_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN)

    def to_catalog_item(self) -> CatalogItem:
        """The catalog item."""
        return CatalogItem(**self.model_dump())


class ItemsIn(BaseModel):
    """``POST /v1/items``."""

    model_config = ConfigDict(extra="forbid")

    items: list[ItemIn] = Field(min_length=1, max_length=10_000)


class RecommendedItemOut(BaseModel):
    """One item of a list, with its reasons and per-source score breakdown."""

    item_id: str
    score: float
    reasons: list[str]
    sources: dict[str, float]
    propensity: float | None = Field(
        default=None, description="The probability of an exploration slot's draw."
    )


class RecommendationOut(BaseModel):
    """A recommendation list."""

    user_id: str | None = None
    items: list[RecommendedItemOut]
    experiment: str | None = None
    variant: str
    model_version: str | None
    recommendation_id: str
    fallback: bool
    next_page_token: str | None = None
    degraded: list[str] = Field(
        default_factory=list,
        description="What was left out or may be stale: candidate sources dropped under "
        'the latency budget, or "replaying" while the engine replays its log at start '
        "(empty when complete and up to date).",
    )


class ExplanationOut(BaseModel):
    """``GET /v1/users/{user_id}/recommendations/explain``: what happened to one item.

    ``stage`` is ``served``, ``never_candidate``, ``filtered``, ``demoted`` or
    ``below_cut``; ``by`` names the stage or filter (``seen``, ``disliked``,
    ``unavailable``, ``rule <text>``, ``diversity``, …); ``sources`` are the sources
    that proposed the item or, for a never-candidate, would have (with its rank).
    """

    item_id: str
    stage: str
    by: str | None
    rank: int | None
    score: float | None
    kth_score: float | None
    k: int
    sources: dict[str, int | None]


class Accepted(BaseModel):
    """Events accepted (durable; applied too when ``wait=true``)."""

    accepted: int
    applied: bool


class ItemOut(BaseModel):
    """``GET /v1/items/{item_id}``: catalog metadata and live statistics."""

    item_id: str
    metadata: CatalogItem | None
    stats: ItemStats | None


class ItemStored(BaseModel):
    """One catalog item stored (durable)."""

    item_id: str
    stored: bool


class Stored(BaseModel):
    """Catalog items stored (durable)."""

    stored: int


class ReadyOut(BaseModel):
    """``GET /readyz``."""

    status: str
    version: str
    model_version: str | None
    lag: int
    processor_error: str | None
    retrain: dict[str, Any] | None
    serving: dict[str, Any] | None = Field(
        default=None,
        description="The tuned settings of the model version in use: the keys applied "
        "and those the user's explicit settings override.",
    )
    replay: dict[str, Any] | None = Field(
        default=None,
        description="While the log tail found at start is replayed: applied and target "
        "offsets per partition and the events remaining.",
    )
    model_error: str | None = Field(
        default=None,
        description="Why the newest published model version is not in use (the one "
        "named by model_version still serves).",
    )


class ProblemOut(BaseModel):
    """One problem of a rejected request: which element (``index``), which field, why."""

    index: int | None = None
    field: str | None = None
    message: str


class ErrorBody(BaseModel):
    """What went wrong: a stable ``code``, a message for people, and the problems."""

    code: str
    message: str
    details: list[ProblemOut]


class ErrorOut(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


class Erased(BaseModel):
    """``DELETE /v1/users/{user_id}`` and ``DELETE /v1/items/{item_id}``: the erasure
    is durable; ``applied`` says whether the online state reflects it already."""

    erased: str = Field(description="The kind of what was erased: user or item.")
    id: str
    applied: bool

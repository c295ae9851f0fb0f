"""The editorial list of the reserved slots (an admin endpoint)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from streamrec.events import MAX_ID_LENGTH
from streamrec.serving.dependencies import EngineDep

router = APIRouter(tags=["shaping"])


class EditorialBody(BaseModel):
    """``PUT /v1/editorial``: the editorial picks, in order."""

    model_config = ConfigDict(extra="forbid")

    items: list[Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]] = Field(
        max_length=1000
    )


class EditorialOut(BaseModel):
    """The editorial list now."""

    items: list[str]


@router.put("/v1/editorial", response_model=EditorialOut)
async def put_editorial(body: EditorialBody, engine: EngineDep) -> EditorialOut:
    """Replace the editorial list (the ``editorial`` slots of every list take from it,
    in order, skipping items a user may not be shown)."""
    engine.editorial.set(body.items)
    return EditorialOut(items=list(engine.editorial.items()))


@router.get("/v1/editorial", response_model=EditorialOut)
async def get_editorial(engine: EngineDep) -> EditorialOut:
    """The editorial list."""
    return EditorialOut(items=list(engine.editorial.items()))

"""The catalog: item metadata in, metadata and live statistics out."""

from __future__ import annotations

from fastapi import APIRouter

from streamrec.errors import NotFound
from streamrec.serving.dependencies import EngineDep, IdPath
from streamrec.serving.schemas import ErrorOut, ItemBody, ItemOut, ItemsIn, ItemStored, Stored

router = APIRouter(tags=["catalog"])


@router.put("/v1/items/{item_id}", response_model=ItemStored)
def put_item(item_id: IdPath, body: ItemBody, engine: EngineDep) -> ItemStored:
    """Create or replace one item's metadata (durable before the answer)."""
    engine.upsert_items([body.to_domain(item_id)])
    return ItemStored(item_id=item_id, stored=True)


@router.post("/v1/items", response_model=Stored)
def post_items(body: ItemsIn, engine: EngineDep) -> Stored:
    """Create or replace many items' metadata (durable before the answer)."""
    engine.upsert_items([item.to_catalog_item() for item in body.items])
    return Stored(stored=len(body.items))


@router.get("/v1/items/{item_id}", response_model=ItemOut, responses={404: {"model": ErrorOut}})
async def get_item(item_id: IdPath, engine: EngineDep) -> ItemOut:
    """An item's metadata and live statistics (404 when it has neither)."""
    meta, stats = engine.item(item_id)
    if meta is None and stats is None:
        raise NotFound(f"item {item_id!r} is unknown")
    return ItemOut(item_id=item_id, metadata=meta, stats=stats)

"""Data lifecycle: deleting users and items (``DELETE /v1/users/{id}``, ``/v1/items/{id}``).

A deletion is durable before the answer (the catalog journal and an erasure record
in the log, see :mod:`streamrec.erasures`); the answer is 200 once the online state
applied it, 202 when it is durable but still queued. Deleting an unknown id is not
an error: erasure is idempotent.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from streamrec.serving.dependencies import EngineDep, IdPath
from streamrec.serving.schemas import Erased

router = APIRouter(tags=["lifecycle"])

_ANSWERS: dict[int | str, dict[str, Any]] = {200: {"model": Erased}, 202: {"model": Erased}}


@router.delete("/v1/users/{user_id}", response_model=Erased, responses=_ANSWERS)
async def delete_user(user_id: IdPath, engine: EngineDep) -> JSONResponse:
    """Erase a user: profile, online state and history; replay never restores them."""
    applied = await run_in_threadpool(engine.erase, [user_id], ())
    return _answer("user", user_id, applied)


@router.delete("/v1/items/{item_id}", response_model=Erased, responses=_ANSWERS)
async def delete_item(item_id: IdPath, engine: EngineDep) -> JSONResponse:
    """Erase an item: catalog entry, statistics, rankings, co-occurrence and history."""
    applied = await run_in_threadpool(engine.erase, (), [item_id])
    return _answer("item", item_id, applied)


def _answer(kind: str, subject: str, applied: bool) -> JSONResponse:
    body = Erased(erased=kind, id=subject, applied=applied)
    return JSONResponse(body.model_dump(), status_code=200 if applied else 202)

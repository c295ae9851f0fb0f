"""A user's real-time profile."""

from __future__ import annotations

from fastapi import APIRouter

from streamrec.errors import NotFound
from streamrec.serving.dependencies import EngineDep, IdPath
from streamrec.serving.schemas import ErrorOut
from streamrec.state.base import UserProfile

router = APIRouter(tags=["users"])


@router.get(
    "/v1/users/{user_id}/profile", response_model=UserProfile, responses={404: {"model": ErrorOut}}
)
async def profile(user_id: IdPath, engine: EngineDep) -> UserProfile:
    """The user's real-time features (404 for an unknown or expired user)."""
    found = engine.profile(user_id)
    if found is None:
        raise NotFound(f"user {user_id!r} has no profile")
    return found

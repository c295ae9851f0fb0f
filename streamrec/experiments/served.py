"""A served list: what one response showed, as the served-list log records it.

Every list streamrec serves (a user's recommendations, an item's similar items) is
recorded with its ``recommendation_id`` so that events sent back with that id can
be credited to the list, its experiment, its variant and the item's position. The
record is compact JSON with short keys (about 0.5 KB for ten items): the log keeps
a week of them by default.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from streamrec.errors import CorruptData

#: The surface of ``GET /v1/users/{id}/recommendations``.
RECOMMENDATIONS = "recommendations"
#: The surface of ``GET /v1/items/{id}/similar``.
SIMILAR = "similar"


@dataclass(frozen=True, slots=True)
class ServedList:
    """One served list.

    Attributes
    ----------
    recommendation_id
        The id the response carried.
    user_id
        Who it was served to (``None`` for an anonymous similar-items list).
    surface
        Where it was served (``recommendations``, ``similar``…).
    experiment, variant
        The experiment the user was in (``None``: none ran) and their variant.
    items, scores
        The list in order: position ``p`` holds ``items[p]``.
    propensities
        Per position, the probability that the slot showed its item, where a slot
        was randomized (interleaving); ``None`` for a deterministic list.
    model_version
        The batch models that scored it.
    settings_hash
        A short hash of the settings that built it (the variant's merged settings).
    served_at
        Epoch milliseconds.
    latency_ms
        How long building the list took.
    teams
        Per position, the variant that placed the item (team-draft interleaving);
        ``None`` for a list of one variant.
    """

    recommendation_id: str
    user_id: str | None
    surface: str
    experiment: str | None
    variant: str
    items: tuple[str, ...]
    scores: tuple[float, ...]
    propensities: tuple[float, ...] | None
    model_version: str | None
    settings_hash: str
    served_at: int
    latency_ms: float
    teams: tuple[str, ...] | None = None

    def position(self, item_id: str) -> int | None:
        """The 0-based position of ``item_id`` in the list, ``None`` if absent."""
        try:
            return self.items.index(item_id)
        except ValueError:
            return None

    def encode(self) -> bytes:
        """The record as compact JSON."""
        return orjson.dumps(
            {
                "id": self.recommendation_id,
                "u": self.user_id,
                "s": self.surface,
                "e": self.experiment,
                "v": self.variant,
                "i": self.items,
                "sc": [round(s, 6) for s in self.scores],
                "p": self.propensities,
                "m": self.model_version,
                "h": self.settings_hash,
                "t": self.served_at,
                "l": round(self.latency_ms, 3),
                **({"tm": self.teams} if self.teams is not None else {}),
            }
        )

    @staticmethod
    def decode(data: bytes | str) -> ServedList:
        """Read a record written by :meth:`encode`.

        Raises
        ------
        CorruptData
            If ``data`` is not such a record.
        """
        try:
            raw: dict[str, Any] = orjson.loads(data)
            propensities, teams = raw["p"], raw.get("tm")
            return ServedList(
                recommendation_id=str(raw["id"]),
                user_id=raw["u"],
                surface=str(raw["s"]),
                experiment=raw["e"],
                variant=str(raw["v"]),
                items=tuple(raw["i"]),
                scores=tuple(float(s) for s in raw["sc"]),
                propensities=None if propensities is None else tuple(propensities),
                model_version=raw["m"],
                settings_hash=str(raw["h"]),
                served_at=int(raw["t"]),
                latency_ms=float(raw["l"]),
                teams=None if teams is None else tuple(teams),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CorruptData(f"not a served-list record: {exc}") from None


def settings_hash(settings: Any) -> str:
    """A short stable hash of a settings tree (a pydantic model or plain data)."""
    dumped = settings.model_dump(mode="json") if hasattr(settings, "model_dump") else settings
    digest = hashlib.sha256(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()[:12]

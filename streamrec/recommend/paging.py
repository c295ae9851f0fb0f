"""Page tokens: the next page of a list, without repeats, in a stable order for a while.

A token names the list it continues (a random id) and carries every item already
served from it. While the recommender still holds the list (for
``shaping.page_ttl_s`` seconds, at most ``shaping.page_lists`` lists), the next page
is the next slice of the same ranked rows: the order does not move under the user.
Past that, or on another replica, the list is built afresh with every served item
excluded. Either way no page repeats an item of an earlier one.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from streamrec.errors import InvalidInput, Problem


@dataclass(frozen=True, slots=True)
class PageToken:
    """Which list a page continues and what it has served so far."""

    list_id: str
    served: tuple[str, ...]

    def encode(self) -> str:
        """The token as a URL-safe string."""
        raw = orjson.dumps({"l": self.list_id, "s": list(self.served)})
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(text: str) -> PageToken:
        """The token of ``text``.

        Raises
        ------
        InvalidInput
            If ``text`` is not a token this recommender issued.
        """
        try:
            body = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            list_id, served = body["l"], body["s"]
            if not isinstance(list_id, str) or not all(isinstance(s, str) for s in served):
                raise TypeError
            return PageToken(list_id, tuple(served))
        except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise InvalidInput(
                "malformed page token", [Problem(None, "page_token", "not a page token")]
            ) from None

    @staticmethod
    def first() -> PageToken:
        """The token of a new list (nothing served yet)."""
        return PageToken(uuid.uuid4().hex, ())


class PageCache:
    """Ranked lists kept for their next pages, by list id (least recently used go
    first, and lists older than ``ttl_s``)."""

    def __init__(self, ttl_s: float, size: int) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._lists: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, list_id: str, held: Any) -> None:
        """Keep ``held`` as list ``list_id``."""
        with self._lock:
            self._lists[list_id] = (time.monotonic() + self.ttl_s, held)
            self._lists.move_to_end(list_id)
            while len(self._lists) > self.size:
                self._lists.popitem(last=False)

    def get(self, list_id: str) -> Any | None:
        """The list kept as ``list_id`` (``None`` once gone)."""
        with self._lock:
            found = self._lists.get(list_id)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._lists[list_id]
                return None
            self._lists.move_to_end(list_id)
            return found[1]

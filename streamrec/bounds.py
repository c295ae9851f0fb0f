"""Bounds on what clients send: free-form JSON objects and event times.

Free-form objects (an event's ``context``, an item's ``properties``) are checked by
:func:`check_json` for nesting depth, size, string and key lengths, and numbers
that every JSON encoder on the way (orjson among them) can write back: integers
within 64 bits, finite floats. :class:`TimeWindow` is the span of event times a
server accepts, relative to its clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: The latest time streamrec accepts anywhere (9999-12-31T23:59:59.999Z).
MAX_TIMESTAMP_MS = 253_402_300_799_999
#: Free-form objects: at most this deep (an object in an object is depth 2) …
MAX_JSON_DEPTH = 8
#: … with at most this many values in all …
MAX_JSON_VALUES = 1000
#: … strings of at most this many characters and keys of at most this many.
MAX_JSON_STRING = 10_000
MAX_JSON_KEY = 256
_INT64 = 2**63


def check_json(value: object, depth: int = 1) -> int:
    """Check a decoded JSON value against the bounds above; return its value count.

    Raises
    ------
    ValueError
        Naming the first bound it breaks.
    """
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise ValueError("integers must fit in 64 bits")
        return 1
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return 1
    if isinstance(value, str):
        if len(value) > MAX_JSON_STRING:
            raise ValueError(f"strings must be at most {MAX_JSON_STRING} characters")
        return 1
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"objects and lists must nest at most {MAX_JSON_DEPTH} deep")
    children: list[Any]
    if isinstance(value, dict):
        if any(len(key) > MAX_JSON_KEY for key in value):
            raise ValueError(f"keys must be at most {MAX_JSON_KEY} characters")
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        raise ValueError(f"{type(value).__name__} is not a JSON value")
    total = 1
    for child in children:
        total += check_json(child, depth + 1)
        if total > MAX_JSON_VALUES:
            raise ValueError(f"at most {MAX_JSON_VALUES} values in all")
    return total


def bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` after :func:`check_json` (a pydantic after-validator)."""
    check_json(value)
    return value


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Event times a server accepts: from ``earliest_ms`` to ``max_skew_s`` past now."""

    earliest_ms: int = 0
    max_skew_s: float = 86_400.0

    def bounds(self, now_ms: int) -> tuple[int, int]:
        """The first and last accepted epoch milliseconds at ``now_ms``."""
        latest = min(now_ms + int(self.max_skew_s * 1000), MAX_TIMESTAMP_MS)
        return self.earliest_ms, latest

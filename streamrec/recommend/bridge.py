"""Translating a source's own dense item ids (a model bundle's) to the state's.

A :class:`Translation` is an array indexed by the ids of one space whose entries are
the ids of the other, filled by name the first time an id is asked for and then read
with one fancy index per call. Ids of both sides are never reused, so a resolved
entry stays right; an id the other side does not know yet is looked up again at most
every :data:`RECHECK_S` seconds (it may arrive: a model may name items the state has
not applied yet, and the content model learns new catalog items).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from streamrec.ids import IdMap
from streamrec.state.base import ItemNames

#: Seconds between look-ups of ids the other side did not know.
RECHECK_S = 1.0
#: Id spaces whose translations are kept (a new model bundle brings a new one).
KEPT_SPACES = 4

_UNRESOLVED = -2
_UNKNOWN = -1


class Translation:
    """Ids of one space to ids of another (``-1`` where the other does not know it).

    Parameters
    ----------
    names_of
        The names of ids of the source space.
    ids_of
        The ids, in the target space, of names (``-1`` where unknown).
    """

    def __init__(
        self,
        names_of: Callable[[np.ndarray], list[str]],
        ids_of: Callable[[Sequence[str]], np.ndarray],
    ) -> None:
        self._names_of = names_of
        self._ids_of = ids_of
        self._table = np.full(0, _UNRESOLVED, np.int64)
        self._checked = 0.0  # when unknown entries were last looked up again
        self._lock = threading.Lock()

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        result = np.full(len(ids), _UNKNOWN, np.int64)
        valid = ids >= 0
        if not valid.any():
            return result
        wanted = ids[valid]
        with self._lock:
            top = int(wanted.max()) + 1
            if top > len(self._table):
                grown = np.full(max(top, 2 * len(self._table)), _UNRESOLVED, np.int64)
                grown[: len(self._table)] = self._table
                self._table = grown
            found = self._table[wanted]
            pending = found == _UNRESOLVED
            now = time.monotonic()
            if now - self._checked >= RECHECK_S:
                pending |= found == _UNKNOWN
                self._checked = now
            if pending.any():
                missing = np.unique(wanted[pending])
                self._table[missing] = self._ids_of(self._names_of(missing))
                found = self._table[wanted]
        result[valid] = found
        return result


class Bridges:
    """The :class:`~streamrec.recommend.types.StateIds` of one state: a pair of
    translations per id space, for the last :data:`KEPT_SPACES` spaces used."""

    def __init__(self, state: ItemNames) -> None:
        self.state = state
        self._spaces: dict[int, tuple[IdMap, Translation, Translation]] = {}
        self._lock = threading.Lock()

    def to_state(self, space: IdMap, ids: np.ndarray) -> np.ndarray:
        """State ids of ``space``'s ids (``-1`` where the state does not know the item)."""
        return self._pair(space)[1](ids)

    def from_state(self, space: IdMap, ids: np.ndarray) -> np.ndarray:
        """``space``'s ids of state ids (``-1`` where ``space`` does not know the item)."""
        return self._pair(space)[2](ids)

    def _pair(self, space: IdMap) -> tuple[IdMap, Translation, Translation]:
        with self._lock:
            found = self._spaces.get(id(space))
            if found is None:
                found = (
                    space,  # held, so that its id() is not reused while the entry lives
                    Translation(space.names, self.state.item_ids),
                    Translation(self.state.item_names, lambda names: space.lookup_many(names)),
                )
                if len(self._spaces) >= KEPT_SPACES:
                    del self._spaces[next(iter(self._spaces))]
                self._spaces[id(space)] = found
            return found

"""Interning of external string ids to dense integers.

External ids are strings; everything inside the engine indexes arrays with dense
``int32`` ids. An :class:`IdMap` hands out the smallest free id, and can release
ids (for example of expired user profiles) so that memory follows the active set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


class IdMap:
    """A two-way map between string ids and dense integer ids."""

    __slots__ = ("_index", "_names", "_free")

    def __init__(self, names: Iterable[str | None] = ()) -> None:
        self._names: list[str | None] = list(names)
        self._index: dict[str, int] = {n: i for i, n in enumerate(self._names) if n is not None}
        self._free: list[int] = [i for i, n in enumerate(self._names) if n is None]

    def __len__(self) -> int:
        """The number of live ids."""
        return len(self._index)

    @property
    def capacity(self) -> int:
        """One past the largest id ever handed out (the size arrays must have)."""
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def get(self, name: str) -> int | None:
        """The dense id of ``name``, or ``None``."""
        return self._index.get(name)

    def intern(self, name: str) -> int:
        """The dense id of ``name``, assigning one if it is new."""
        found = self._index.get(name)
        if found is not None:
            return found
        if self._free:
            dense = self._free.pop()
            self._names[dense] = name
        else:
            dense = len(self._names)
            self._names.append(name)
        self._index[name] = dense
        return dense

    def intern_many(self, names: Sequence[str]) -> np.ndarray:
        """Dense ids of ``names`` (``int32``), assigning new ones in order of appearance."""
        index = self._index
        found = [index.get(n, -1) for n in names]
        if -1 in found:
            intern = self.intern
            found = [f if f >= 0 else intern(n) for f, n in zip(found, names, strict=True)]
        return np.asarray(found, dtype=np.int32)

    def lookup_many(self, names: Sequence[str]) -> np.ndarray:
        """Dense ids of ``names`` (``int32``), ``-1`` where unknown."""
        index = self._index
        return np.asarray([index.get(n, -1) for n in names], dtype=np.int32)

    def name(self, dense: int) -> str:
        """The string id of a dense id."""
        found = self._names[dense]
        if found is None:
            raise KeyError(dense)
        return found

    def names(self, dense: Iterable[int] | np.ndarray) -> list[str]:
        """String ids of dense ids (all must be live)."""
        table = self._names
        return [table[i] for i in np.asarray(dense).tolist()]  # type: ignore[misc]

    def release(self, dense: Iterable[int]) -> None:
        """Forget the given ids; their numbers are handed out again later."""
        for i in dense:
            name = self._names[i]
            if name is not None:
                del self._index[name]
                self._names[i] = None
                self._free.append(i)

    def to_list(self) -> list[str | None]:
        """The table by dense id (``None`` for released ids), for snapshots."""
        return list(self._names)

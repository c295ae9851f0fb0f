"""Business rules over the candidate arrays: columns of item facts and a vectorised
evaluator of :mod:`streamrec.recommend.rules_lang` trees.

Values are numbers, strings, booleans, lists and ``null`` (a missing value). The
semantics, which :func:`evaluate` applies to whole columns at once:

- ``+`` and ``-`` of two numbers is a number, anything else ``null``;
- ``<``, ``<=``, ``>``, ``>=`` compare two numbers or two strings, else are false;
- ``a == b`` is true when both have the same kind and value (``null == null``
  too); ``!=`` is its negation;
- ``a in b`` is true when ``b`` is a list holding an element equal to ``a``, or
  both are strings and ``a`` is part of ``b``; ``not in`` is its negation;
- ``and``, ``or`` and ``not`` read truthiness: ``null``, ``false``, ``0``, ``""`` and
  ``[]`` are false, everything else true.

An item without a catalog entry has ``null`` fields, no categories or tags, and is
available; an item the state never saw has ``null`` statistics. Numeric columns
(``price``, ``created_at``, the statistics) are float arrays with NaN for ``null``
and go through NumPy; ``"c" in categories`` is the state's category test; the rest
runs one Python step per candidate over the shortlist (a few dozen items).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streamrec.recommend.rules_lang import (
    FIELDS,
    STAT_FIELDS,
    Binary,
    Expr,
    Field,
    ListOf,
    Literal,
    Not,
    Now,
)
from streamrec.state.base import CatalogItem, DenseReads, ItemStats


@dataclass(slots=True)
class ItemFacts:
    """What rules read about candidates, fetched once per request and item.

    Parameters
    ----------
    state
        Where catalog entries, statistics and names come from.
    now_ms
        The time ``now`` stands for.
    """

    state: DenseReads
    now_ms: int
    _entries: dict[int, CatalogItem | None] = field(default_factory=dict)
    _stats: dict[int, ItemStats | None] = field(default_factory=dict)

    def entries(self, ids: np.ndarray) -> list[CatalogItem | None]:
        """The catalog entry of each item."""
        return self._fetch(ids, self._entries, self.state.catalog_rows)

    def stats(self, ids: np.ndarray) -> list[ItemStats | None]:
        """The live statistics of each item."""
        return self._fetch(ids, self._stats, self.state.stats_rows)

    def _fetch(self, ids: np.ndarray, held: dict[int, Any], read: Callable[..., list[Any]]) -> Any:
        missing = [i for i in dict.fromkeys(ids.tolist()) if i not in held]
        if missing:
            held.update(zip(missing, read(np.array(missing, np.int64)), strict=True))
        return [held[i] for i in ids.tolist()]


@dataclass(frozen=True, slots=True)
class Vec:
    """A column of values: ``num`` (float, NaN = null), ``bool``, or ``obj`` (Python
    values, ``None`` = null; numbers as floats, lists as tuples)."""

    kind: str
    values: np.ndarray

    def objects(self) -> np.ndarray:
        """The column as Python values."""
        if self.kind == "obj":
            return self.values
        out = np.empty(len(self.values), object)
        if self.kind == "num":
            out[:] = [None if math.isnan(v) else v for v in self.values.tolist()]
        else:
            out[:] = self.values.tolist()
        return out


def _normal(value: Any) -> Any:
    """A JSON value as the language sees it (numbers as floats, lists as tuples,
    objects as null)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, list | tuple):
        return tuple(_normal(v) for v in value)
    return None


def _column(name: tuple[str, ...], ids: np.ndarray, facts: ItemFacts) -> Vec:
    """The column of field ``name`` for items ``ids``."""
    head = name[0]
    if head in STAT_FIELDS:
        stats = facts.stats(ids)
        return Vec("num", np.array([_stat(s, head) for s in stats], np.float64))
    if head == "item_id":
        return _objects(facts.state.item_names(ids))
    entries = facts.entries(ids)
    if head == "properties":
        return _objects(
            [None if e is None else _normal(e.properties.get(name[1])) for e in entries]
        )
    kind = FIELDS[head]
    if kind == "number":
        return Vec("num", np.array([_number(e, head) for e in entries], np.float64))
    if kind == "bool":
        return Vec("bool", np.array([True if e is None else e.available for e in entries]))
    if kind == "list":
        return _objects([() if e is None else tuple(getattr(e, head)) for e in entries])
    return _objects([None if e is None else getattr(e, head) for e in entries])


def _objects(values: list[Any]) -> Vec:
    out = np.empty(len(values), object)
    out[:] = values
    return Vec("obj", out)


def _number(entry: CatalogItem | None, name: str) -> float:
    value = None if entry is None else getattr(entry, name)
    return math.nan if value is None else float(value)


def _stat(stats: ItemStats | None, name: str) -> float:
    value = None if stats is None else getattr(stats, name)
    return math.nan if value is None else float(value)


def evaluate(expr: Expr, ids: np.ndarray, facts: ItemFacts) -> np.ndarray:
    """Whether ``expr`` holds (is truthy) for each item of ``ids``."""
    return _truthy(_eval(expr, ids, facts))


def _eval(expr: Expr, ids: np.ndarray, facts: ItemFacts) -> Vec:
    n = len(ids)
    match expr:
        case Literal(value=value):
            if isinstance(value, float):
                return Vec("num", np.full(n, value))
            if isinstance(value, bool):
                return Vec("bool", np.full(n, value))
            return _objects([value] * n)
        case Now():
            return Vec("num", np.full(n, float(facts.now_ms)))
        case ListOf(items=items):
            return _objects([tuple(i.value for i in items)] * n)
        case Field(path=path):
            return _column(path, ids, facts)
        case Not(operand=operand):
            return Vec("bool", ~evaluate(operand, ids, facts))
        case Binary(op="and", left=left, right=right):
            return Vec("bool", evaluate(left, ids, facts) & evaluate(right, ids, facts))
        case Binary(op="or", left=left, right=right):
            return Vec("bool", evaluate(left, ids, facts) | evaluate(right, ids, facts))
        case Binary(op="in" | "not in", left=left, right=Field(path=("categories",))) if isinstance(
            left, Literal
        ) and isinstance(left.value, str):
            found = facts.state.in_category(ids, left.value)
            return Vec("bool", found if expr.op == "in" else ~found)
        case Binary(op=op, left=left, right=right):
            return _binary(op, _eval(left, ids, facts), _eval(right, ids, facts))
    raise TypeError(f"not an expression: {expr!r}")


def _binary(op: str, a: Vec, b: Vec) -> Vec:
    if a.kind == "num" and b.kind == "num":
        x, y = a.values, b.values
        with np.errstate(invalid="ignore"):
            if op in ("+", "-"):
                return Vec("num", x + y if op == "+" else x - y)
            if op in ("==", "!="):
                equal = (x == y) | (np.isnan(x) & np.isnan(y))
                return Vec("bool", equal if op == "==" else ~equal)
            if op in ("<", "<=", ">", ">="):
                return Vec("bool", _COMPARE[op](x, y))
    scalar = _SCALAR[op]
    return _objects_or_bool(
        op, [scalar(p, q) for p, q in zip(a.objects(), b.objects(), strict=True)]
    )


def _objects_or_bool(op: str, values: list[Any]) -> Vec:
    if op in ("+", "-"):
        return Vec("num", np.array([math.nan if v is None else v for v in values], np.float64))
    return Vec("bool", np.array(values, np.bool_))


def _truthy(vec: Vec) -> np.ndarray:
    if vec.kind == "bool":
        return vec.values.astype(np.bool_)
    if vec.kind == "num":
        return (vec.values != 0) & ~np.isnan(vec.values)
    return np.array([bool(v) for v in vec.values], np.bool_)


def _is_number(v: Any) -> bool:
    return isinstance(v, float) and not isinstance(v, bool)


def _arith(sign: float) -> Callable[[Any, Any], Any]:
    def apply(p: Any, q: Any) -> Any:
        return p + sign * q if _is_number(p) and _is_number(q) else None

    return apply


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def apply(p: Any, q: Any) -> bool:
        same = (_is_number(p) and _is_number(q)) or (isinstance(p, str) and isinstance(q, str))
        return bool(same and compare(p, q))

    return apply


def _kind(v: Any) -> str:
    return type(v).__name__


def _equal(p: Any, q: Any) -> bool:
    if isinstance(p, tuple) and isinstance(q, tuple):
        return len(p) == len(q) and all(_equal(x, y) for x, y in zip(p, q, strict=True))
    return _kind(p) == _kind(q) and p == q


def _contains(p: Any, q: Any) -> bool:
    if isinstance(q, tuple):
        return any(_equal(p, element) for element in q)
    return isinstance(p, str) and isinstance(q, str) and p in q


_COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}
_SCALAR: dict[str, Callable[[Any, Any], Any]] = {
    "+": _arith(1.0),
    "-": _arith(-1.0),
    "<": _ordered(lambda p, q: p < q),
    "<=": _ordered(lambda p, q: p <= q),
    ">": _ordered(lambda p, q: p > q),
    ">=": _ordered(lambda p, q: p >= q),
    "==": _equal,
    "!=": lambda p, q: not _equal(p, q),
    "in": _contains,
    "not in": lambda p, q: not _contains(p, q),
}

"""A plain-Python reference of the rule language's semantics, one item at a time.

It walks the syntax tree recursively over one item's values held in a dict, with
the rules written out as docs/shaping.md states them; the vectorised evaluator
(:mod:`streamrec.recommend.rules`) must agree with it on every item.
"""

from __future__ import annotations

from typing import Any

from streamrec.recommend.rules_lang import Binary, Expr, Field, ListOf, Literal, Not, Now
from streamrec.state.base import CatalogItem, ItemStats


def item_values(item_id: str, entry: CatalogItem | None, stats: ItemStats | None) -> dict[str, Any]:
    """The values an expression reads for one item."""
    values: dict[str, Any] = {"item_id": item_id}
    if entry is None:
        values.update(title=None, categories=[], tags=[], price=None, available=True)
        values.update(created_at=None, properties={})
    else:
        values.update(
            title=entry.title,
            categories=list(entry.categories),
            tags=list(entry.tags),
            price=entry.price,
            available=entry.available,
            created_at=entry.created_at,
            properties=dict(entry.properties),
        )
    for name in ("popularity", "trending", "rating_mean", "rating_count"):
        values[name] = None if stats is None else getattr(stats, name)
    return values


def _plain(value: Any) -> Any:
    """Numbers become floats, lists stay lists, objects are null."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value) if value == value else None
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return None


def _number(v: Any) -> bool:
    return isinstance(v, float)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _number(a) or _number(b):
        return _number(a) and _number(b) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return False


def _truth(v: Any) -> bool:
    if v is None or v is False:
        return False
    if v is True:
        return True
    if _number(v):
        return v != 0
    return len(v) > 0


def value(expr: Expr, item: dict[str, Any], now_ms: int) -> Any:
    """The value of ``expr`` for ``item``."""
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Now):
        return float(now_ms)
    if isinstance(expr, ListOf):
        return [i.value for i in expr.items]
    if isinstance(expr, Field):
        if expr.path[0] == "properties":
            return _plain(item["properties"].get(expr.path[1]))
        return _plain(item[expr.path[0]])
    if isinstance(expr, Not):
        return not _truth(value(expr.operand, item, now_ms))
    assert isinstance(expr, Binary)
    if expr.op == "and":
        left = _truth(value(expr.left, item, now_ms))
        return _truth(value(expr.right, item, now_ms)) and left
    if expr.op == "or":
        left = _truth(value(expr.left, item, now_ms))
        return _truth(value(expr.right, item, now_ms)) or left
    a = value(expr.left, item, now_ms)
    b = value(expr.right, item, now_ms)
    if expr.op in ("+", "-"):
        if not (_number(a) and _number(b)):
            return None
        return a + b if expr.op == "+" else a - b
    if expr.op in ("==", "!="):
        return _same(a, b) == (expr.op == "==")
    if expr.op in ("in", "not in"):
        if isinstance(b, list):
            inside = any(_same(a, x) for x in b)
        else:
            inside = isinstance(a, str) and isinstance(b, str) and a in b
        return inside == (expr.op == "in")
    if (_number(a) and _number(b)) or (isinstance(a, str) and isinstance(b, str)):
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[expr.op]
    return False


def holds(expr: Expr, item: dict[str, Any], now_ms: int) -> bool:
    """Whether ``expr`` is truthy for ``item``."""
    return _truth(value(expr, item, now_ms))

"""The rule language: parse errors name their position, printing a tree parses back
to it, and the vectorised evaluator agrees with the plain reference
(tests/reference_rules.py) on random expressions and random items."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamrec.config import Settings
from streamrec.errors import InvalidInput
from streamrec.events import TYPE_CODE, EventBatch, EventType
from streamrec.recommend.rule_stages import compile_rules
from streamrec.recommend.rules import ItemFacts, evaluate
from streamrec.recommend.rules_lang import (
    FIELDS,
    Binary,
    Expr,
    Field,
    ListOf,
    Literal,
    Not,
    Now,
    RuleError,
    parse_expression,
    parse_rule,
    render,
)
from streamrec.state.base import CatalogItem
from streamrec.state.memory import MemoryState
from tests.reference_rules import holds, item_values

WORDS = ["outdoor", "acme", "kitchen", "a", ""]
PROPERTIES = ["brand", "sponsored", "size", "colors"]
NOW_MS = 1_700_000_000_000

constants = st.one_of(
    st.integers(0, 100).map(float),
    st.floats(0, 1e3, allow_nan=False).map(lambda f: float(round(f, 3))),
    st.sampled_from(WORDS),
    st.booleans(),
    st.none(),
).map(Literal)
leaves = st.one_of(
    constants,
    st.sampled_from([Field((name,)) for name in FIELDS]),
    st.sampled_from([Field(("properties", p)) for p in PROPERTIES]),
    st.just(Now()),
    st.lists(constants, max_size=3).map(lambda items: ListOf(tuple(items))),
)
OPS = ["or", "and", "<", "<=", ">", ">=", "==", "!=", "in", "not in", "+", "-"]


def _grow(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    binary = st.builds(Binary, st.sampled_from(OPS), children, children)
    return st.one_of(binary, children.map(Not))


expressions = st.recursive(leaves, _grow, max_leaves=12)

property_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(0, 100),
    st.sampled_from(WORDS),
    st.lists(st.one_of(st.sampled_from(WORDS), st.integers(0, 3), st.booleans()), max_size=3),
    st.just({"nested": 1}),
)
catalog_items = st.builds(
    lambda n, title, cats, tags, price, available, created, props: CatalogItem(
        item_id=f"item-{n}",
        title=title,
        categories=cats,
        tags=tags,
        price=price,
        available=available,
        created_at=created,
        properties=props,
    ),
    st.integers(0, 10_000),
    st.one_of(st.none(), st.sampled_from(["Trail outdoor tent", "acme", ""])),
    st.lists(st.sampled_from(WORDS[:3]), max_size=3),
    st.lists(st.sampled_from(WORDS), max_size=2),
    st.one_of(st.none(), st.integers(0, 100).map(float)),
    st.booleans(),
    st.one_of(st.none(), st.integers(NOW_MS - 10 * 86_400_000, NOW_MS)),
    st.dictionaries(st.sampled_from(PROPERTIES), property_values, max_size=3),
)


def _world(entries: list[CatalogItem], events: int) -> tuple[MemoryState, np.ndarray]:
    state = MemoryState(Settings())
    unique = list({e.item_id: e for e in entries}.values())
    state.upsert(unique)
    names = [e.item_id for e in unique] + ["never-cataloged"]
    if events:
        picked = [names[i % len(names)] for i in range(events)]
        state.apply(
            EventBatch.from_columns(
                {
                    "user_id": [f"u{i % 3}" for i in range(events)],
                    "item_id": picked,
                    "type": [
                        TYPE_CODE[EventType.RATING if i % 2 else EventType.VIEW]
                        for i in range(events)
                    ],
                    "value": [float(1 + i % 5) if i % 2 else np.nan for i in range(events)],
                    "timestamp": [NOW_MS - 1000 * i for i in range(events)],
                }
            )
        )
    ids = state.item_ids(names)
    return state, ids[ids >= 0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, st.lists(catalog_items, min_size=1, max_size=8), st.integers(0, 12))
def test_the_evaluator_agrees_with_the_reference(
    expr: Expr, entries: list[CatalogItem], events: int
) -> None:
    state, ids = _world(entries, events)
    found = evaluate(expr, ids, ItemFacts(state, NOW_MS))
    names = state.item_names(ids)
    expected = [
        holds(expr, item_values(name, entry, stats), NOW_MS)
        for name, entry, stats in zip(names, state.get(names), state.item_stats(names), strict=True)
    ]
    assert found.tolist() == expected


@settings(max_examples=300, deadline=None)
@given(expressions)
def test_a_printed_tree_parses_back_to_itself(expr: Expr) -> None:
    assert parse_expression(render(expr)) == expr


def test_the_examples_of_the_language_parse() -> None:
    tree = parse_expression('price < 50 and "outdoor" in categories')
    assert tree == Binary(
        "and",
        Binary("<", Field(("price",)), Literal(50.0)),
        Binary("in", Literal("outdoor"), Field(("categories",))),
    )
    assert parse_expression("created_at > now - 7d") == Binary(
        ">", Field(("created_at",)), Binary("-", Now(), Literal(7 * 86_400_000.0))
    )
    assert parse_rule('pin(3): properties.brand == "acme"').argument == 3.0
    assert parse_rule("boost: tags != []").argument == 2.0


@pytest.mark.parametrize(
    ("text", "position", "says"),
    [
        ("filter: price <", 15, "expected a value"),
        ("filter: price < 50 and", 22, "expected a value"),
        ("filter: prize < 50", 8, "unknown field 'prize'"),
        ("filter: price < 50 )", 19, "expected an operator or the end"),
        ('filter: "open', 8, "unexpected character"),
        ("filter: price ~ 3", 14, "unexpected character '~'"),
        ("promote: price < 5", 0, "unknown action 'promote'"),
        ("pin(0): price < 5", 4, "a pin position is an integer from 1"),
        ("boost(x): price < 5", 6, "must be a number"),
        ("price < 5", 0, "expected ACTION: EXPRESSION"),
        ("filter: properties.a.b == 1", 8, "expected properties.<name>"),
        ("filter: [price]", 9, "a list holds constants only"),
    ],
)
def test_a_malformed_rule_names_its_position(text: str, position: int, says: str) -> None:
    with pytest.raises(RuleError) as raised:
        parse_rule(text)
    assert raised.value.position == position
    assert says in raised.value.reason


def test_compiling_lists_every_malformed_rule() -> None:
    with pytest.raises(InvalidInput) as raised:
        compile_rules(["filter: price < 5", "filter: price <", "bury(2: x"])
    problems = raised.value.problems
    assert [p.index for p in problems] == [1, 2]
    assert "position 15" in problems[0].message

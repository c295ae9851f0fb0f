"""The business-rule expression language: tokens, a parser and the syntax tree.

A rule is ``ACTION[(ARGUMENT)]: EXPRESSION``, for example::

    filter: price < 50 and "outdoor" in categories
    boost(2): created_at > now - 7d
    bury(0.5): properties.brand == "acme"
    pin(1): item_id == "tent"

The expression is parsed into a small tree (:class:`Literal`, :class:`Field`,
:class:`Now`, :class:`Binary`, :class:`Not`, :class:`ListOf`) and never ``eval``'d.
Grammar, loosest first::

    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=" | "in" | "not" "in") sum)?
    sum     := atom (("+" | "-") atom)*
    atom    := NUMBER | DURATION | STRING | "true" | "false" | "null" | "now"
             | FIELD ("." NAME)* | "[" (atom ("," atom)*)? "]" | "(" or ")"

Durations (``7d``, ``12h``, ``30m``, ``45s``, ``500ms``) are milliseconds, like
``now`` and ``created_at``. Fields are those of :data:`FIELDS`; ``properties.<key>``
reads a free catalog property. Every syntax error is a :class:`RuleError` carrying
the 0-based character position it was found at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal as Lit

#: The fields an expression may read, and their type.
FIELDS: dict[str, str] = {
    "item_id": "string",
    "title": "string",
    "categories": "list",
    "tags": "list",
    "price": "number",
    "available": "bool",
    "created_at": "number",
    "popularity": "number",
    "trending": "number",
    "rating_mean": "number",
    "rating_count": "number",
}
#: Fields that read the item's live statistics rather than its catalog entry.
STAT_FIELDS = frozenset({"popularity", "trending", "rating_mean", "rating_count"})

Action = Lit["filter", "boost", "bury", "pin"]
ACTIONS: tuple[Action, ...] = ("filter", "boost", "bury", "pin")
Op = Lit["or", "and", "<", "<=", ">", ">=", "==", "!=", "in", "not in", "+", "-"]
_COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")
_UNITS_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<duration>\d+(?:\.\d+)?(?:ms|s|m|h|d|w)\b)
      | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><=|>=|==|!=|<|>|\+|-|\(|\)|\[|\]|,|\.)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null", "now"}


class RuleError(ValueError):
    """A rule that does not parse: what is wrong and at which character."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.reason = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: a number, a string, a boolean or ``None`` (``null``)."""

    value: float | str | bool | None


@dataclass(frozen=True, slots=True)
class Field:
    """A field of the item: ``path[0]`` is in :data:`FIELDS` or is ``properties``."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Now:
    """The time of the request (epoch milliseconds)."""


@dataclass(frozen=True, slots=True)
class ListOf:
    """A list of constants (``["a", "b"]``)."""

    items: tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class Binary:
    """``left op right``."""

    op: Op
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Not:
    """``not operand``."""

    operand: Expr


Expr = Literal | Field | Now | ListOf | Binary | Not


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    position: int


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """The tokens of ``text`` (an ``end`` token last); error positions are shifted
    by ``offset``."""
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise RuleError(f"unexpected character {text[at]!r}", offset + at)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), at))
        at = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, offset: int) -> None:
        self.tokens = tokenize(text, offset)
        self.at = 0
        self.offset = offset

    def fail(self, message: str, token: Token | None = None) -> RuleError:
        token = token or self.peek()
        found = "the end" if token.kind == "end" else repr(token.text)
        return RuleError(f"{message}, found {found}", self.offset + token.position)

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.at += 1
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        return token.text in words and token.kind in ("name", "op")

    def expect(self, text: str) -> None:
        if not self.word(text):
            raise self.fail(f"expected {text!r}")
        self.take()

    def parse(self) -> Expr:
        expr = self.or_()
        if self.peek().kind != "end":
            raise self.fail("expected an operator or the end")
        return expr

    def or_(self) -> Expr:
        expr = self.and_()
        while self.word("or"):
            self.take()
            expr = Binary("or", expr, self.and_())
        return expr

    def and_(self) -> Expr:
        expr = self.not_()
        while self.word("and"):
            self.take()
            expr = Binary("and", expr, self.not_())
        return expr

    def not_(self) -> Expr:
        if self.word("not"):
            self.take()
            return Not(self.not_())
        return self.compare()

    def compare(self) -> Expr:
        left = self.sum_()
        if self.word(*_COMPARISONS, "in"):
            op = self.take().text
            return Binary(op, left, self.sum_())  # type: ignore[arg-type]
        if self.word("not") and self.peek(1).text == "in":
            self.at += 2
            return Binary("not in", left, self.sum_())
        return left

    def sum_(self) -> Expr:
        expr = self.atom()
        while self.word("+", "-"):
            op = self.take().text
            expr = Binary(op, expr, self.atom())  # type: ignore[arg-type]
        return expr

    def atom(self) -> Expr:
        token = self.peek()
        if token.kind == "number":
            self.take()
            return Literal(float(token.text))
        if token.kind == "duration":
            self.take()
            number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", token.text).groups()  # type: ignore[union-attr]
            return Literal(float(number) * _UNITS_MS[unit])
        if token.kind == "string":
            self.take()
            return Literal(_unquote(token.text))
        if token.kind == "name":
            return self.name()
        if token.text == "(":
            self.take()
            expr = self.or_()
            self.expect(")")
            return expr
        if token.text == "[":
            return self.list_()
        raise self.fail("expected a value, a field or '('")

    def name(self) -> Expr:
        token = self.take()
        constants: dict[str, float | str | bool | None] = {
            "true": True,
            "false": False,
            "null": None,
        }
        if token.text in constants:
            return Literal(constants[token.text])
        if token.text == "now":
            return Now()
        if token.text in _KEYWORDS:
            raise self.fail("expected a value", token)
        path = [token.text]
        while self.word("."):
            self.take()
            part = self.take()
            if part.kind != "name":
                raise self.fail("expected a property name", part)
            path.append(part.text)
        if path[0] == "properties":
            if len(path) != 2:
                raise RuleError("expected properties.<name>", self.offset + token.position)
        elif path[0] not in FIELDS or len(path) > 1:
            known = ", ".join([*FIELDS, "properties.<name>"])
            raise RuleError(
                f"unknown field {'.'.join(path)!r} (known: {known})", self.offset + token.position
            )
        return Field(tuple(path))

    def list_(self) -> Expr:
        self.take()
        items: list[Literal] = []
        while not self.word("]"):
            if items:
                self.expect(",")
            start = self.peek()
            item = self.atom()
            if not isinstance(item, Literal):
                raise RuleError("a list holds constants only", self.offset + start.position)
            items.append(item)
        self.take()
        return ListOf(tuple(items))


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse_expression(text: str, offset: int = 0) -> Expr:
    """The tree of ``text``; error positions are shifted by ``offset``.

    Raises
    ------
    RuleError
        If ``text`` is not an expression of the language.
    """
    return _Parser(text, offset).parse()


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A parsed rule: what it does (with its factor or 1-based position) and when."""

    text: str
    action: Action
    argument: float
    when: Expr


_HEAD = re.compile(r"\s*(?P<action>[a-z]+)\s*(?:\(\s*(?P<arg>[^)]*?)\s*\))?\s*:")


def parse_rule(text: str) -> RuleSpec:
    """The rule ``ACTION[(ARGUMENT)]: EXPRESSION``.

    ``boost`` and ``bury`` multiply the score by their factor (default 2 and 0.5);
    ``pin`` moves the first matching item to its 1-based position (default 1);
    ``filter`` keeps only the items that match.

    Raises
    ------
    RuleError
        If the action, its argument or the expression is malformed.
    """
    head = _HEAD.match(text)
    if head is None:
        raise RuleError(f"expected ACTION: EXPRESSION with an action of {', '.join(ACTIONS)}", 0)
    action = head.group("action")
    if action not in ACTIONS:
        raise RuleError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})", head.start(1))
    raw = head.group("arg")
    default = {"filter": 0.0, "boost": 2.0, "bury": 0.5, "pin": 1.0}[action]
    argument = default
    if raw is not None:
        position = head.start("arg")
        try:
            argument = float(raw)
        except ValueError:
            raise RuleError(f"the argument of {action} must be a number", position) from None
        if action == "filter":
            raise RuleError("filter takes no argument", position)
        if action == "pin" and (argument < 1 or argument != int(argument)):
            raise RuleError("a pin position is an integer from 1", position)
        if action in ("boost", "bury") and not argument >= 0:
            raise RuleError(f"a {action} factor is a number >= 0", position)
    rest = text[head.end() :]
    return RuleSpec(text, action, argument, parse_expression(rest, head.end()))  # type: ignore[arg-type]


def render(expr: Expr) -> str:
    """``expr`` as text that parses back to the same tree (fully parenthesized)."""
    match expr:
        case Literal(value=None):
            return "null"
        case Literal(value=bool() as flag):
            return "true" if flag else "false"
        case Literal(value=str() as text):
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        case Literal(value=value):
            return repr(float(value))  # type: ignore[arg-type]
        case Field(path=path):
            return ".".join(path)
        case Now():
            return "now"
        case ListOf(items=items):
            return "[" + ", ".join(render(i) for i in items) + "]"
        case Not(operand=operand):
            return f"(not {render(operand)})"
        case Binary(op=op, left=left, right=right):
            return f"({render(left)} {op} {render(right)})"
    raise TypeError(f"not an expression: {expr!r}")

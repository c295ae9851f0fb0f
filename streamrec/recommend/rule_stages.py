"""Business rules as post-processing stages.

A rule's expression is evaluated once over the shortlist's candidate arrays
(:func:`streamrec.recommend.rules.evaluate`). ``filter`` keeps the rows that match;
``boost`` and ``bury`` multiply the list score of the matching rows by their factor
and re-order the shortlist (ties keep their order); ``pin`` moves the first matching
row to its 1-based position. Filters run first, then boosts and buries, and pins
after every other shaping stage (see :func:`streamrec.recommend.shaping.stages_for`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from streamrec.errors import InvalidInput, Problem
from streamrec.recommend.rules import evaluate
from streamrec.recommend.rules_lang import RuleError, RuleSpec, parse_rule
from streamrec.recommend.stages import Shortlist


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> RuleSpec:
    return parse_rule(text)


def compile_rules(texts: Sequence[str], field: str = "rules") -> list[RuleSpec]:
    """The rules of ``texts``.

    Raises
    ------
    InvalidInput
        Naming every malformed rule, its index and the position of its error.
    """
    specs: list[RuleSpec] = []
    problems: list[Problem] = []
    for n, text in enumerate(texts):
        try:
            specs.append(_parsed(text))
        except RuleError as exc:
            problems.append(Problem(n, field, str(exc)))
    if problems:
        raise InvalidInput("malformed rules", problems)
    return specs


class RuleStage:
    """One business rule over the shortlist."""

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec
        self.name = f"rule {spec.text}"

    def __call__(self, shortlist: Shortlist) -> np.ndarray:
        """The rows after the rule's action."""
        rows = shortlist.rows
        if not len(rows):
            return rows
        spec = self.spec
        matched = evaluate(spec.when, shortlist.ids(), shortlist.marks.facts)
        if spec.action == "filter":
            return rows[matched]
        if spec.action == "pin":
            if not matched.any():
                return rows
            first = int(np.argmax(matched))
            rest = np.delete(rows, first)
            return np.insert(rest, min(int(spec.argument) - 1, len(rest)), rows[first])
        scores = shortlist.marks.scores
        scores[rows[matched]] *= spec.argument
        return rows[np.argsort(-scores[rows], kind="stable")]

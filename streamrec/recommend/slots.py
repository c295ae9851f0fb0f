"""Reserved slots: promotions, editorial picks, new arrivals and exploration.

Each kind of slot brings its own pool into the candidate set as a column of weight 0
(so it changes no blended score): the popular items for promotions, the editorial
list, the newest catalog items, the long tail of the popular ranking. The
:class:`ReservedSlots` stage then fills, in this order:

- ``promoted``: ``round(promoted_share * k)`` slots (at least one when the share is
  above 0) with the best-scored eligible items that ``promoted_when`` selects;
- ``editorial pick``: the first ``editorial`` eligible items of the editorial list;
- ``new arrival``: ``new_arrivals`` slots with items created in the window, ranked by
  how many categories and tags they share with the user's recent items (then the
  newest first), so an item with no events yet is shown;
- ``exploration``: with probability ``exploration_epsilon``, one item drawn uniformly
  from the eligible long tail; its propensity (``epsilon / eligible``) is on the list.

Eligible means not banned, available and in the requested category, and not already
in a slot. The slots take the last places of the first page (the organic items
before them keep their order); every other item follows, for the next pages.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from streamrec.recommend.candidates import Column
from streamrec.recommend.rules import evaluate
from streamrec.recommend.rules_lang import Expr, parse_expression
from streamrec.recommend.shaping_settings import SlotSettings
from streamrec.recommend.stages import Marks, Shortlist, not_banned
from streamrec.state.base import DenseReads, Ranking

PROMOTED, EDITORIAL, NEW, EXPLORE = "promoted", "editorial", "new arrivals", "exploration"


class EditorialList:
    """The editorial picks, in order (set through the admin endpoint; held in this
    process)."""

    def __init__(self) -> None:
        self._items: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def set(self, items: Sequence[str]) -> None:
        """Replace the list."""
        with self._lock:
            self._items = tuple(dict.fromkeys(items))

    def items(self) -> tuple[str, ...]:
        """The list now."""
        return self._items


def slot_columns(
    state: DenseReads,
    slots: SlotSettings,
    editorial: EditorialList,
    now_ms: int,
    pool: int,
    category: str | None,
) -> list[Column]:
    """The pools of the slots in use, each a column of weight 0."""
    columns: list[Column] = []
    if slots.promoted_share > 0 and slots.promoted_when is not None:
        ids, scores = state.top_rows(Ranking.POPULAR, pool, category)
        columns.append(Column(PROMOTED, 0.0, ids, scores))
    if slots.editorial and editorial.items():
        ids = state.item_ids(editorial.items())
        known = ids >= 0
        columns.append(Column(EDITORIAL, 0.0, ids[known], _descending(int(known.sum()))))
    if slots.new_arrivals:
        since = now_ms - int(slots.new_arrival_window_s * 1000)
        ids = state.newest_rows(since, pool)
        columns.append(Column(NEW, 0.0, ids, _descending(len(ids))))
    if slots.exploration_epsilon > 0:
        ids, scores = state.top_rows(
            Ranking.POPULAR, slots.exploration_head + slots.exploration_tail, category
        )
        tail = slice(slots.exploration_head, None)
        columns.append(Column(EXPLORE, 0.0, ids[tail], scores[tail]))
    return columns


def _descending(n: int) -> np.ndarray:
    """Scores above 0 that keep a list's order."""
    return 1.0 / (1.0 + np.arange(n, dtype=np.float64))


class ReservedSlots:
    """Fills the reserved slots of the first page (see the module docstring)."""

    name = "slots"

    def __init__(self, slots: SlotSettings, rng: np.random.Generator | None = None) -> None:
        self.slots = slots
        self.promoted_when: Expr | None = (
            None if slots.promoted_when is None else parse_expression(slots.promoted_when)
        )
        self.rng = rng or np.random.default_rng()

    def __call__(self, shortlist: Shortlist) -> np.ndarray:
        """The rows with the slot items in the last places of the first page."""
        k, slots = shortlist.request.k, self.slots
        picks: list[int] = []
        marks = shortlist.marks
        promoted = self._pool(shortlist, PROMOTED, picks)
        if len(promoted) and self.promoted_when is not None:
            ids = shortlist.scored.candidates.ids[promoted]
            promoted = promoted[evaluate(self.promoted_when, ids, marks.facts)]
            best = promoted[np.argsort(-marks.scores[promoted], kind="stable")]
            self._take(picks, best, max(1, round(slots.promoted_share * k)), "promoted", marks)
        editorial = self._pool(shortlist, EDITORIAL, picks)
        self._take(picks, editorial, slots.editorial, "editorial pick", marks)
        self._take(picks, self._new(shortlist, picks), slots.new_arrivals, "new arrival", marks)
        explore = self._pool(shortlist, EXPLORE, picks)
        if len(explore) and self.rng.random() < slots.exploration_epsilon:
            row = int(explore[self.rng.integers(len(explore))])
            marks.propensities[row] = slots.exploration_epsilon / len(explore)
            self._take(picks, np.array([row]), 1, "exploration", marks)
        if not picks:
            return shortlist.rows
        picked = np.array(picks[:k], np.int64)
        organic = shortlist.rows[~np.isin(shortlist.rows, picked)]
        first = k - len(picked)
        return np.concatenate([organic[:first], picked, organic[first:]])

    def _pool(self, shortlist: Shortlist, column: str, picks: list[int]) -> np.ndarray:
        """The eligible rows a slot column proposed, best first in that column."""
        sources = shortlist.scored.candidates.sources
        if column not in sources:
            return np.empty(0, np.int64)
        raw = shortlist.scored.candidates.raw[:, sources.index(column)]
        rows = np.flatnonzero(raw > 0)
        rows = rows[np.argsort(-raw[rows], kind="stable")]
        return _eligible(shortlist, rows[~np.isin(rows, picks)])

    def _new(self, shortlist: Shortlist, picks: list[int]) -> np.ndarray:
        """New arrivals ranked by the labels they share with the user's recent items."""
        rows = self._pool(shortlist, NEW, picks)
        user = shortlist.marks.user
        if not len(rows) or user is None or not len(user.recent_items):
            return rows
        facts = shortlist.marks.facts
        liked: set[str] = set()
        for entry in facts.entries(user.recent_items[:20]):
            if entry is not None:
                liked.update([*entry.categories, *("#" + t for t in entry.tags)])
        shared = [
            0 if e is None else len(liked & {*e.categories, *("#" + t for t in e.tags)})
            for e in facts.entries(shortlist.scored.candidates.ids[rows])
        ]
        return rows[np.argsort(-np.array(shared), kind="stable")]

    @staticmethod
    def _take(picks: list[int], rows: np.ndarray, n: int, reason: str, marks: Marks) -> None:
        for row in rows[: max(n, 0)].tolist():
            picks.append(row)
            marks.reasons[row] = reason


def _eligible(shortlist: Shortlist, rows: np.ndarray) -> np.ndarray:
    """The rows that are not banned, are available and are in the requested category."""
    if not len(rows):
        return rows
    ids = shortlist.scored.candidates.ids[rows]
    keep = shortlist.state.available_rows(ids) & not_banned(shortlist.banned, ids)
    category = shortlist.request.category
    if category is not None:
        keep &= shortlist.state.in_category(ids, category)
    return rows[keep]


def slots_in_use(slots: SlotSettings) -> bool:
    """Whether any reserved slot is configured."""
    promoted = slots.promoted_share > 0 and slots.promoted_when is not None
    return promoted or bool(slots.editorial or slots.new_arrivals) or slots.exploration_epsilon > 0

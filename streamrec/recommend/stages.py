"""Stages two to four: features, the score, and the post-processing of the ranked list.

Every stage works on arrays indexed by candidate row (a position in the request's
:class:`~streamrec.recommend.candidates.CandidateSet`):

- :func:`features` adds what the score needs besides the sources' scores (today:
  whether the candidate lists the category of the user's session);
- a :class:`ScoreStage` turns features into one score per candidate and the share of
  each part (:class:`LinearBlend` today; a learned ranker is another score stage);
- the :class:`ListStage` steps of post-processing each take the list of candidate
  rows and return the rows to pass on: exclusion, the ranked cut, filters, and later
  list shaping. The recommender runs them in order and keeps the first ``k`` rows.

Lists are cut in the order of :mod:`streamrec.processing.order` (score relative to
the best, then item id), so every state gives the same lists for the same events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from streamrec.processing.order import best_first
from streamrec.recommend.candidates import CandidateSet
from streamrec.recommend.kernels import blend
from streamrec.recommend.request import Request
from streamrec.recommend.rules import ItemFacts
from streamrec.state.base import DenseReads, UserArrays


@dataclass(frozen=True, slots=True)
class Features:
    """What a score stage reads per candidate: the candidate set (each source's raw and
    normalized score) and whether the candidate lists the session's category
    (``None`` when the user has no session category)."""

    candidates: CandidateSet
    session_match: np.ndarray | None


def features(candidates: CandidateSet, user: UserArrays | None, state: DenseReads) -> Features:
    """The features of ``candidates`` for ``user``."""
    category = user.session_category if user is not None else None
    if category is None:
        return Features(candidates, None)
    return Features(candidates, state.in_category(candidates.ids, category))


@dataclass(frozen=True, slots=True)
class Scored:
    """Candidates with their score and the share of each part in it.

    Attributes
    ----------
    total
        ``(n,)`` the score of each candidate.
    parts, present
        ``(n, p)`` each part's share and whether the part contributed; parts are the
        candidate set's sources, then any score-stage terms (the session boost).
    part_names
        The name of each part.
    """

    candidates: CandidateSet
    total: np.ndarray
    parts: np.ndarray
    present: np.ndarray
    part_names: tuple[str, ...]


class ScoreStage(Protocol):
    """Scores every candidate from its features."""

    def __call__(self, features: Features) -> Scored:
        """The scored candidates."""
        ...


class LinearBlend:
    """Each source's score normalized to its best one and weighted, summed, plus
    ``session_boost`` for candidates in the category of the user's session.

    A source's share of a candidate is ``raw * (weight / top)``, the sum runs over
    the sources in column order, and the session boost comes last, so the scores are
    the same floating-point numbers whichever state the candidates came from.
    """

    def __init__(self, session_boost: float) -> None:
        self.session_boost = session_boost

    def __call__(self, features: Features) -> Scored:
        """The blended scores."""
        candidates = features.candidates
        top = candidates.top
        scale = np.divide(candidates.weights, top, out=np.zeros_like(top), where=top > 0)
        matched = features.session_match
        total, parts, present = blend(
            candidates.raw,
            scale,
            np.zeros(len(candidates), np.bool_) if matched is None else matched,
            self.session_boost,
        )
        return Scored(candidates, total, parts, present, (*candidates.sources, "session"))


@dataclass(frozen=True, slots=True)
class Banned:
    """Items a request must never return: their state ids (ascending), and how many
    distinct names they are (with the excluded names the state does not know)."""

    ids: np.ndarray
    count: int

    @staticmethod
    def of(request: Request, user: UserArrays | None, state: DenseReads) -> Banned:
        """The request's exclusions, and the user's disliked and carted items (and
        seen and recent ones with ``exclude_seen``)."""
        names = list(dict.fromkeys(request.exclude))
        known = state.item_ids(names) if names else np.empty(0, np.int64)
        parts = [known[known >= 0]]
        if user is not None:
            parts += [user.negative, user.cart]
            if request.exclude_seen:
                parts += [user.seen, user.recent_items]
        ids = np.unique(np.concatenate(parts))
        return Banned(ids, len(ids) + int((known < 0).sum()))


@dataclass(slots=True)
class Marks:
    """What post-processing changes besides the rows, shared by every stage of one
    request.

    Attributes
    ----------
    scores
        ``(n,)`` the list score of each candidate row (the blended score, times any
        rule's boost or bury factor); the final list reports it.
    facts
        Catalog entries and statistics of candidates, fetched once.
    reasons
        Rows placed by a stage for a reason of its own (``promoted``, …), which
        replaces the source's reason.
    propensities
        Rows drawn at random, with the probability they had of being drawn.
    """

    scores: np.ndarray
    facts: ItemFacts
    reasons: dict[int, str] = field(default_factory=dict)
    propensities: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Shortlist:
    """What a post-processing stage sees: the request, the scored candidates, what
    is banned, the state to read, the candidate rows still in the list and the
    request's :class:`Marks`."""

    request: Request
    scored: Scored
    banned: Banned
    state: DenseReads
    rows: np.ndarray
    marks: Marks

    def ids(self) -> np.ndarray:
        """The state item ids of :attr:`rows`."""
        return self.scored.candidates.ids[self.rows]


class ListStage(Protocol):
    """One post-processing step: the shortlist in, the candidate rows to keep out.

    Stages run in the order of :attr:`Recommender.stages
    <streamrec.recommend.recommender.Recommender.stages>`; before :class:`RankCut`
    the rows are in no particular order, after it best first. A stage may drop rows,
    reorder them, or bring rows back from the candidate set. A per-category cap, for
    example, reads the categories of ``shortlist.ids()`` and keeps at most ``n`` rows
    of each in order; a rule that pins an item moves (or adds) its row to the front.
    Either is one class with a ``name`` and this method, added to the list after
    :class:`RankCut`.
    """

    name: str

    def __call__(self, shortlist: Shortlist) -> np.ndarray:
        """The rows that go on."""
        ...


class ExcludeBanned:
    """Drops banned items (seen, disliked, carted, excluded)."""

    name = "excluded"

    def __call__(self, shortlist: Shortlist) -> np.ndarray:
        """Rows whose item is not banned."""
        banned = shortlist.banned.ids  # ascending
        if not len(banned):
            return shortlist.rows
        ids = shortlist.ids()
        at = np.minimum(np.searchsorted(banned, ids), len(banned) - 1)
        return shortlist.rows[banned[at] != ids]


class RankCut:
    """Orders the rows best first and keeps the first ``max(4 k, k + |banned|)``: the
    window the filters after it read, so a filter reads a few dozen items, not every
    candidate."""

    name = "ranked"

    def __call__(self, shortlist: Shortlist) -> np.ndarray:
        """The best rows, in order."""
        k = shortlist.request.k
        ids = shortlist.ids()
        first = best_first(
            shortlist.marks.scores[shortlist.rows],
            max(4 * k, k + shortlist.banned.count),
            lambda rows: shortlist.state.item_names(ids[rows]),
        )
        return shortlist.rows[first]


class AvailableOnly:
    """Drops items the catalog marks unavailable."""

    name = "unavailable"

    def __call__(self, shortlist: Shortlist) -> np.ndarray:
        """Rows whose item may be recommended."""
        return shortlist.rows[shortlist.state.available_rows(shortlist.ids())]


class InCategory:
    """With the request's ``category``, drops items whose catalog entry does not list
    it."""

    name = "category"

    def __call__(self, shortlist: Shortlist) -> np.ndarray:
        """Rows in the requested category (all rows without one)."""
        category = shortlist.request.category
        if category is None:
            return shortlist.rows
        return shortlist.rows[shortlist.state.in_category(shortlist.ids(), category)]

"""Why-not: what happened to one item on its way to a user's list.

:func:`explain` builds the list exactly as serving does
(:meth:`Recommender.shortlist <streamrec.recommend.recommender.Recommender.shortlist>`,
the same stages) with a trace of the rows each stage kept, and reads the item's fate
from it:

- ``never_candidate``: no source proposed it; ``sources`` names those that would
  have, had they been asked for :data:`DEEP` times as many candidates, with the rank
  it would have had (an unavailable item, which sources never propose, is
  ``filtered`` by ``unavailable``);
- ``filtered``: a stage dropped it; ``by`` is ``excluded``, ``seen``, ``disliked``,
  ``in_cart``, ``unavailable``, ``category`` or ``rule <text>``;
- ``demoted``: a stage moved it from the first ``k`` places to below them, or capped
  it away (``diversity``, a ``bury`` rule, a reserved slot);
- ``below_cut``: it ranked below the ``k``-th item (``score``, ``rank`` and
  ``kth_score`` say by how much);
- ``served``: it is on the list, at ``rank``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from streamrec.recommend.recommender import Recommender
from streamrec.recommend.request import Request
from streamrec.state.base import Ranking, UserArrays

#: How many times the usual pool a source is asked for, to tell whether it could
#: have proposed a never-candidate.
DEEP = 10


@dataclass(frozen=True, slots=True)
class Explanation:
    """The fate of one item in one user's list (see the module docstring)."""

    item_id: str
    stage: str
    by: str | None = None
    rank: int | None = None
    score: float | None = None
    kth_score: float | None = None
    k: int = 0
    sources: dict[str, int | None] = field(default_factory=dict)


def explain(recommender: Recommender, request: Request, item_id: str) -> Explanation:
    """What happened to ``item_id`` in the list of ``request``.

    Raises
    ------
    InvalidInput
        If a rule of the request is malformed.
    """
    shaping, stages = recommender.plan(request)
    trace: list[tuple[str, np.ndarray]] = []
    held = recommender.shortlist(request, shaping, stages, trace)
    state, k = recommender.state, request.k
    (item,) = state.item_ids([item_id]).tolist()
    ids = held.scored.candidates.ids
    at = int(np.searchsorted(ids, item))
    user = state.user_arrays(request.user_id) if request.user_id is not None else None
    if item < 0 or at >= len(ids) or ids[at] != item:
        if item >= 0 and not state.available_rows(np.array([item], np.int64))[0]:
            return Explanation(item_id, "filtered", by="unavailable", k=k)
        return Explanation(
            item_id,
            "never_candidate",
            k=k,
            sources=_could_propose(recommender, request, user, item, held.seeds.ids),
        )
    scores = held.marks.scores
    proposed = held.scored.candidates.sources
    by_source: dict[str, int | None] = {
        proposed[j]: None for j in np.flatnonzero(held.scored.candidates.raw[at] > 0).tolist()
    }
    kth = float(scores[held.rows[k - 1]]) if len(held.rows) >= k else None
    base = Explanation(
        item_id, "served", score=round(float(scores[at]), 6), kth_score=kth, k=k, sources=by_source
    )
    before, position = np.arange(len(ids)), at
    for name, kept in trace:
        now = _position(kept, at)
        if now is None:
            if name == "ranked":
                return _below(base, before, scores, at)
            if name == "excluded":
                return replace(base, stage="filtered", by=_banned_why(request, user, item, item_id))
            stage = "demoted" if name in ("diversity", "slots") else "filtered"
            return replace(base, stage=stage, by=name)
        if name not in ("excluded", "ranked") and position < k <= now:
            return replace(base, stage="demoted", by=name, rank=now + 1)
        before, position = kept, now
    if position < k:
        return replace(base, rank=position + 1)
    return replace(base, stage="below_cut", rank=position + 1)


def _position(rows: np.ndarray, row: int) -> int | None:
    found = np.flatnonzero(rows == row)
    return int(found[0]) if len(found) else None


def _below(base: Explanation, ranked: np.ndarray, scores: np.ndarray, row: int) -> Explanation:
    """Cut by the ranked window: its rank among every candidate left after exclusion."""
    rank = int((scores[ranked] > scores[row]).sum()) + 1
    return replace(base, stage="below_cut", by="ranked", rank=rank)


def _banned_why(request: Request, user: UserArrays | None, item: int, name: str) -> str:
    if name in request.exclude:
        return "excluded"
    if user is not None:
        if item in user.negative:
            return "disliked"
        if item in user.cart:
            return "in_cart"
        if item in user.seen or item in user.recent_items:
            return "seen"
    return "excluded"


def _could_propose(
    recommender: Recommender,
    request: Request,
    user: UserArrays | None,
    item: int,
    seeds: np.ndarray,
) -> dict[str, int | None]:
    """The sources that would propose ``item`` from a pool :data:`DEEP` times the
    usual, with the rank it would have had in each."""
    if item < 0:
        return {}
    pool = DEEP * recommender.settings.candidates_per_source
    state = recommender.state
    found: dict[str, int | None] = {}
    ranks = [_rank_in(ids, scores, item) for ids, scores in state.neighbor_rows(seeds, pool)]
    best = min((r for r in ranks if r is not None), default=None)
    if best is not None:
        found["cooccurrence"] = best
    for source in recommender.sources():
        rows = source.candidates(user, pool, recommender.ids)
        rank = _rank_in(rows.ids, rows.scores, item)
        if rank is not None:
            found[source.name] = rank
    popular, scores = state.top_rows(Ranking.POPULAR, pool, request.category)
    rank = _rank_in(popular, scores, item)
    if rank is not None:
        found["popularity"] = rank
    return found


def _rank_in(ids: np.ndarray, scores: np.ndarray, item: int) -> int | None:
    """The 1-based rank of ``item`` by score among ``ids`` (``None`` if absent)."""
    at = np.flatnonzero(ids == item)
    if not len(at):
        return None
    return int((scores > scores[at[0]]).sum()) + 1

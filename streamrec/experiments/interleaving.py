"""Team-draft interleaving (Radlinski, Kurup and Joachims, 2008).

Two rankers' lists are merged into one: in every round the team with fewer picks
(a fair coin when even) takes its best item not yet in the list, so each slot
belongs to the team that placed it. A click credits its slot's team; a list
whose clicks favour one team is a win for it, equal clicks a tie. Whether one
ranker wins more often is an exact binomial test of wins against losses, which
needs far fewer users than an A/B test of CTR, since every user compares both
rankers on the same list.

:func:`outcome_change` keeps the win counters incremental: it says which
counters one more click of a team moves.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

#: The counter of interleaved lists with clicks but no winner.
TIES = "ties"


def wins_counter(team: str) -> str:
    """The counter of lists ``team`` won."""
    return f"wins:{team}"


def team_draft(
    a: Sequence[str], b: Sequence[str], names: tuple[str, str], k: int, rng: random.Random
) -> tuple[list[str], list[str]]:
    """The interleaved top ``k`` of lists ``a`` and ``b``, and the team of each slot."""
    merged: list[str] = []
    teams: list[str] = []
    taken: set[str] = set()
    picks = [0, 0]
    cursors = [0, 0]
    lists = (a, b)
    while len(merged) < k:
        if picks[0] != picks[1]:
            order = [0, 1] if picks[0] < picks[1] else [1, 0]
        else:
            order = [0, 1] if rng.random() < 0.5 else [1, 0]
        placed = False
        for team in order:
            source = lists[team]
            while cursors[team] < len(source) and source[cursors[team]] in taken:
                cursors[team] += 1
            if cursors[team] < len(source):
                item = source[cursors[team]]
                merged.append(item)
                teams.append(names[team])
                taken.add(item)
                picks[team] += 1
                placed = True
                break
        if not placed:
            break
    return merged, teams


def _winner(clicks: Mapping[str, int]) -> str | None:
    ranked = sorted(clicks.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] == 0:
        return None
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return TIES
    return wins_counter(ranked[0][0])


def outcome_change(clicks: Mapping[str, int], team: str) -> list[tuple[str, float]]:
    """How the outcome counters move when a list with ``clicks`` per team gets one
    more click for ``team`` (``clicks`` holds the counts before it)."""
    before = _winner(clicks)
    after_clicks = dict(clicks)
    after_clicks[team] = after_clicks.get(team, 0) + 1
    after = _winner(after_clicks)
    if before == after:
        return []
    changes: list[tuple[str, float]] = []
    if before is not None:
        changes.append((before, -1.0))
    if after is not None:
        changes.append((after, 1.0))
    return changes

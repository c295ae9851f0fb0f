"""The report of a running engine: its attribution counters and live guardrails."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streamrec.experiments.attributor import Attributor
from streamrec.experiments.definition import INTERLEAVED
from streamrec.experiments.guardrails import guardrails
from streamrec.experiments.report import experiment_report
from streamrec.experiments.service import Experiments
from streamrec.experiments.tallies import Tallies
from streamrec.state.base import Ranking, ServingState

#: Enough to count every item with activity when measuring coverage.
ALL_ITEMS = 10_000_000


def live_report(
    experiments: Experiments,
    attributor: Attributor | None,
    state: ServingState,
    total_events: int,
    experiment_id: str,
) -> dict[str, Any]:
    """The report of ``experiment_id`` (its served lists applied first).

    Raises
    ------
    NotFound
        If there is no such experiment.
    """
    experiment = experiments.get(experiment_id)
    if attributor is not None:
        attributor.sync_served()
        tallies = attributor.store.tallies(experiment_id)
    else:
        tallies = Tallies()
    active, _ = state.top_rows(Ranking.POPULAR, ALL_ITEMS)

    def categories(items: Sequence[str]) -> list[str | None]:
        return [m.categories[0] if m and m.categories else None for m in state.get(items)]

    def counts(items: Sequence[str]) -> list[int]:
        return [sum(s.counts.values()) if s else 0 for s in state.item_stats(items)]

    names = [v.name for v in experiment.variants]
    windows = [INTERLEAVED] * len(names) if experiment.mode == "interleaving" else names
    figures = {
        name: guardrails(
            experiments.guardrails.lists(experiment_id, window),
            len(active),
            categories,
            counts,
            total_events,
        )
        for name, window in zip(names, windows, strict=True)
    }
    return experiment_report(experiment, tallies, figures, experiments.settings.experiments)

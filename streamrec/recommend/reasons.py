"""The last stage: names, rounded scores, reasons and breakdowns of the final items.

Only here do strings appear: item names, seed titles and reason texts are built for
the ``k`` returned items and nothing else. Each item's reason is that of its largest
source share (the first source on ties): the seed it came from for a seeded source
("because you viewed X"), else the source's own reason.
"""

from __future__ import annotations

import numpy as np

from streamrec.recommend.candidates import Seeds
from streamrec.recommend.stages import Scored
from streamrec.recommend.types import RecommendedItem
from streamrec.state.base import Catalog, ItemNames


def render(
    scored: Scored, rows: np.ndarray, seeds: Seeds, names: ItemNames, catalog: Catalog
) -> list[RecommendedItem]:
    """The items of candidate ``rows``, in that order."""
    if not len(rows):
        return []
    candidates = scored.candidates
    columns = np.argmax(scored.parts[rows, : len(candidates.sources)], axis=1)
    seed_of = candidates.seeds[rows, columns]
    texts = _seed_reasons(seeds, np.unique(seed_of[seed_of >= 0]), names, catalog)
    items = []
    for item, total, parts, present, column, seed in zip(
        names.item_names(candidates.ids[rows]),
        scored.total[rows].tolist(),
        scored.parts[rows].tolist(),
        scored.present[rows].tolist(),
        columns.tolist(),
        seed_of.tolist(),
        strict=True,
    ):
        items.append(
            RecommendedItem(
                item_id=item,
                score=round(total, 6),
                reasons=[texts[seed] if seed >= 0 else candidates.reasons[column]],
                sources={
                    name: round(share, 6)
                    for name, share, used in zip(scored.part_names, parts, present, strict=True)
                    if used
                },
            )
        )
    return items


def _seed_reasons(
    seeds: Seeds, used: np.ndarray, names: ItemNames, catalog: Catalog
) -> dict[int, str]:
    """The reason text of each seed in ``used``: its prefix and its title."""
    wanted = used.tolist()
    unnamed = [s for s in wanted if seeds.names[s] is None]
    looked_up = dict(zip(unnamed, names.item_names(seeds.ids[unnamed]), strict=True))
    seed_names = [seeds.names[s] or looked_up[s] for s in wanted]
    entries = catalog.get(seed_names)
    return {
        seed: seeds.prefixes[seed] + (entry.title if entry is not None and entry.title else name)
        for seed, name, entry in zip(wanted, seed_names, entries, strict=True)
    }

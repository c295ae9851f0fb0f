"""The last stage: names, rounded scores, reasons and breakdowns of the final items.

Only here do strings appear: item names, seed titles and reason texts are built for
the ``k`` returned items and nothing else. Each item's reason is that of its largest
source share (the first source on ties): the seed it came from for a seeded source
("because you viewed X"), else the source's own reason, unless a shaping stage placed
the item for a reason of its own (``promoted``). The score is the list score (after
any rule's boost or bury).
"""

from __future__ import annotations

import numpy as np

from streamrec.recommend.candidates import Seeds
from streamrec.recommend.stages import Marks, Scored
from streamrec.recommend.types import RecommendedItem
from streamrec.state.base import Catalog, ItemNames


def render(
    scored: Scored,
    marks: Marks,
    rows: np.ndarray,
    seeds: Seeds,
    names: ItemNames,
    catalog: Catalog,
) -> list[RecommendedItem]:
    """The items of candidate ``rows``, in that order."""
    if not len(rows):
        return []
    candidates = scored.candidates
    columns = np.argmax(scored.parts[rows, : len(candidates.sources)], axis=1)
    seed_of = candidates.seeds[rows, columns].tolist()
    texts = _seed_reasons(seeds, sorted({s for s in seed_of if s >= 0}), names, catalog)
    part_names = scored.part_names
    return [
        RecommendedItem(
            item_id=item,
            score=round(total, 6),
            reasons=[
                marks.reasons.get(row) or (texts[seed] if seed >= 0 else candidates.reasons[column])
            ],
            sources={
                part_names[j]: round(share, 6)
                for j, (share, used) in enumerate(zip(parts, present, strict=True))
                if used
            },
            propensity=marks.propensities.get(row),
        )
        for row, item, total, parts, present, column, seed in zip(
            rows.tolist(),
            names.item_names(candidates.ids[rows]),
            marks.scores[rows].tolist(),
            scored.parts[rows].tolist(),
            scored.present[rows].tolist(),
            columns.tolist(),
            seed_of,
            strict=True,
        )
    ]


def _seed_reasons(
    seeds: Seeds, used: list[int], names: ItemNames, catalog: Catalog
) -> dict[int, str]:
    """The reason text of each seed in ``used``: its prefix and its title."""
    if not used:
        return {}
    unnamed = [s for s in used if seeds.names[s] is None]
    looked_up = dict(zip(unnamed, names.item_names(seeds.ids[unnamed]), strict=True))
    seed_names = [seeds.names[s] or looked_up[s] for s in used]
    entries = catalog.get(seed_names)
    return {
        seed: seeds.prefixes[seed] + (entry.title if entry is not None and entry.title else name)
        for seed, name, entry in zip(used, seed_names, entries, strict=True)
    }

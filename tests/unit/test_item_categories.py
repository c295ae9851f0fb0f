"""Category membership over dense ids: every category of an item, not just the first."""

from __future__ import annotations

import numpy as np

from streamrec.state.categories import ItemCategories


def test_membership_covers_every_category_and_follows_replacements() -> None:
    table = ItemCategories()
    table.set(np.array([3, -1, 0]), [["tents", "camping"], ["ignored"], ["camping"]])
    ids = np.array([0, 1, 3, 7, -1])
    assert table.contains(ids, "camping").tolist() == [True, False, True, False, False]
    assert table.contains(ids, "tents").tolist() == [False, False, True, False, False]
    assert not table.contains(ids, "ignored").any()
    table.set(np.array([3, 9]), [["stoves"], ["a", "b", "c", "camping"]])
    assert table.contains(np.array([3, 9]), "camping").tolist() == [False, True]
    assert table.contains(np.array([3]), "stoves").tolist() == [True]

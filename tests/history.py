"""Embedded data directories filled with synthetic history, for tests that train on it."""

from __future__ import annotations

from pathlib import Path

from streamrec.bootstrap import embedded_engine
from streamrec.config import Settings
from streamrec.datasets import SyntheticShop


def fill_history(
    data_dir: Path,
    shop: SyntheticShop,
    n_events: int,
    chunk_size: int,
    *,
    catalog: bool = True,
) -> None:
    """Write ``shop``'s first ``n_events`` through an embedded engine on ``data_dir``.

    Each chunk is acknowledged once applied; with ``catalog`` the shop's items are
    written first. The engine is closed afterwards, so a server or trainer can open
    the directory.
    """
    engine = embedded_engine(Settings(data_dir=data_dir))
    try:
        if catalog:
            engine.upsert_items(shop.catalog())
        for batch in shop.events(n_events, chunk_size=chunk_size):
            engine.ingest(batch, wait=True)
    finally:
        engine.close()

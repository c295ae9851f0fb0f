"""`streamrec migrate` creates the PostgreSQL history schema; training reads from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.cli import main
from streamrec.datasets import SyntheticShop
from streamrec.history.postgres import PostgresHistory
from streamrec.models.store import ModelStore

pytestmark = pytest.mark.integration


def test_migrate_then_train_from_postgres(postgres_url: str, tmp_path: Path) -> None:
    assert main(["migrate", "--history", postgres_url]) == 0
    assert main(["migrate", "--history", postgres_url]) == 0  # idempotent
    history = PostgresHistory.connect(postgres_url)
    try:
        for batch in SyntheticShop(n_users=200, n_items=80, n_categories=4, seed=5).events(5_000):
            history.write(batch)
    finally:
        history.close()
    assert main(["train", "--history", postgres_url, "--data-dir", str(tmp_path)]) == 0
    assert ModelStore(tmp_path / "models").latest_version() is not None

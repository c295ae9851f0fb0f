"""Fixtures shared by every test."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of public datasets beside the project (never copied into it)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"datasets folder {SHARED_DATA} is missing")
    return SHARED_DATA

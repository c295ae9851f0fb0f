"""A real ``streamrec serve`` for the client tests, started once per session.

It runs as a subprocess on a free loopback port over an embedded data directory;
tests share it, so each one uses its own user, item and category ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import serving


@pytest.fixture(scope="session")
def streamrec_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running ``streamrec serve``."""
    root: Path = tmp_path_factory.mktemp("streamrec-serve")
    with serving(root) as url:
        yield url

"""``streamrec demo`` streams a synthetic shop through the client and shows live lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.config import Settings
from streamrec.demo import run_demo
from streamrec.testing.process import free_port

pytestmark = pytest.mark.slow


def test_demo_prints_what_watched_shoppers_are_recommended_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path, serving={"port": free_port()})
    run_demo(settings, events_per_second=300, duration_s=3, watch=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("streamrec demo: API at http://127.0.0.1:")
    shown = [line for line in lines if " recently [" in line]
    assert len(shown) >= 2
    assert all(" -> " in line and "(" in line.split(" -> ")[1] for line in shown)
    assert any(line.endswith(" events") for line in lines)

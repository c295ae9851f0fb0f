"""``streamrec demo --experiment`` and ``streamrec experiments report``: the table and plots."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.cli import main
from streamrec.config import Settings
from streamrec.experiments.demo import run_experiment_demo
from streamrec.experiments.plots import report_plots
from streamrec.testing.process import free_port


def test_the_demo_prints_the_table_and_the_report_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path / "data", serving={"port": free_port()})
    report = run_experiment_demo(settings, users=300, seed=5)
    printed = capsys.readouterr().out
    for word in ("popularity", "hybrid", "CTR 95% CI", "lift 95% CI", "mSPRT p", "p99 ms"):
        assert word in printed
    rows = {row["name"]: row for row in report["variants"]}
    assert rows["popularity"]["users"] + rows["hybrid"]["users"] == 300
    assert f"{rows['hybrid']['ctr']:.4f}" in printed
    paths = report_plots(report, tmp_path / "plots")
    assert [p.name for p in paths] == ["demo-ab-ctr.png", "demo-ab-lift.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_the_report_command_says_when_the_server_is_away(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["experiments", "report", "x", "--url", url]) == 2
    assert "cannot reach" in capsys.readouterr().err

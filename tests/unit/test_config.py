"""Settings: defaults, the example file, env overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.config import load_settings
from streamrec.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "streamrec.example.toml"


def test_example_file_parses_and_sets_values() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.cooccurrence.window == 50
    assert settings.weights.purchase == 8.0
    assert settings.archive.buffer_events == 200_000
    assert settings.archive.backoff_max_s == 30.0
    assert settings.drift.block_events == 10_000 and settings.drift.window_blocks == 10
    assert settings.metrics.port is None and settings.metrics.host == "127.0.0.1"
    assert settings.experiments.attribution_window_s == 1800
    assert settings.experiments.served_max_lists == 1_000_000


def test_env_beats_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMREC_COOCCURRENCE__WINDOW", "7")
    assert load_settings(EXAMPLE).cooccurrence.window == 7


def test_bad_values_raise_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[decay]\ntrending_short_half_life_s = 10\ntrending_long_half_life_s = 5\n")
    with pytest.raises(ConfigError, match="trending_short"):
        load_settings(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("[decay\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path / "broken.toml")


def test_archive_backoff_cap_is_not_below_its_base() -> None:
    with pytest.raises(ConfigError, match="backoff_max_s"):
        load_settings(archive={"backoff_base_s": 5.0, "backoff_max_s": 1.0})


def test_a_malformed_rule_in_the_settings_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="rule 0: .*position 15"):
        load_settings(recommend={"shaping": {"rules": ["filter: price <"]}})

"""streamrec train chooses on validation, gates, and publishes the serving blend it chose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from streamrec.bootstrap import embedded_engine, open_history
from streamrec.cli import main
from streamrec.config import Settings
from streamrec.datasets import SyntheticShop
from streamrec.engine import Engine
from streamrec.events import Event, EventBatch
from streamrec.models.settings import ModelSettings
from streamrec.models.store import ModelStore
from streamrec.models.trainer import train_models
from streamrec.serving.app import create_app
from tests.history import fill_history

pytestmark = pytest.mark.slow

SHOP = SyntheticShop(n_users=300, n_items=120, n_categories=6, seed=3)
#: Keep the search short: these tests check what it publishes, not how well.
FAST = "STREAMREC_MODELS__TUNE_BUDGET_S"
#: A user of the first events, with a history the models know.
USER = next(SHOP.events(2_000, chunk_size=2_000)).user_id[0]


def _store(data_dir: Path) -> ModelStore:
    return ModelStore(data_dir / "models")


def _manifest(data_dir: Path) -> dict:
    store = _store(data_dir)
    latest = store.latest_version()
    assert latest is not None
    return store.manifest(latest)


def test_train_records_validation_and_the_server_applies_the_tuned_blend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAST, "5")
    fill_history(tmp_path, SHOP, 12_000, chunk_size=4_000)
    assert main(["train", "--data-dir", str(tmp_path)]) == 0
    manifest = _manifest(tmp_path)
    validation = manifest["validation"]
    assert validation["protocol"] == "leave-last-out" and validation["users"] > 0
    assert validation["metrics"]["ndcg@10"] > validation["popularity"]["ndcg@10"]
    assert validation["trials"] and validation["served"] is None
    tuned = manifest["serving"]["recommend"]
    # the user sets one key explicitly: it wins over the version's value
    monkeypatch.setenv("STREAMREC_RECOMMEND__SEED_ITEMS", "7")
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
        serving = client.get("/readyz").json()["serving"]
        applied = engine.recommender.settings
        assert serving["version"] == manifest["version"]
        assert serving["tuned"] == {f"recommend.{k}": v for k, v in tuned.items()}
        for key, value in tuned.items():
            assert getattr(applied, key) == value
        assert applied.seed_items == 7
        body = client.get(f"/v1/users/{USER}/recommendations?k=10").json()
    kinds = set(manifest["kinds"])
    assert any(kinds & set(item["sources"]) for item in body["items"])


def _publish(data_dir: Path, recommend: dict) -> str:
    """A version trained on the history, carrying ``recommend`` as its tuned blend."""
    events = next(SHOP.events(6_000, chunk_size=6_000))
    bundle = train_models([events], SHOP.catalog(), ModelSettings(kinds=("itemknn",)))
    return _store(data_dir).publish(bundle, {"serving": {"recommend": recommend}})


def test_a_hot_swapped_version_brings_its_settings_and_explicit_ones_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_history(tmp_path, SHOP, 6_000, chunk_size=3_000)
    first = _publish(tmp_path, {"recency_half_life_items": 3.0, "weight_popularity": 0.0})
    monkeypatch.setenv("STREAMREC_RECOMMEND__RECENCY_HALF_LIFE_ITEMS", "42")
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
        assert client.get("/readyz").json()["serving"] == {
            "version": first,
            "tuned": {"recommend.weight_popularity": 0.0},
            "overridden": {"recommend.recency_half_life_items": 42.0},
        }
        assert engine.recommender.settings.weight_popularity == 0.0
        assert engine.recommender.settings.recency_half_life_items == 42.0
        second = _publish(tmp_path, {"weight_popularity": 0.5, "seed_items": 4})
        assert engine.models is not None and engine.models.refresh()
        assert client.get("/readyz").json()["serving"]["tuned"] == {
            "recommend.weight_popularity": 0.5,
            "recommend.seed_items": 4,
        }
        assert engine.recommender.settings.seed_items == 4
        assert engine.models.version == second
        body = client.get(f"/v1/users/{USER}/recommendations?k=10").json()
    assert body["model_version"] == second
    assert max(item["sources"].get("popularity", 0.0) for item in body["items"]) > 0


def _no_signal_history(data_dir: Path) -> None:
    """Every user draws items from one global distribution: popularity is the best bet."""
    rng = np.random.default_rng(1)
    weights = 1.0 / np.arange(1, 201) ** 1.1
    n = 15_000
    users = rng.integers(0, 400, n)
    items = rng.choice(200, n, p=weights / weights.sum())
    start = 1_700_000_000_000
    batch = EventBatch.from_events(
        [
            Event(user_id=f"u{u}", item_id=f"i{i}", type="view", timestamp=start + 1000 * t)
            for t, (u, i) in enumerate(zip(users.tolist(), items.tolist(), strict=True))
        ]
    )
    engine = embedded_engine(Settings(data_dir=data_dir))
    try:
        engine.ingest(batch, wait=True)
    finally:
        engine.close()


def test_train_refuses_what_does_not_beat_popularity_unless_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(FAST, "5")
    _no_signal_history(tmp_path)
    assert main(["train", "--data-dir", str(tmp_path)]) == 1
    assert "does not beat global popularity" in capsys.readouterr().err
    assert _store(tmp_path).latest_version() is None
    assert main(["train", "--data-dir", str(tmp_path), "--force"]) == 0
    assert _store(tmp_path).latest_version() is not None


def test_train_on_a_time_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAST, "0")
    fill_history(tmp_path, SHOP, 12_000, chunk_size=4_000)
    history = open_history(Settings(data_dir=tmp_path))
    try:
        times = np.sort(np.concatenate([b.timestamp for b in history.scan()]))
    finally:
        history.close()
    since, until = int(times[2_000]), int(times[10_000])
    command = ["train", "--data-dir", str(tmp_path), "--since", str(since), "--until", str(until)]
    assert main([*command, "--force"]) == 0
    manifest = _manifest(tmp_path)
    expected = int(((times >= since) & (times < until)).sum())
    assert manifest["data_window"]["n_events"] == expected
    assert manifest["history_window"] == {"since_ms": since, "until_ms": until}
    assert [t["recommend"] for t in manifest["validation"]["trials"]] == [{}]

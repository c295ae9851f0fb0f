"""The retrain schedule: thresholds, one training at a time, failure and retry, stop.

The trainings are real: ``streamrec.bootstrap.train`` runs in a spawned child process on a
small embedded history (item-kNN only and no search, for speed). That history is too
small for the models to beat popularity on validation, so the schedule tests publish
with ``force`` (:func:`train_forced`); one test checks the refusal the schedule records.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from pathlib import Path

import pytest

from streamrec.bootstrap import train
from streamrec.bootstrap.adapters import models_directory
from streamrec.config import Settings, load_settings
from streamrec.datasets import SyntheticShop
from streamrec.models.schedule import Baseline, RetrainScheduler, TrainFunction, retrain_due
from streamrec.models.settings import ModelSettings
from streamrec.models.store import ModelStore
from tests.history import fill_history

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "streamrec.example.toml"
TRAINING_TIMEOUT_S = 120.0


class Applied:
    """The applied-event count a scheduler reads (the test moves it)."""

    def __init__(self, value: int = 0) -> None:
        self.value = value

    def __call__(self) -> int:
        return self.value


def _settings(data_dir: Path, every_events: int = 100, every_s: float = 0.0) -> Settings:
    models = {
        "kinds": ["itemknn"],
        "retrain_every_events": every_events,
        "retrain_every_s": every_s,
        "tune_budget_s": 0,
    }
    return Settings(data_dir=data_dir, models=models)  # type: ignore[arg-type]


def _fill(data_dir: Path, n_events: int, seed: int = 1) -> None:
    shop = SyntheticShop(n_users=80, n_items=50, n_categories=4, seed=seed)
    fill_history(data_dir, shop, n_events, chunk_size=1_000, catalog=False)


def train_forced(settings: Settings) -> str:
    """``streamrec train --force`` (a module-level function: the child imports it)."""
    return train(settings, force=True)


def _scheduler(
    settings: Settings,
    applied: Applied,
    published: list[str] | None = None,
    ago_s: float = 0.0,
    trainer: TrainFunction = train_forced,
) -> RetrainScheduler:
    return RetrainScheduler(
        settings,
        trainer,
        applied,
        Baseline(0, time.time() - ago_s),
        on_published=(published if published is not None else []).append,
    )


def test_due_by_events_or_by_time_with_new_events() -> None:
    both = ModelSettings(retrain_every_events=100, retrain_every_s=60)
    assert retrain_due(both, 99, 59.0) is None
    assert retrain_due(both, 100, 0.0) == "events"
    assert retrain_due(both, 1, 60.0) == "time"
    assert retrain_due(both, 0, 1e9) is None  # nothing new to learn from
    off = ModelSettings(retrain_every_events=0, retrain_every_s=0)
    assert retrain_due(off, 10**9, 1e9) is None


def test_baseline_of_the_model_in_use() -> None:
    manifest = {"data_window": {"n_events": 700}, "created_at": "2024-01-02T03:04:05+00:00"}
    assert Baseline.of(manifest, applied=1_000) == Baseline(700, 1704164645.0)
    assert Baseline.of(manifest, applied=500).events == 500  # never ahead of the state
    before = time.time()
    fresh = Baseline.of(None, applied=42)
    assert fresh.events == 42 and fresh.at >= before


def test_event_threshold_starts_one_training_at_a_time(tmp_path: Path) -> None:
    _fill(tmp_path, 2_000)
    applied = Applied(99)
    published: list[str] = []
    scheduler = _scheduler(_settings(tmp_path, every_events=100), applied, published)
    store = ModelStore(models_directory(tmp_path))
    try:
        assert not scheduler.tick()
        applied.value = 100
        assert scheduler.tick()
        applied.value = 350  # two more thresholds pass while it trains
        assert not scheduler.tick()
        assert scheduler.status().running and scheduler.status().runs == 1
        assert scheduler.wait_idle(TRAINING_TIMEOUT_S)

        first = scheduler.status()
        assert (first.runs, first.failures, first.last_outcome) == (1, 0, "succeeded")
        assert first.last_trigger == "events" and first.events_since == 250
        assert published == [first.last_version] == [store.latest_version()]
        assert first.last_finished_at is not None and first.last_started_at is not None
        assert first.last_finished_at >= first.last_started_at

        assert scheduler.tick()  # 250 events since the last start
        assert scheduler.wait_idle(TRAINING_TIMEOUT_S)
        second = scheduler.status()
        assert second.runs == 2 and second.events_since == 0
        assert second.last_version is not None and second.last_version > str(first.last_version)
        assert published == store.versions()
    finally:
        scheduler.stop()


def test_a_refused_training_is_recorded_with_its_reason(tmp_path: Path) -> None:
    _fill(tmp_path, 2_000)
    applied = Applied(100)
    published: list[str] = []
    scheduler = _scheduler(_settings(tmp_path), applied, published, trainer=train)
    try:
        assert scheduler.tick()
        assert scheduler.wait_idle(TRAINING_TIMEOUT_S)
        status = scheduler.status()
        assert (status.runs, status.failures, status.last_outcome) == (1, 1, "failed")
        assert status.last_error is not None
        assert status.last_error.startswith("PublishRefused: not published: validation")
        assert published == [] and ModelStore(models_directory(tmp_path)).latest_version() is None
    finally:
        scheduler.stop()


def test_time_threshold_starts_a_training_once_events_arrived(tmp_path: Path) -> None:
    _fill(tmp_path, 1_000)
    applied = Applied(0)
    settings = _settings(tmp_path, every_events=0, every_s=30.0)
    scheduler = _scheduler(settings, applied, ago_s=60.0)
    try:
        assert not scheduler.tick()  # due by time, but no new event
        applied.value = 1
        assert scheduler.tick()
        assert scheduler.wait_idle(TRAINING_TIMEOUT_S)
        status = scheduler.status()
        assert (status.last_trigger, status.last_outcome) == ("time", "succeeded")
        applied.value = 2
        assert not scheduler.tick()  # the clock restarted with the training
    finally:
        scheduler.stop()


def test_failed_training_is_logged_and_retried_at_the_next_threshold(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _fill(tmp_path, 0)  # a history without events: nothing to train item-kNN on
    applied = Applied(100)
    published: list[str] = []
    scheduler = _scheduler(_settings(tmp_path, every_events=100), applied, published)
    try:
        with caplog.at_level(logging.ERROR, logger="streamrec.models.schedule"):
            assert scheduler.tick()
            assert scheduler.wait_idle(TRAINING_TIMEOUT_S)
        failed = scheduler.status()
        assert (failed.runs, failed.failures, failed.last_outcome) == (1, 1, "failed")
        assert failed.last_error is not None and "no event" in failed.last_error
        assert "retrying at the next threshold" in caplog.text and "Traceback" in caplog.text
        assert published == [] and failed.last_version is None

        applied.value = 150
        assert not scheduler.tick()  # the next threshold counts from the failed start
        _fill(tmp_path, 1_000)
        applied.value = 200
        assert scheduler.tick()
        assert scheduler.wait_idle(TRAINING_TIMEOUT_S)
        retried = scheduler.status()
        assert (retried.runs, retried.failures, retried.last_outcome) == (2, 1, "succeeded")
        assert retried.last_error is None and published == [retried.last_version]
    finally:
        scheduler.stop()


def test_stop_ends_the_thread_and_the_training_in_progress(tmp_path: Path) -> None:
    _fill(tmp_path, 1_000)
    applied = Applied(0)
    scheduler = RetrainScheduler(
        _settings(tmp_path, every_events=100),
        train,
        applied,
        Baseline(0, time.time()),
        check_interval_s=0.05,
    )
    scheduler.start()
    try:
        applied.value = 100
        deadline = time.monotonic() + 10
        while not scheduler.status().running:  # the thread starts it on its own
            assert time.monotonic() < deadline, "the scheduler thread started no training"
            time.sleep(0.02)
    finally:
        started = time.monotonic()
        scheduler.stop()
    assert time.monotonic() - started < 10
    assert multiprocessing.active_children() == []
    assert not scheduler.status().running
    assert not scheduler.tick()  # a stopped scheduler starts nothing


def test_example_config_sets_the_schedule() -> None:
    models = load_settings(EXAMPLE).models
    assert (models.retrain_every_events, models.retrain_every_s) == (1_000_000, 86_400.0)


def test_a_training_process_that_dies_counts_as_a_failure(tmp_path: Path) -> None:
    _fill(tmp_path, 1_000)
    applied = Applied(100)
    scheduler = _scheduler(_settings(tmp_path, every_events=100), applied)
    try:
        assert scheduler.tick()
        (child,) = multiprocessing.active_children()
        child.kill()  # as the kernel's OOM killer would
        assert scheduler.wait_idle(TRAINING_TIMEOUT_S)
        status = scheduler.status()
        assert (status.runs, status.failures, status.last_outcome) == (1, 1, "failed")
        assert status.last_error == "the training process exited with code -9"
        applied.value = 200
        assert scheduler.tick()  # and the next threshold starts a new one
        assert scheduler.wait_idle(TRAINING_TIMEOUT_S)
        assert scheduler.status().last_outcome == "succeeded"
    finally:
        scheduler.stop()

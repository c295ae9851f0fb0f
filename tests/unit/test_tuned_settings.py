"""A version's tuned serving settings apply under the user's explicit ones."""

from __future__ import annotations

import pytest

from streamrec.config import Settings
from streamrec.ids import IdMap
from streamrec.models.bundle import ModelBundle
from streamrec.models.tuned import TunedSettings, apply_tuned
from streamrec.recommend.model_sources import FixedModels


def _bundle(recommend: object, version: str = "v1") -> ModelBundle:
    return ModelBundle(
        users=IdMap(),
        items=IdMap(),
        manifest={"serving": {"recommend": recommend}},
        version=version,
    )


def test_unset_keys_take_the_version_values_and_explicit_ones_win() -> None:
    settings = Settings(recommend={"weight_popularity": 0.25})  # type: ignore[arg-type]
    tuned = {"weight_popularity": 0.0, "recency_half_life_items": 3.0, "seed_items": 5}
    applied = apply_tuned(settings, _bundle(tuned))
    assert applied.recommend.weight_popularity == 0.25
    assert applied.recommend.recency_half_life_items == 3.0
    assert applied.recommend.seed_items == 5
    assert applied.as_dict() == {
        "version": "v1",
        "tuned": {"recommend.recency_half_life_items": 3.0, "recommend.seed_items": 5},
        "overridden": {"recommend.weight_popularity": 0.25},
    }


@pytest.mark.parametrize(
    "tuned",
    [{"seed_items": -3}, {"recency_half_life_items": "soon"}, ["not", "a", "mapping"]],
)
def test_invalid_tuned_values_leave_the_user_settings(tuned: object) -> None:
    settings = Settings()
    applied = apply_tuned(settings, _bundle(tuned))
    assert applied.recommend == settings.recommend and applied.tuned == {}


def test_fold_time_and_unknown_keys_are_never_taken() -> None:
    applied = apply_tuned(Settings(), _bundle({"session_category_boost": 0.0, "max_k": 5}))
    assert applied.recommend == Settings().recommend and applied.tuned == {}


def test_the_settings_follow_the_bundle_in_use() -> None:
    models = FixedModels(_bundle({"seed_items": 4}))
    tuned = TunedSettings(Settings(), models)
    assert tuned.recommend().seed_items == 4
    models.bundle = _bundle({"seed_items": 9}, version="v2")
    assert tuned.recommend().seed_items == 9 and tuned.current().version == "v2"
    models.bundle = None
    assert tuned.recommend() == Settings().recommend and tuned.current().version is None

"""The serving settings a model version was tuned with, applied under the user's own.

``streamrec train`` chooses, on a validation split, the blend of the version it
publishes and writes it into the version's manifest::

    "serving": {"recommend": {"source_weights": {...}, "recency_half_life_items": 3.0}}

A server applies those values while it serves that version, key by key, except the
keys the user set explicitly (the TOML file, ``STREAMREC_RECOMMEND__…`` variables or
constructor arguments): an explicit setting always wins. Only read-time keys
(:data:`TUNABLE_KEYS`) can be tuned: they change the next list at once, where a
fold-time setting (the co-occurrence window, decay) would only reach new events.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from streamrec.config import RecommendSettings, Settings
from streamrec.models.bundle import ModelBundle

log = logging.getLogger(__name__)

#: The ``recommend`` keys a model version may bring.
TUNABLE_KEYS = (
    "source_weights",
    "weight_collaborative",
    "weight_content",
    "weight_popularity",
    "recency_half_life_items",
    "seed_items",
)


class HasBundle(Protocol):
    """Where the bundle in use is read (a model registry, or fixed models)."""

    @property
    def bundle(self) -> ModelBundle | None:
        """The bundle in use, ``None`` before any."""
        ...


@dataclass(frozen=True)
class AppliedSettings:
    """The ``recommend`` settings in force and where each tuned key came from.

    Attributes
    ----------
    recommend
        The settings the recommender uses.
    version
        The model version whose tuned settings were considered.
    tuned
        Keys taken from that version (``recommend.<key>`` to value).
    overridden
        Keys the version tuned but the user set explicitly (the user's value, which
        is the one in force).
    """

    recommend: RecommendSettings
    version: str | None = None
    tuned: dict[str, Any] = field(default_factory=dict)
    overridden: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for ``/readyz``."""
        return {"version": self.version, "tuned": self.tuned, "overridden": self.overridden}


def apply_tuned(settings: Settings, bundle: ModelBundle | None) -> AppliedSettings:
    """``settings.recommend`` with ``bundle``'s tuned values for the keys left unset.

    A manifest whose tuned values do not validate is ignored (with a warning): the
    user's settings stay in force.
    """
    base = settings.recommend
    serving = (bundle.manifest.get("serving") or {}) if bundle is not None else {}
    tuned = serving.get("recommend") or {}
    version = bundle.version if bundle is not None else None
    if not isinstance(tuned, Mapping) or not tuned:
        return AppliedSettings(base, version)
    explicit = base.model_fields_set
    taken = {k: v for k, v in tuned.items() if k in TUNABLE_KEYS and k not in explicit}
    kept = {k: getattr(base, k) for k in tuned if k in TUNABLE_KEYS and k in explicit}
    try:
        recommend = RecommendSettings.model_validate({**base.model_dump(), **taken})
    except ValidationError as exc:
        log.warning("model version %s: tuned settings ignored (%s)", version, exc)
        return AppliedSettings(base, version)
    return AppliedSettings(
        recommend,
        version,
        {f"recommend.{k}": v for k, v in taken.items()},
        {f"recommend.{k}": v for k, v in kept.items()},
    )


class TunedSettings:
    """The settings in force for the bundle in use, recomputed when it is swapped.

    Parameters
    ----------
    settings
        The user's settings.
    models
        Where the bundle in use is read; ``None`` for an engine without models.
    """

    def __init__(self, settings: Settings, models: HasBundle | None) -> None:
        self.settings = settings
        self.models = models
        self._bundle: ModelBundle | None = None
        self._applied = AppliedSettings(settings.recommend)

    def current(self) -> AppliedSettings:
        """What applies now (one reference check per call while the bundle is unchanged)."""
        bundle = self.models.bundle if self.models is not None else None
        if bundle is not self._bundle:
            self._applied = apply_tuned(self.settings, bundle)
            self._bundle = bundle
        return self._applied

    def recommend(self) -> RecommendSettings:
        """The ``recommend`` settings in force."""
        return self.current().recommend

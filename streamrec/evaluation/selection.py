"""What ``streamrec train`` publishes: models and serving settings chosen on validation.

:func:`select_models` carves a validation split from the training history with the
protocols' own rule (:func:`validation_split`: seed-004 when the history holds
enough rated users, leave-last-out otherwise), folds the rest into one engine state,
and searches, within ``models.tune_budget_s``:

1. per model setup (the configured ``models.kinds``, then EASE), its models trained
   on the fitted part and two blends: the configured ``recommend`` settings, and a
   stream-heavy blend (co-occurrence 0.4 beside the models, seeds weighted with a
   3-item recency half-life, no popularity term);
2. around the best setup, the other blends of :data:`BLENDS`.

Each trial is the engine as a server runs it (the same state, the models as a
version, the blend applied as :mod:`streamrec.models.tuned` applies a version's
settings, the user's explicit settings winning), scored by NDCG@10 on the validation
users. The global popularity baseline and the configuration of the version being
served are scored on the same split. The chosen models are then trained on the
whole history; the manifest records the validation metrics and the blend under
``serving``. :func:`train_and_publish_selected` publishes only when the choice beats
popularity and is no worse than the served configuration (unless forced) and says
why otherwise.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from streamrec.bootstrap import in_memory_engine
from streamrec.config import Settings
from streamrec.engine import Engine
from streamrec.errors import InvalidInput, PublishRefused
from streamrec.evaluation.baselines import PopularityAlgorithm
from streamrec.evaluation.holdout import evaluate_holdout, score_lists
from streamrec.evaluation.params import merged
from streamrec.evaluation.splits import HoldoutSplit, leave_last_out_split, seed004_split
from streamrec.events import EventBatch
from streamrec.history.base import History
from streamrec.models.bundle import ModelBundle
from streamrec.models.settings import ModelSettings
from streamrec.models.store import ModelStore
from streamrec.models.trainer import train_models
from streamrec.processing.weights import RATING
from streamrec.recommend.model_sources import FixedModels
from streamrec.state.base import CatalogItem
from streamrec.state.memory import MemoryState

log = logging.getLogger(__name__)

#: The validation metric the search maximizes.
OBJECTIVE = "ndcg@10"
#: Metrics recorded in the manifest.
RECORDED = ("precision@10", "recall@10", "ndcg@10", "hit_rate@10")
#: Seed-004 validation is used when it evaluates at least this many users.
MIN_SEED004_USERS = 50
#: Blends tried around the best model setup: co-occurrence weight, recency
#: half-life in items, popularity weight.
BLENDS = [(c, r, p) for c in (0.4, 0.2) for r in (3.0, 10.0) for p in (0.0, 0.03)]


def validation_split(events: EventBatch) -> HoldoutSplit:
    """The protocols' rule applied to the history: seed-004 when it evaluates at
    least :data:`MIN_SEED004_USERS` users, leave-last-out otherwise."""
    if (events.type == RATING).any():
        rated = seed004_split(events)
        if len(rated.users) >= MIN_SEED004_USERS:
            return rated
    return leave_last_out_split(events)


def sample_users(split: HoldoutSplit, n_users: int, seed: int = 0) -> HoldoutSplit:
    """``split`` with at most ``n_users`` of its evaluated users (a seeded sample)."""
    if len(split.users) <= n_users:
        return split
    keep = np.sort(np.random.default_rng(seed).choice(len(split.users), n_users, replace=False))
    return dataclasses.replace(
        split,
        users=[split.users[i] for i in keep.tolist()],
        exclude=[split.exclude[i] for i in keep.tolist()],
        relevant=[split.relevant[i] for i in keep.tolist()],
    )


@dataclass(frozen=True)
class Setup:
    """One configuration: model settings overrides and the tuned ``recommend`` keys."""

    models: dict[str, Any]
    recommend: dict[str, Any]

    def label(self) -> str:
        """Short text for logs and the manifest."""
        return f"models={self.models} recommend={self.recommend}"


@dataclass(frozen=True)
class Trial:
    """A setup and its validation metrics."""

    setup: Setup
    metrics: dict[str, float]

    @property
    def score(self) -> float:
        """The objective."""
        return self.metrics[OBJECTIVE]


@dataclass
class Selection:
    """The search's outcome: the chosen setup, the baselines, and every trial."""

    split: dict[str, Any]
    popularity: dict[str, float]
    best: Trial
    served: Trial | None
    trials: list[Trial]
    seconds: float
    budget_s: float

    def refusal(self) -> str | None:
        """Why the choice must not be published (``None``: it may be)."""
        if self.best.score <= self.popularity[OBJECTIVE]:
            return (
                f"validation {OBJECTIVE} {self.best.score:.4f} does not beat global "
                f"popularity's {self.popularity[OBJECTIVE]:.4f}"
            )
        if self.served is not None and self.served.score > self.best.score:
            return (
                f"validation {OBJECTIVE} {self.best.score:.4f} is below the served "
                f"version's configuration ({self.served.score:.4f})"
            )
        return None

    def manifest(self) -> dict[str, Any]:
        """The ``validation`` and ``serving`` manifest entries."""
        return {
            "validation": {
                **self.split,
                "objective": OBJECTIVE,
                "metrics": _recorded(self.best.metrics),
                "popularity": _recorded(self.popularity),
                "served": _recorded(self.served.metrics) if self.served else None,
                "trials": [
                    {"models": t.setup.models, "recommend": t.setup.recommend, OBJECTIVE: t.score}
                    for t in self.trials
                ],
                "seconds": round(self.seconds, 2),
                "budget_s": self.budget_s,
            },
            "serving": {"recommend": self.best.setup.recommend},
        }


def _recorded(metrics: Mapping[str, float]) -> dict[str, float]:
    return {name: round(float(metrics[name]), 6) for name in RECORDED}


def _stream_blend(
    kinds: Sequence[str], cooccurrence: float, recency: float, popularity: float
) -> dict[str, Any]:
    """``recommend`` keys weighting every collaborative model 0.6 beside co-occurrence."""
    weights = {kind: (0.3 if kind == "content" else 0.6) for kind in kinds}
    return {
        "source_weights": {**weights, "cooccurrence": cooccurrence},
        "recency_half_life_items": recency,
        "weight_popularity": popularity,
    }


class _Search:
    """Trials on one validation split, sharing the folded state and trained models."""

    def __init__(
        self, split: HoldoutSplit, catalog: Sequence[CatalogItem], settings: Settings
    ) -> None:
        self.split = split
        self.catalog = catalog
        self.settings = settings
        self.state = _folded(split.train, catalog, settings)
        self._bundles: dict[str, ModelBundle] = {}
        self.trials: list[Trial] = []

    def models(self, overrides: Mapping[str, Any]) -> ModelSettings:
        return ModelSettings.model_validate(
            merged(self.settings.models.model_dump(), dict(overrides))
        )

    def run(self, setup: Setup) -> Trial:
        """Score ``setup`` (its models trained once per distinct models settings)."""
        for trial in self.trials:
            if trial.setup == setup:
                return trial
        models = self.models(setup.models)
        key = models.model_dump_json()
        bundle = self._bundles.get(key)
        if bundle is None:
            bundle = train_models(
                [self.split.train], self.catalog, models, weights=self.settings.weights
            )
            self._bundles[key] = bundle
        version = dataclasses.replace(bundle, manifest={"serving": {"recommend": setup.recommend}})
        engine = Engine(self.settings, self.state, models=FixedModels(version))
        lists = [
            [item.item_id for item in engine.recommend(user, 10, exclude=banned).items]
            for user, banned in zip(self.split.users, self.split.exclude, strict=True)
        ]
        metrics, _ = score_lists(self.split, lists, ks=(10,))
        trial = Trial(setup, metrics)
        self.trials.append(trial)
        log.info("validation %s %.4f: %s", OBJECTIVE, trial.score, setup.label())
        return trial


def _folded(train: EventBatch, catalog: Sequence[CatalogItem], settings: Settings) -> MemoryState:
    """A memory state holding the catalog and ``train`` (as ``streamrec ingest`` folds it)."""
    engine = in_memory_engine(settings)
    if catalog:
        engine.upsert_items(catalog)
    size = settings.processor.max_batch
    for start in range(0, len(train), size):
        engine.ingest(train.take(slice(start, start + size)))
    return engine.state


def served_setup(manifest: Mapping[str, Any] | None) -> Setup | None:
    """The configuration of a published version (its kinds, parameters and blend)."""
    if not manifest or not manifest.get("kinds"):
        return None
    params = manifest.get("params") or {}
    models: dict[str, Any] = {"kinds": list(manifest["kinds"])}
    models.update({kind: dict(params.get(kind) or {}) for kind in manifest["kinds"]})
    recommend = dict((manifest.get("serving") or {}).get("recommend") or {})
    return Setup(models, recommend)


def select_models(
    events: EventBatch,
    catalog: Sequence[CatalogItem],
    settings: Settings,
    served: Mapping[str, Any] | None = None,
) -> Selection:
    """Search the setups on a validation split of ``events`` (see the module docstring).

    Parameters
    ----------
    events
        The training history.
    catalog
        Item metadata.
    settings
        The user's settings (``models.tune_budget_s``, ``models.validation_users``).
    served
        The manifest of the version being served, whose configuration is scored too.
    """
    started = time.perf_counter()
    budget = settings.models.tune_budget_s
    split = sample_users(validation_split(events), settings.models.validation_users)
    search = _Search(split, catalog, settings)
    popularity = evaluate_holdout(split, PopularityAlgorithm(split.threshold), ks=(10,)).metrics
    configured = list(settings.models.kinds)
    setups = [({"kinds": configured}, configured)]
    if budget > 0 and configured != ["ease"]:
        setups.append(({"kinds": ["ease"]}, ["ease"]))
    first: list[Trial] = []
    for models, kinds in setups:
        if first and time.perf_counter() - started > budget:
            break
        first.append(search.run(Setup(models, {})))
        if budget > 0:
            first.append(search.run(Setup(models, _stream_blend(kinds, 0.4, 3.0, 0.0))))
    best = max(first, key=lambda t: t.score)
    kinds = best.setup.models["kinds"]
    for blend in BLENDS:
        if time.perf_counter() - started > budget:
            break
        search.run(Setup(best.setup.models, _stream_blend(kinds, *blend)))
    chosen = max(search.trials, key=lambda t: t.score)
    incumbent = served_setup(served)
    served_trial = search.run(incumbent) if incumbent is not None else None
    details = {"protocol": split.protocol, "users": len(split.users), "events": len(split.train)}
    return Selection(
        details,
        popularity,
        chosen,
        served_trial,
        list(search.trials),
        time.perf_counter() - started,
        budget,
    )


def train_selected(
    events: EventBatch,
    catalog: Sequence[CatalogItem],
    settings: Settings,
    served: Mapping[str, Any] | None = None,
) -> tuple[ModelBundle, Selection]:
    """The chosen setup's models trained on all of ``events``, the selection in its manifest."""
    selection = select_models(events, catalog, settings, served)
    models = ModelSettings.model_validate(
        merged(settings.models.model_dump(), selection.best.setup.models)
    )
    bundle = train_models([events], catalog, models, weights=settings.weights, drift=settings.drift)
    bundle.manifest.update(selection.manifest())
    return bundle, selection


def train_and_publish_selected(
    history: History,
    catalog: Sequence[CatalogItem],
    store: ModelStore,
    settings: Settings,
    *,
    force: bool = False,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> str:
    """Select on ``history`` (``since_ms <= t < until_ms``), train, and publish.

    Raises
    ------
    InvalidInput
        If the history (in the window) holds no event.
    PublishRefused
        When the choice does not beat popularity or the served configuration on
        validation (and ``force`` is off); nothing is published.
    """
    batches = list(history.scan(since_ms, until_ms))
    if not batches or not sum(len(b) for b in batches):
        raise InvalidInput("no event in the history (or its window) to train the models on")
    events = EventBatch.concat(batches)
    latest = store.latest_version()
    served = store.manifest(latest) if latest is not None else None
    bundle, selection = train_selected(events, catalog, settings, served)
    reason = selection.refusal()
    if reason is not None and not force:
        raise PublishRefused(f"not published: {reason} (--force publishes anyway)")
    if reason is not None:
        log.warning("publishing although %s (forced)", reason)
    window = {"since_ms": since_ms, "until_ms": until_ms}
    version = store.publish(bundle, {"history_window": window})
    store.prune(settings.models.keep_versions)
    return version

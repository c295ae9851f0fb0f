"""The small interface every evaluated algorithm implements, and the registry of them.

An :class:`Algorithm` speaks external string ids only, so the protocols treat the
baselines, the batch models and the streaming engine alike:

- ``fit(train)`` replaces any state with a model of ``train``;
- ``learn(batch)`` folds newer events in (a streaming algorithm updates its state; a
  batch model keeps its parameters and only learns the users' latest items);
- ``recommend(users, k, exclude)`` returns each user's top ``k`` item ids, never one
  of that user's ``exclude`` items, and never mutates.

Algorithms are built by name with :func:`build_algorithm` from an
:class:`AlgorithmContext` (relevance threshold, catalog, settings) and parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from streamrec.config import Settings
from streamrec.errors import InvalidInput
from streamrec.evaluation.adapters import EngineAlgorithm, ModelAlgorithm
from streamrec.evaluation.baselines import CooccurrenceAlgorithm, PopularityAlgorithm
from streamrec.evaluation.model_cache import ModelCache
from streamrec.evaluation.peers import RtrecSLIM
from streamrec.evaluation.shipped import ShippedAlgorithm
from streamrec.events import EventBatch
from streamrec.models.bundle import MODEL_TYPES
from streamrec.state.base import CatalogItem


@runtime_checkable
class Algorithm(Protocol):
    """What the evaluation protocols need from a recommender."""

    name: str

    def fit(self, train: EventBatch) -> None:
        """Replace any state with a model of ``train``."""
        ...

    def learn(self, batch: EventBatch) -> None:
        """Fold in events newer than everything seen so far."""
        ...

    def recommend(self, user_ids: list[str], k: int, exclude: list[set[str]]) -> list[list[str]]:
        """Each user's top ``k`` item ids, best first, none of them in its ``exclude`` set."""
        ...


@dataclass(frozen=True)
class AlgorithmContext:
    """What algorithms may know about the dataset besides the events.

    Attributes
    ----------
    threshold
        The rating at or above which a rating is positive.
    catalog
        Item metadata (content-aware algorithms use categories and tags).
    settings
        The base settings (event weights, engine configuration).
    models
        Trained bundles shared by the hybrid configurations built from this context.
    """

    threshold: float = 4.0
    catalog: Sequence[CatalogItem] = ()
    settings: Settings = field(default_factory=Settings)
    models: ModelCache = field(default_factory=ModelCache)


Factory = Callable[[AlgorithmContext, Mapping[str, Any]], Algorithm]


def _popularity(context: AlgorithmContext, params: Mapping[str, Any]) -> Algorithm:
    return PopularityAlgorithm(context.threshold, **params)


def _cooccurrence(context: AlgorithmContext, params: Mapping[str, Any]) -> Algorithm:
    return CooccurrenceAlgorithm(context.settings.weights, **params)


def _model(kind: str) -> Factory:
    """A batch model whose defaults are the ``models.<kind>`` settings section."""

    def build(context: AlgorithmContext, params: Mapping[str, Any]) -> Algorithm:
        section = getattr(context.settings.models, kind)
        values = type(section).model_validate({**section.model_dump(), **params}).model_dump()
        model_class = MODEL_TYPES[kind]
        return ModelAlgorithm(kind, lambda: model_class(**values), context.settings.weights)

    return build


def _engine(context: AlgorithmContext, params: Mapping[str, Any]) -> Algorithm:
    return EngineAlgorithm(context.settings, params, context.catalog)


def _hybrid(context: AlgorithmContext, params: Mapping[str, Any]) -> Algorithm:
    return EngineAlgorithm(
        context.settings,
        params,
        context.catalog,
        name="streamrec-hybrid",
        batch_models=True,
        models=context.models,
    )


def _shipped(trained: bool) -> Factory:
    """What ``serve`` + ``ingest`` (+ ``train``) do with the run's settings; no parameters."""

    def build(context: AlgorithmContext, params: Mapping[str, Any]) -> Algorithm:
        if params:
            raise TypeError("the shipped path takes no parameters (use --config)")
        return ShippedAlgorithm(context.settings, context.catalog, trained=trained)

    return build


def _rtrec_slim(context: AlgorithmContext, params: Mapping[str, Any]) -> Algorithm:
    return RtrecSLIM(context.settings.weights, **params)


ALGORITHMS: dict[str, Factory] = {
    "popularity": _popularity,
    "cooccurrence": _cooccurrence,
    "itemknn": _model("itemknn"),
    "ease": _model("ease"),
    "als": _model("als"),
    "streamrec": _engine,
    "streamrec-hybrid": _hybrid,
    "shipped": _shipped(trained=True),
    "shipped-untrained": _shipped(trained=False),
    "rtrec-slim": _rtrec_slim,
}


def build_algorithm(
    name: str, context: AlgorithmContext, params: Mapping[str, Any] | None = None
) -> Algorithm:
    """The algorithm registered as ``name``, configured with ``params``.

    ``params`` are the model's hyper-parameters (over the ``models.<kind>`` settings);
    for ``streamrec`` they are settings overrides such as
    ``{"recommend": {"weight_popularity": 0.2}}``.

    Raises
    ------
    InvalidInput
        For an unknown name or parameters the algorithm does not accept.
    """
    factory = ALGORITHMS.get(name)
    if factory is None:
        raise InvalidInput(f"unknown algorithm {name!r}; choose from {', '.join(ALGORITHMS)}")
    try:
        return factory(context, dict(params or {}))
    except (TypeError, ValidationError) as exc:
        raise InvalidInput(f"bad parameters for {name}: {exc}") from None


@dataclass(frozen=True)
class AlgorithmSpec:
    """An algorithm to evaluate: registry name, parameters, and its name in the report.

    ``search`` (dotted parameter names to the values to try) makes the run choose
    those parameters first, on a validation split of the training events (see
    :func:`~streamrec.evaluation.tuning.tune`); ``params`` are where every trial starts.
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    search: dict[str, list[Any]] = field(default_factory=dict)

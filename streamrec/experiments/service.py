"""Experiments as the engine serves them: definitions, arms, served-list recording.

:class:`Experiments` answers, per request, which arm serves a user — the running
experiment of the surface, the user's sticky variant, and a
:class:`~streamrec.recommend.recommender.Recommender` built from the variant's
merged settings (one per distinct settings, cached) — and records every served
list in the served-list log and the guardrail window.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streamrec.config import Settings
from streamrec.errors import Conflict, InvalidInput, NotFound, Problem
from streamrec.events import now_ms
from streamrec.experiments.definition import (
    DEFAULT_VARIANT,
    INTERLEAVED,
    PROCESS_SECTIONS,
    Experiment,
    assign,
    merged_settings,
    validate_experiment,
)
from streamrec.experiments.guardrails import GuardrailWindow
from streamrec.experiments.interleaving import team_draft
from streamrec.experiments.served import ServedList, settings_hash
from streamrec.experiments.served_log import ServedLog
from streamrec.experiments.store import ExperimentStore
from streamrec.recommend.recommender import Recommender
from streamrec.recommend.types import Recommendation, RecommendedItem

#: Builds the recommender of a settings tree (the engine's state and models).
RecommenderFactory = Callable[[Settings], Recommender]


@dataclass(frozen=True, slots=True)
class Arm:
    """Who serves one request: the experiment (``None``: none), the variant, its
    recommender and settings hash; an interleaving arm has two teams."""

    experiment: Experiment | None
    variant: str
    recommender: Recommender
    settings_hash: str
    teams: tuple[tuple[str, Recommender], tuple[str, Recommender]] | None = None

    def run(self, build: Callable[[Recommender], Recommendation], k: int) -> Recommendation:
        """The list of this arm: ``build(recommender)``, or two interleaved."""
        if self.teams is None:
            return build(self.recommender)
        (name_a, a), (name_b, b) = self.teams
        first, second = build(a), build(b)
        found = {item.item_id: item for item in (*second.items, *first.items)}
        rng = random.Random(first.recommendation_id)
        merged, teams = team_draft(
            [i.item_id for i in first.items],
            [i.item_id for i in second.items],
            (name_a, name_b),
            k,
            rng,
        )
        items: list[RecommendedItem] = [found[item] for item in merged]
        return dataclasses.replace(first, items=items, teams=tuple(teams))


class Experiments:
    """Experiment definitions, assignment and the recording of served lists."""

    def __init__(
        self,
        settings: Settings,
        store: ExperimentStore,
        build: RecommenderFactory,
        default: Recommender,
        served_log: ServedLog | None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.served_log = served_log
        self.guardrails = GuardrailWindow(settings.experiments.guardrail_window_lists)
        self._build = build
        self._default = Arm(None, DEFAULT_VARIANT, default, settings_hash(_serving(settings)))
        self._lock = threading.Lock()
        self._recommenders: dict[str, Recommender] = {}
        self._running: dict[str, Experiment] = {}
        self._refresh()

    # -- definitions -----------------------------------------------------------

    def put(self, experiment_id: str, payload: object) -> Experiment:
        """Validate and store an experiment (replacing one with the same id).

        Raises
        ------
        InvalidInput
            For a bad body or overlay (every problem listed).
        Conflict
            If another experiment runs on the same surface.
        """
        previous = self.find(experiment_id)
        created = previous.created_at if previous is not None else now_ms()
        experiment = validate_experiment(experiment_id, payload, self.settings, created)
        running = self._running.get(experiment.surface)
        clash = running is not None and running.experiment_id != experiment_id
        if experiment.status == "running" and running is not None and clash:
            raise Conflict(
                f"experiment {running.experiment_id!r} already runs on "
                f"{experiment.surface}; stop it first",
                [Problem(None, "status", "another experiment is running")],
            )
        self.store.put(experiment)
        self._refresh()
        return experiment

    def find(self, experiment_id: str) -> Experiment | None:
        """The experiment with this id, ``None`` if there is none."""
        return next((e for e in self.store.all() if e.experiment_id == experiment_id), None)

    def get(self, experiment_id: str) -> Experiment:
        """The experiment with this id.

        Raises
        ------
        NotFound
            If there is none.
        """
        found = self.find(experiment_id)
        if found is None:
            raise NotFound(f"no experiment {experiment_id!r}")
        return found

    def all(self) -> list[Experiment]:
        """Every experiment, in id order."""
        return self.store.all()

    def _refresh(self) -> None:
        running = {e.surface: e for e in self.store.all() if e.status == "running"}
        with self._lock:
            self._running = running

    # -- serving ---------------------------------------------------------------

    def arm(self, user_id: str | None, surface: str, forced: str | None = None) -> Arm:
        """The arm that serves ``user_id`` on ``surface`` (``forced`` names a variant).

        Raises
        ------
        InvalidInput
            If ``forced`` is neither ``default`` nor a variant of the running
            experiment.
        """
        experiment = self._running.get(surface)
        if forced == DEFAULT_VARIANT:
            return self._default
        if experiment is None or (user_id is None and forced is None):
            if forced is not None:
                raise InvalidInput(
                    f"no experiment runs on {surface}",
                    [Problem(None, "variant", f"unknown variant {forced!r}")],
                )
            return self._default
        name = forced if forced is not None else assign(experiment, user_id or "")
        if name is None:
            return self._default
        if name == INTERLEAVED and experiment.mode == "interleaving":
            a, b = (self._variant_arm(experiment, v.name) for v in experiment.variants)
            teams = ((a.variant, a.recommender), (b.variant, b.recommender))
            return Arm(experiment, INTERLEAVED, a.recommender, a.settings_hash, teams)
        if experiment.variant(name) is None:
            raise InvalidInput(
                f"experiment {experiment.experiment_id!r} has no variant {name!r}",
                [Problem(None, "variant", f"unknown variant {name!r}")],
            )
        return self._variant_arm(experiment, name)

    def _variant_arm(self, experiment: Experiment, name: str) -> Arm:
        variant = experiment.variant(name)
        if variant is None:
            raise NotFound(f"experiment {experiment.experiment_id!r} has no variant {name!r}")
        merged = merged_settings(self.settings, variant.settings)
        digest = settings_hash(_serving(merged))
        with self._lock:
            recommender = self._recommenders.get(digest)
            if recommender is None:
                recommender = self._recommenders[digest] = self._build(merged)
        return Arm(experiment, name, recommender, digest)

    def use_default(self, recommender: Recommender) -> None:
        """Serve users outside any experiment (and ``default``) from ``recommender``."""
        self._default = dataclasses.replace(self._default, recommender=recommender)

    def close(self) -> None:
        """Release the recommenders built for the default and for variants."""
        with self._lock:
            built = [self._default.recommender, *self._recommenders.values()]
            self._recommenders.clear()
        for recommender in built:
            recommender.close()

    def served(
        self, rec: Recommendation, arm: Arm, surface: str, latency_ms: float
    ) -> Recommendation:
        """Record ``rec`` as served by ``arm``; return it with its experiment and variant."""
        experiment = arm.experiment.experiment_id if arm.experiment is not None else None
        stamped = dataclasses.replace(rec, experiment=experiment, variant=arm.variant)
        if self.served_log is None or not self.settings.experiments.served_log:
            return stamped
        served = ServedList(
            recommendation_id=rec.recommendation_id,
            user_id=rec.user_id,
            surface=surface,
            experiment=experiment,
            variant=arm.variant,
            items=tuple(i.item_id for i in rec.items),
            scores=tuple(i.score for i in rec.items),
            propensities=None,
            model_version=rec.model_version,
            settings_hash=arm.settings_hash,
            served_at=now_ms(),
            latency_ms=latency_ms,
            teams=rec.teams,
        )
        self.served_log.append(served)
        self.guardrails.observe(served)
        return stamped


def _serving(settings: Settings) -> dict[str, Any]:
    """The part of the settings that shapes lists (what the settings hash covers)."""
    dumped = settings.model_dump(mode="json")
    return {key: value for key, value in dumped.items() if key not in PROCESS_SECTIONS}

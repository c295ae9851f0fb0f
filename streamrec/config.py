"""One typed settings tree for every component.

Defaults live here and only here. Values come, in rising priority, from these
defaults, a TOML file (``--config`` or ``STREAMREC_CONFIG``), and environment
variables with the prefix ``STREAMREC_`` and ``__`` between levels, for example
``STREAMREC_DECAY__POPULARITY_HALF_LIFE_S=3600``. Each component receives only its
own section.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from streamrec.access import AuthSettings, LimitSettings
from streamrec.errors import ConfigError
from streamrec.models.settings import ModelSettings
from streamrec.recommend.shaping_settings import ShapingSettings

DAY_S = 86_400.0


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventWeights(_Section):
    """Signal strength of each event type; negative weights are negative feedback.

    A rating's weight is ``rating + rating_per_star * (value - rating_neutral)``; a
    rating at or below ``rating_dislike_at`` also counts as a dislike. An impression
    (an item shown to a user) weighs in the item's statistics only, never in the
    user's profile.

    A view's ``value`` is its dwell time in seconds. With ``dwell_full_s`` set, a view
    with a dwell weighs ``view * min(value / dwell_full_s, 1)``; with
    ``short_dwell_s`` set, a view with a dwell below it weighs ``short_dwell`` and
    counts as negative feedback. Both are off by default.
    """

    view: float = 1.0
    click: float = 1.5
    add_to_cart: float = 4.0
    remove_from_cart: float = -1.0
    wishlist: float = 3.0
    purchase: float = 8.0
    rating: float = 1.0
    rating_per_star: float = 0.5
    rating_neutral: float = 3.0
    rating_dislike_at: float = 1.5
    like: float = 4.0
    dislike: float = -4.0
    skip: float = -0.5
    impression: float = 0.0
    dwell_full_s: float | None = Field(default=None, gt=0)
    short_dwell_s: float | None = Field(default=None, gt=0)
    short_dwell: float = Field(default=-0.5, le=0)


class DecaySettings(_Section):
    """Half-lives (seconds of event time) of the decayed counters.

    Only trending is measured in time by default: its short and long windows compare
    recent rates on live traffic. Popularity, co-occurrence and affinities are
    counts (half-life 0: no decay), so a history replayed from years of events keeps
    all of it; what makes a user's list recent is measured in that user's own items
    (``cooccurrence.window``, ``recommend.recency_half_life_items``). A positive
    half-life decays a counter in event time (docs/design.md, "Time scales").
    """

    popularity_half_life_s: float = Field(default=0.0, ge=0)
    trending_short_half_life_s: float = Field(default=6 * 3600.0, gt=0)
    trending_long_half_life_s: float = Field(default=7 * DAY_S, gt=0)
    cooccurrence_half_life_s: float = Field(default=0.0, ge=0)
    affinity_half_life_s: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _trending_windows(self) -> DecaySettings:
        if self.trending_short_half_life_s >= self.trending_long_half_life_s:
            raise ValueError("trending_short_half_life_s must be below trending_long_half_life_s")
        return self


class ProfileSettings(_Section):
    """Caps of the per-user online state (memory per user is fixed by these).

    ``cart_items`` caps the wishlist as well as the cart.
    """

    recent_items: int = Field(default=200, ge=1, le=1000)
    seen_items: int = Field(default=64, ge=0, le=10_000)
    negative_items: int = Field(default=16, ge=0, le=1000)
    cart_items: int = Field(default=16, ge=0, le=1000)
    top_categories: int = Field(default=8, ge=1, le=64)
    session_gap_s: float = Field(default=1800.0, gt=0)
    ttl_s: float = Field(default=30 * DAY_S, gt=0)


class CooccurrenceSettings(_Section):
    """Item-item co-occurrence over each user's most recent items.

    ``popularity_damping`` scales down popular neighbours at read time: 0 ranks a
    seed's neighbours by conditional probability (the seed system's ``P(i|j)``), 0.5
    is cosine.
    """

    window: int = Field(default=10, ge=1, le=1000)
    max_neighbors: int = Field(default=200, ge=1, le=100_000)
    popularity_damping: float = Field(default=0.0, ge=0, le=1)


class InfluenceSettings(_Section):
    """How much one user can add to what everyone is served (popularity, trending and
    co-occurrence); the user's own profile is never limited.

    An interaction counts for those shared aggregates only while the user has fewer
    than ``pair_cap`` remembered interactions (the last ``profile.recent_items``) with
    the same item in the preceding ``pair_window_s`` seconds, and only if the user is
    not a bot: with ``bot_events`` set, a user whose last ``bot_events`` interactions
    all fall within the preceding ``bot_window_s`` seconds is one (0 turns that off;
    some datasets replay bulk imports at such rates).
    """

    pair_cap: int = Field(default=5, ge=1)
    pair_window_s: float = Field(default=3600.0, gt=0)
    bot_events: int = Field(default=0, ge=0)
    bot_window_s: float = Field(default=60.0, gt=0)


class RecommendSettings(_Section):
    """Candidate generation and blending."""

    default_k: int = Field(default=10, ge=1, le=1000)
    max_k: int = Field(default=200, ge=1, le=10_000)
    seed_items: int = Field(default=20, ge=1, le=1000)
    candidates_per_source: int = Field(default=200, ge=1, le=10_000)
    weight_collaborative: float = Field(default=0.6, ge=0)
    weight_content: float = Field(default=0.3, ge=0)
    weight_popularity: float = Field(default=0.1, ge=0)
    source_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Per-source weights (cooccurrence, als, ease, itemknn, content, "
        "popularity) that replace the weight of the source's kind.",
    )
    session_category_boost: float = Field(default=0.0, ge=0)
    recency_half_life_items: float = Field(default=10.0, gt=0)
    trending_prior: float = Field(default=1.0, gt=0)
    shaping: ShapingSettings = ShapingSettings()


class LogSettings(_Section):
    """Event log: ``embedded`` (files under the data dir) or ``kafka://host:port/topic``."""

    url: str = "embedded"
    group_commit_ms: float = Field(default=2.0, ge=0)
    segment_bytes: int = Field(default=64 * 1024 * 1024, ge=4096)
    fsync: bool = True
    disk_full_retry_s: float = Field(
        default=5.0, gt=0, description="Retry-After of appends refused by a full disk."
    )
    retention_bytes: int = Field(
        default=0,
        ge=0,
        description="Embedded log: delete the oldest segments past this many bytes, "
        "once a snapshot holds them (0: keep everything).",
    )
    retention_s: float = Field(
        default=0.0,
        ge=0,
        description="Embedded log: delete segments last written longer ago than this, "
        "once a snapshot holds them (0: keep everything).",
    )


class StateSettings(_Section):
    """Online state: ``memory`` (snapshotted under the data dir) or ``redis://…``."""

    url: str = "memory"
    timeout_s: float = Field(
        default=5.0, gt=0, description="Socket timeout of a remote state (processors, commands)."
    )
    snapshot_interval_s: float = Field(default=60.0, gt=0)
    snapshot_every_events: int = Field(default=1_000_000, ge=1)


class HistorySettings(_Section):
    """Event history for training: ``embedded`` (the event log) or ``postgresql://…``."""

    url: str = "embedded"


class ProcessorSettings(_Section):
    """The stream processor's micro-batches."""

    max_batch: int = Field(default=20_000, ge=1)
    poll_interval_ms: float = Field(default=1.0, ge=0)


class ArchiveSettings(_Section):
    """The history archiver (``streamrec archive``): Kafka log -> PostgreSQL history.

    It reads micro-batches of up to ``batch_size`` events and writes them in chunks
    of that size. While the history fails it keeps what it read, up to
    ``buffer_events`` (then it stops fetching), and retries after
    ``backoff_base_s``, doubling up to ``backoff_max_s``.
    """

    batch_size: int = Field(default=10_000, ge=1)
    buffer_events: int = Field(default=200_000, ge=1)
    poll_timeout_ms: float = Field(default=100.0, ge=0)
    backoff_base_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _backoff_range(self) -> ArchiveSettings:
        if self.backoff_max_s < self.backoff_base_s:
            raise ValueError("backoff_max_s must be at least backoff_base_s")
        return self


class ServingSettings(_Section):
    """The HTTP server."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_events_per_request: int = Field(default=10_000, ge=1)
    wait_timeout_s: float = Field(default=10.0, gt=0)
    max_lag_events: int = Field(
        default=1_000_000,
        ge=0,
        description="Past this processor lag, POST /v1/events answers 503 with "
        "Retry-After (0: no bound).",
    )
    retry_after_s: float = Field(default=1.0, gt=0)
    replay_wait_s: float = Field(
        default=5.0,
        ge=0,
        description="How long after the start reads wait for the replay of the log tail; "
        'past it, lists are served flagged degraded: ["replaying"].',
    )
    state_timeout_s: float = Field(
        default=0.5,
        gt=0,
        description="Socket timeout of a remote state in API replicas: a stalled state "
        "must not stall requests (they are served from the fallback instead).",
    )
    cors_origins: tuple[str, ...] = Field(
        default=(), description="Origins browsers may call the API from ('*' for any)."
    )
    http_server: Literal["granian", "uvicorn"] = Field(
        default="granian",
        description="The HTTP server, in the engine's process: granian (Rust HTTP/1.1, "
        "the faster in BENCHMARKS.md) or uvicorn (httptools, uvloop).",
    )


class DriftSettings(_Section):
    """Drift monitoring: live windows of recent events and served scores against a
    reference (see :mod:`streamrec.processing.drift`).

    Events are counted in blocks of ``block_events``; the live window is the last
    ``window_blocks`` full blocks. The reference is the training window stored in the
    model's manifest or, without one, the first ``reference_events`` events seen.
    """

    block_events: int = Field(default=10_000, ge=1)
    window_blocks: int = Field(default=10, ge=1, le=10_000)
    reference_events: int = Field(default=100_000, ge=1)


class MetricsSettings(_Section):
    """The ``/metrics`` endpoint of roles without the HTTP API (``streamrec process``):
    off unless ``port`` is set (0 takes any free port)."""

    port: int | None = Field(default=None, ge=0, le=65535)
    host: str = "127.0.0.1"


class ExperimentSettings(_Section):
    """Served-list log, attribution and experiment reports (see docs/experiments.md).

    Every served list is logged under the data dir (or to the Kafka topic
    ``<topic>.served``) and kept ``served_retention_s`` seconds, at most
    ``served_max_lists`` lists; attribution indexes the last
    ``attribution_max_lists`` lists (as old as ``served_retention_s`` at most). An
    event without a ``recommendation_id`` is credited to the user's latest list
    holding its item, served up to ``attribution_window_s`` before it (0: only
    events that carry the id are attributed).
    """

    served_log: bool = True
    served_log_wait: bool = Field(
        default=False,
        description="Whether a response waits until its served list is on disk (fsync); "
        "otherwise the list is written within the log's group commit.",
    )
    served_retention_s: float = Field(default=7 * DAY_S, gt=0)
    served_max_lists: int = Field(default=1_000_000, ge=10)
    attribution_max_lists: int = Field(default=100_000, ge=10)
    attribution_window_s: float = Field(default=1800.0, ge=0)
    lists_per_user: int = Field(default=8, ge=1, le=1000)
    report_bucket_s: float = Field(default=3600.0, gt=0)
    guardrail_window_lists: int = Field(default=5000, ge=10)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    msprt_tau: float = Field(
        default=0.05, gt=0, description="Prior scale of the mSPRT mixture (CTR difference)."
    )


class Settings(BaseSettings):
    """The whole settings tree."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMREC_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Path("streamrec-data")
    weights: EventWeights = EventWeights()
    decay: DecaySettings = DecaySettings()
    profile: ProfileSettings = ProfileSettings()
    cooccurrence: CooccurrenceSettings = CooccurrenceSettings()
    influence: InfluenceSettings = InfluenceSettings()
    recommend: RecommendSettings = RecommendSettings()
    log: LogSettings = LogSettings()
    state: StateSettings = StateSettings()
    history: HistorySettings = HistorySettings()
    processor: ProcessorSettings = ProcessorSettings()
    archive: ArchiveSettings = ArchiveSettings()
    serving: ServingSettings = ServingSettings()
    models: ModelSettings = ModelSettings()
    drift: DriftSettings = DriftSettings()
    metrics: MetricsSettings = MetricsSettings()
    auth: AuthSettings = AuthSettings()
    limits: LimitSettings = LimitSettings()
    experiments: ExperimentSettings = ExperimentSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("STREAMREC_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Read settings from defaults, an optional TOML file, env vars and overrides.

    Raises
    ------
    ConfigError
        If the file is missing or unreadable, or a value is invalid.
    """
    try:
        if config_file is not None:
            path = Path(config_file)
            if not path.is_file():
                raise ConfigError(f"config file {path} does not exist")
            with path.open("rb") as handle:
                file_values = tomllib.load(handle)
            env_only = Settings()
            merged = deep_merge(file_values, _explicit_env(env_only))
            return Settings(**deep_merge(merged, overrides))
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {_without_inputs(exc)}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from None


def _without_inputs(error: ValidationError) -> str:
    """The problems of ``error`` without the values (which may be secrets, like keys)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
        for e in error.errors(include_input=False)
    )


def _explicit_env(settings: Settings) -> dict[str, Any]:
    """The values that environment variables set explicitly (they beat the file)."""
    return settings.model_dump(exclude_unset=True)


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``top`` merged onto ``base`` section by section (a value of ``top`` replaces
    the one of ``base`` unless both are sections)."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged

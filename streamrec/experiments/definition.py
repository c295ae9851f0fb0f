"""An experiment as ``PUT /v1/experiments/{id}`` defines it, validated whole.

A variant's ``settings`` is an overlay of the settings tree (the TOML file's
keys): it is deep-merged onto the engine's settings and the result validated
like the file is, so every key of the serving sections — weights, sources,
list shaping, whatever the tree holds — can differ per variant, and an unknown
key or a bad value is a 422 at ``PUT`` time. Sections that configure the
process rather than its lists (paths, URLs, the server, the processor) cannot.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from streamrec.config import Settings, deep_merge
from streamrec.errors import InvalidInput, Problem

#: Top-level keys of the settings tree a variant may not change.
PROCESS_SECTIONS = frozenset(
    {
        "data_dir",
        "log",
        "state",
        "history",
        "processor",
        "archive",
        "serving",
        "metrics",
        "drift",
        "experiments",
    }
)
#: The variant every user outside a running experiment gets.
DEFAULT_VARIANT = "default"
#: The variant of an interleaving experiment's users (their list mixes both arms).
INTERLEAVED = "interleaved"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

Status = Literal["running", "stopped"]
Mode = Literal["ab", "interleaving"]


class Variant(BaseModel):
    """One arm: its name, its share of the experiment's users and its overlay."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    traffic: float = Field(ge=0, le=1, allow_inf_nan=False)
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("traffic", mode="before")
    @classmethod
    def _traffic(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("traffic must be a number from 0 to 1, not true or false")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value) or value in (DEFAULT_VARIANT, INTERLEAVED):
            raise ValueError(
                "a variant name is letters, digits, '_', '.', '-' (not 'default' or 'interleaved')"
            )
        return value


class ExperimentBody(BaseModel):
    """The body of ``PUT /v1/experiments/{id}``.

    ``mode`` is ``ab`` (each user gets one variant's list) or ``interleaving``
    (two variants, whose lists are merged by team draft for every user in the
    experiment's traffic). ``surface`` is where it runs (``recommendations``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    variants: list[Variant] = Field(min_length=1, max_length=20)
    salt: str | None = Field(default=None, min_length=1, max_length=256)
    status: Status = "running"
    mode: Mode = "ab"
    surface: str = Field(default="recommendations", pattern=r"^[a-z_]{1,32}$")

    @model_validator(mode="after")
    def _variants(self) -> ExperimentBody:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        total = sum(v.traffic for v in self.variants)
        if self.mode == "ab" and total > 1 + 1e-9:
            raise ValueError(f"the variants' traffic adds up to {total:g}, above 1")
        if self.mode == "interleaving" and len(self.variants) != 2:
            raise ValueError("an interleaving experiment has exactly two variants")
        return self


class Experiment(BaseModel):
    """A stored experiment: its id, body, and when it was created (epoch ms)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    experiment_id: str
    variants: list[Variant]
    salt: str
    status: Status
    mode: Mode
    surface: str
    created_at: int

    def variant(self, name: str) -> Variant | None:
        """The variant called ``name``."""
        return next((v for v in self.variants if v.name == name), None)


def merged_settings(base: Settings, overlay: dict[str, Any]) -> Settings:
    """``base`` with ``overlay`` merged on, validated.

    Raises
    ------
    InvalidInput
        For a key the tree does not have, a process section, or a bad value.
    """
    problems = [
        Problem(None, f"settings.{key}", "a variant cannot change this section")
        for key in overlay
        if key in PROCESS_SECTIONS
    ]
    allowed = {key: value for key, value in overlay.items() if key not in PROCESS_SECTIONS}
    try:
        merged = Settings.model_validate(deep_merge(base.model_dump(), allowed))
    except ValidationError as exc:
        problems.extend(
            Problem(None, "settings." + ".".join(str(p) for p in e["loc"]), e["msg"])
            for e in exc.errors(include_url=False, include_input=False)
        )
    if problems:
        raise InvalidInput("the overlay does not fit the settings tree", problems)
    return merged


def validate_experiment(
    experiment_id: str, payload: object, base: Settings, created_at: int
) -> Experiment:
    """The experiment ``payload`` defines, every overlay checked against ``base``.

    Raises
    ------
    InvalidInput
        Listing every problem of the body and of each variant's overlay.
    """
    try:
        body = ExperimentBody.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput(
            "the experiment does not fit the API",
            [
                Problem(None, ".".join(str(p) for p in e["loc"]) or None, e["msg"])
                for e in exc.errors(include_url=False, include_input=False)
            ],
        ) from None
    problems: list[Problem] = []
    for index, variant in enumerate(body.variants):
        try:
            merged_settings(base, variant.settings)
        except InvalidInput as exc:
            problems.extend(
                Problem(index, f"variants.{index}.{p.field}", p.message) for p in exc.problems
            )
    if problems:
        raise InvalidInput("a variant's settings are invalid", problems)
    return Experiment(
        experiment_id=experiment_id,
        variants=body.variants,
        salt=body.salt or experiment_id,
        status=body.status,
        mode=body.mode,
        surface=body.surface,
        created_at=created_at,
    )


def assign(experiment: Experiment, user_id: str) -> str | None:
    """The variant of ``user_id``: deterministic and sticky, a hash of the salt and the
    user id mapped onto the variants' cumulative traffic (``None``: outside it)."""
    digest = hashlib.sha256(f"{experiment.salt}\x00{user_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2.0**64
    if experiment.mode == "interleaving":
        total = sum(v.traffic for v in experiment.variants)
        return INTERLEAVED if point < total else None
    upper = 0.0
    for variant in experiment.variants:
        upper += variant.traffic
        if point < upper:
            return variant.name
    return None

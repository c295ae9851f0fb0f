"""Who may call the API and how much: API keys (settings section ``auth``) and
request limits (``limits``).

They are sections of the one settings tree (:class:`streamrec.config.Settings`);
this module imports nothing of the web stack, so the tree stays importable without it.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class Scope(StrEnum):
    """What a key may do: ``read`` lists and profiles, ``write`` events and the
    catalog, ``admin`` experiments, models, rules, editorial lists and deletion."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiKey(_Section):
    """One API key: a name (for logs and rate limits; the key itself is never logged),
    the key or the hex SHA-256 digest of it, and its scopes."""

    name: str = Field(min_length=1, max_length=256)
    key: SecretStr | None = Field(default=None, min_length=16)
    key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    scopes: frozenset[Scope] = Field(min_length=1)
    rate_per_s: float | None = Field(
        default=None, gt=0, description="This key's rate limit (overrides limits.rate_per_s)."
    )

    @model_validator(mode="after")
    def _one_secret(self) -> ApiKey:
        if (self.key is None) == (self.key_sha256 is None):
            raise ValueError(f"API key {self.name!r} needs exactly one of key and key_sha256")
        return self

    def digest(self) -> bytes:
        """The SHA-256 digest of the key (what requests are compared against)."""
        if self.key is not None:
            return hashlib.sha256(self.key.get_secret_value().encode()).digest()
        return bytes.fromhex(self.key_sha256 or "")


class AuthSettings(_Section):
    """API keys. With none configured the API is open (and ``streamrec serve`` refuses
    a non-loopback host unless ``--insecure``); with keys, every route but
    ``/healthz``, ``/readyz``, the OpenAPI description and docs (and ``/metrics``
    unless ``protect_metrics``) needs a key with the route's scope."""

    keys: tuple[ApiKey, ...] = ()
    protect_metrics: bool = False

    @model_validator(mode="after")
    def _unique(self) -> AuthSettings:
        names = [k.name for k in self.keys]
        if len(set(names)) != len(names):
            raise ValueError("API key names must be unique")
        digests = [k.digest() for k in self.keys]
        if len(set(digests)) != len(digests):
            raise ValueError("two API keys have the same secret")
        return self

    @property
    def enabled(self) -> bool:
        """Whether requests need a key."""
        return bool(self.keys)


class LimitSettings(_Section):
    """Bounds on what one request, or one client, may send.

    ``rate_per_s`` (off by default) is a token bucket per API key (per client address
    without keys) refilled at that rate and holding up to ``rate_burst`` requests;
    past it requests get 429 with ``Retry-After``. Event timestamps before
    ``event_time_min_ms`` or more than ``event_time_max_skew_s`` ahead of the
    server's clock are rejected (listed in the batch's 422).
    """

    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    rate_per_s: float | None = Field(default=None, gt=0)
    rate_burst: float = Field(default=100.0, ge=1)
    event_time_min_ms: int = Field(default=0, ge=0)
    event_time_max_skew_s: float = Field(default=86_400.0, ge=0)

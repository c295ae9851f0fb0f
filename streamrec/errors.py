"""The streamrec error hierarchy.

Adapters translate driver errors into these; the HTTP layer maps them to status
codes in one place (:mod:`streamrec.serving.errors`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: which element, which field, and why."""

    index: int | None
    field: str | None
    message: str


class StreamrecError(Exception):
    """Base class of every error streamrec raises on purpose."""


class InvalidInput(StreamrecError):
    """A request or record that does not fit the contract; nothing of it was stored."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class BatchTooLarge(InvalidInput):
    """A batch holding more events than one request may carry (rejected whole)."""


class Conflict(InvalidInput):
    """A valid request that clashes with what is stored (nothing of it was stored)."""


class NotFound(StreamrecError):
    """A user, item or model that streamrec does not know."""


class ConfigError(StreamrecError):
    """Settings that cannot work (bad URL, missing extra, contradictory values)."""


class BackendUnavailable(StreamrecError):
    """An external store or log did not answer; the caller may degrade or retry."""


class Overloaded(BackendUnavailable):
    """Writes are refused for now (the processor is too far behind, or the disk is
    full); nothing was stored. Retry after ``retry_after_s`` seconds."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CorruptData(StreamrecError):
    """Stored data failed an integrity check (checksum, format, version)."""


class PublishRefused(StreamrecError):
    """Training finished but did not publish: validation did not justify it (the
    message says why)."""

"""API keys: which scope a request needs, and which key (if any) it carries.

The scope of a request is read from one table, :data:`ACCESS`, of method and path
patterns (first match wins), so a route gets its scope from where it lives, not
from code in the route: an unknown write under ``/v1`` needs ``admin``, an unknown
``GET`` needs ``read``. Keys are compared as SHA-256 digests with
:func:`hmac.compare_digest`, against every configured key (no early exit), and
only their names ever reach a log.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from starlette.requests import cookie_parser

from streamrec.access import AuthSettings, Scope

#: Methods that only read.
READS = frozenset({"GET", "HEAD"})
#: Any method.
ANY = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Rule:
    """Requests with one of ``methods`` whose path matches ``pattern`` need ``scope``
    (``None``: open to anyone)."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    scope: Scope | None

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule covers the request."""
        return method in self.methods and self.pattern.fullmatch(path) is not None


def _rule(methods: Iterable[str], pattern: str, scope: Scope | None) -> Rule:
    return Rule(frozenset(methods), re.compile(pattern), scope)


#: The scope of every request, first match wins (``/metrics`` is decided apart, by
#: ``auth.protect_metrics``).
ACCESS: tuple[Rule, ...] = (
    _rule(READS, r"/healthz|/readyz|/openapi\.json|/docs|/docs/oauth2-redirect|/redoc", None),
    _rule(READS, r"/ui/static/.+", None),
    _rule({"GET", "HEAD", "POST"}, r"/ui/login|/ui/logout", None),
    _rule(READS, r"/ui/experiments(/.*)?", Scope.ADMIN),
    _rule(ANY, r"/v1/(experiments|models|rules|editorial)(/.*)?", Scope.ADMIN),
    _rule({"DELETE"}, r".*", Scope.ADMIN),
    _rule({"POST"}, r"/v1/events", Scope.WRITE),
    _rule({"PUT", "POST", "PATCH"}, r"/v1/items(/[^/]+)?", Scope.WRITE),
    _rule({"PUT", "PATCH"}, r"/v1/users/[^/]+", Scope.WRITE),
    _rule(READS, r"/(v1|ui)(/.*)?", Scope.READ),
)
METRICS_PATH = "/metrics"
#: :data:`ACCESS` by method, in order (what a request's lookup walks).
_BY_METHOD = {m: tuple(r for r in ACCESS if m in r.methods) for m in ANY}
#: The cookie the dashboard's sign-in form sets (``streamrec.ui.login``); it counts as
#: a key only for reads under :data:`UI_PATH`.
UI_KEY_COOKIE = "streamrec_key"
UI_PATH = "/ui"


def required_scope(method: str, path: str, protect_metrics: bool) -> Scope | None:
    """The scope a request needs (``None`` when it is open).

    Requests no rule covers need ``read`` to read and ``admin`` for anything else.
    """
    if path == METRICS_PATH and method in READS:
        return Scope.READ if protect_metrics else None
    for rule in _BY_METHOD.get(method, ()):
        if rule.pattern.fullmatch(path) is not None:
            return rule.scope
    return Scope.READ if method in READS else Scope.ADMIN


@dataclass(frozen=True, slots=True)
class Caller:
    """The key a request carries: its name, scopes and rate limit."""

    name: str
    scopes: frozenset[Scope]
    rate_per_s: float | None


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key of ``Authorization: Bearer <key>`` or ``X-API-Key`` (``None`` without)."""
    authorization = headers.get("authorization")
    if authorization is not None:
        kind, _, credentials = authorization.partition(" ")
        if kind.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    key = headers.get("x-api-key")
    return key if key else None


def is_ui(path: str) -> bool:
    """Whether ``path`` is the dashboard's."""
    return path == UI_PATH or path.startswith(f"{UI_PATH}/")


def request_key(method: str, path: str, headers: Mapping[str, str]) -> str | None:
    """The key a request carries: :func:`presented_key`, else, for a read of a
    dashboard page (which a browser's address bar cannot send headers with), the
    sign-in cookie."""
    key = presented_key(headers)
    if key is None and method in READS and is_ui(path):
        key = cookie_parser(headers.get("cookie", "")).get(UI_KEY_COOKIE) or None
    return key


class KeyRing:
    """The configured keys, by digest; :meth:`identify` finds a request's caller."""

    def __init__(self, settings: AuthSettings) -> None:
        self._keys = [
            (k.digest(), Caller(k.name, frozenset(k.scopes), k.rate_per_s)) for k in settings.keys
        ]

    def identify(self, key: str) -> Caller | None:
        """The caller whose key is ``key``, compared in constant time (``None``: unknown)."""
        digest = hashlib.sha256(key.encode()).digest()
        found = None
        for known, caller in self._keys:
            if hmac.compare_digest(digest, known):
                found = caller
        return found

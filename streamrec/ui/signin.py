"""Where a browser without a key goes: the dashboard's sign-in page, and back.

A page load from the address bar cannot send an ``X-API-Key`` header, so with keys
configured a read of a dashboard page without a valid key (header or sign-in cookie)
is sent to ``/ui/login?next=<page>``; the polled fragments under
``/ui/fragments/`` answer 401 instead, as the JSON API does.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.types import Scope

SIGN_IN_PATH = "/ui/login"
FRAGMENTS = "/ui/fragments/"
#: Where a sign-in leads without a (safe) ``next``.
HOME = "/ui/"


def is_fragment(path: str) -> bool:
    """Whether ``path`` is a fragment a page fetches (not a page a person opens)."""
    return path.startswith(FRAGMENTS)


def safe_next(target: str | None) -> str:
    """``target`` when it is a dashboard address on this server, else :data:`HOME`
    (a sign-in never leads off the dashboard)."""
    path = (target or "").split("?", 1)[0]
    on_dashboard = path == "/ui" or (path.startswith("/ui/") and not path.startswith("/ui//"))
    if target and on_dashboard and "\\" not in target and path != SIGN_IN_PATH:
        return target
    return HOME


def sign_in_url(scope: Scope) -> str:
    """The sign-in page's address, leading back to the request's page."""
    page = scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        page = f"{page}?{query}"
    return f"{SIGN_IN_PATH}?{urlencode({'next': page})}"

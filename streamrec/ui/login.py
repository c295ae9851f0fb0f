"""The dashboard's sign-in: a form that takes an API key and keeps it in a cookie.

``POST /ui/login`` checks the key against the configured ones (it must have the
``read`` scope) and sets :data:`~streamrec.serving.auth.UI_KEY_COOKIE`
(``HttpOnly``, ``SameSite=Strict``, path ``/ui``, ``Secure`` over HTTPS, for the
browser session), which the guard accepts for reads under ``/ui`` only. The page's
script also keeps the key in the tab's ``sessionStorage``, from where the
storefront sends it as ``X-API-Key`` to the JSON API. ``POST /ui/logout`` clears
both. See docs/security.md.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from streamrec.access import Scope
from streamrec.serving.auth import UI_KEY_COOKIE, UI_PATH, KeyRing
from streamrec.serving.dependencies import SettingsDep
from streamrec.ui.render import page
from streamrec.ui.signin import HOME, SIGN_IN_PATH, safe_next

router = APIRouter(prefix="/ui", include_in_schema=False)
#: The longest key a form may carry (keys are hashed; nothing longer is configured).
MAX_KEY_LENGTH = 4096
#: The page to go back to after signing in.
NextField = Annotated[str | None, Query(max_length=2048)]


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep, next: NextField = None) -> HTMLResponse:
    """The key form (or, with no keys configured, a note that the dashboard is open)."""
    return page(
        request, "login.html", page="login", next=safe_next(next), enabled=settings.auth.enabled
    )


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, settings: SettingsDep) -> Response:
    """Check the key; on success set the cookie and go to ``next``."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=4)
    key = (form.get("key") or [""])[0].strip()
    target = safe_next((form.get("next") or [""])[0])
    caller = KeyRing(settings.auth).identify(key) if 0 < len(key) <= MAX_KEY_LENGTH else None
    if caller is None or Scope.READ not in caller.scopes:
        problem = "the key is not known" if caller is None else "the key lacks the 'read' scope"
        return page(
            request,
            "login.html",
            status_code=401 if caller is None else 403,
            page="login",
            next=target,
            enabled=settings.auth.enabled,
            problem=problem,
        )
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(
        UI_KEY_COOKIE,
        key,
        path=UI_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return answer


@router.post("/logout")
def logout() -> Response:
    """Forget the key (the page's script clears the tab's copy)."""
    answer = RedirectResponse(f"{SIGN_IN_PATH}?next={HOME}", status_code=303)
    answer.delete_cookie(UI_KEY_COOKIE, path=UI_PATH, httponly=True, samesite="strict")
    return answer

"""The dashboard's pages under ``/ui``: Jinja2 templates over :mod:`streamrec.ui.views`.

Pages are whole HTML documents; the overview's figures are a fragment that htmx
polls (``/ui/fragments/overview``) and swaps in, and its charts (uPlot) plot the
JSON the fragment carries. The storefront talks to the JSON API from the browser.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from streamrec.engine import Engine
from streamrec.events import MAX_ID_LENGTH
from streamrec.serving.dependencies import EngineDep, MetricsDep
from streamrec.serving.metrics import ApiMetrics
from streamrec.ui import views
from streamrec.ui.live import LiveWindow, Sample

HERE = Path(__file__).parent
#: Products in the storefront's grid.
SHOP_PRODUCTS = 24

templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/ui", include_in_schema=False)

#: An optional id typed into an inspector's form.
IdField = Annotated[str | None, Query(max_length=MAX_ID_LENGTH)]


def _number(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def _seconds(value: float | None) -> str:
    """A duration with a unit that suits it (``—`` when unknown)."""
    if value is None:
        return "—"
    for limit, unit, scale in ((1e-3, "µs", 1e6), (1.0, "ms", 1e3), (120, "s", 1.0)):
        if value < limit:
            return f"{value * scale:.3g} {unit}"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def _json(value: Any) -> Markup:
    """JSON safe to put inside a ``<script>`` element."""
    text = orjson.dumps(value).decode().replace("<", "\\u003c")
    return Markup(text)  # "<" is escaped: the text cannot close the element


templates.env.filters.update(number=_number, seconds=_seconds, json=_json)


def install_ui(app: FastAPI) -> None:
    """Serve the dashboard and its packaged assets (no CDN) from ``app``."""
    app.state.ui_live = LiveWindow()
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(router)


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context)


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, engine: EngineDep, metrics: MetricsDep) -> HTMLResponse:
    """Live figures, popular and trending items."""
    return _page(request, "overview.html", page="overview", **_overview(request, engine, metrics))


@router.get("/fragments/overview", response_class=HTMLResponse)
def overview_fragment(request: Request, engine: EngineDep, metrics: MetricsDep) -> HTMLResponse:
    """The overview's figures, polled by the page."""
    return _page(request, "_overview.html", **_overview(request, engine, metrics))


def _overview(request: Request, engine: Engine[Any], metrics: ApiMetrics) -> dict[str, Any]:
    live: LiveWindow = request.app.state.ui_live
    return {
        "view": views.overview(engine),
        "live": live.observe(Sample.of(metrics.registry)),
    }


@router.get("/users", response_class=HTMLResponse)
def user_page(request: Request, engine: EngineDep, user_id: IdField = None) -> HTMLResponse:
    """Profile, session, affinities and recommendations of one user."""
    user = views.user_view(engine, user_id) if user_id else None
    return _page(request, "user.html", page="users", user_id=user_id or "", user=user)


@router.get("/items", response_class=HTMLResponse)
def item_page(request: Request, engine: EngineDep, item_id: IdField = None) -> HTMLResponse:
    """Statistics, conversion and neighbours of one item."""
    item = views.item_view(engine, item_id) if item_id else None
    return _page(request, "item.html", page="items", item_id=item_id or "", item=item)


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, engine: EngineDep) -> HTMLResponse:
    """Published model versions and their manifests' metrics."""
    status = engine.status()
    return _page(
        request,
        "models.html",
        page="models",
        models=views.models_view(engine),
        retrain=status.retrain.as_dict() if status.retrain is not None else None,
    )


@router.get("/drift", response_class=HTMLResponse)
def drift_page(request: Request, engine: EngineDep) -> HTMLResponse:
    """PSI and KL of each monitored feature, with both windows' shares."""
    return _page(
        request,
        "drift.html",
        page="drift",
        features=views.drift_view(engine),
        settings=engine.settings.drift,
        applied=engine.applied_events(),
    )


@router.get("/shop", response_class=HTMLResponse)
def shop_page(request: Request, engine: EngineDep, user: IdField = None) -> HTMLResponse:
    """The live storefront."""
    products = views.shop_products(engine, SHOP_PRODUCTS)
    return _page(
        request,
        "shop.html",
        page="shop",
        products=products,
        shopper=user or "",
        titles={p.item_id: {"title": p.title, "category": p.category} for p in products},
    )

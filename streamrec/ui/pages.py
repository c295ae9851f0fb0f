"""The dashboard's pages under ``/ui``: Jinja2 templates over :mod:`streamrec.ui.views`.

Pages are whole HTML documents; the overview's figures are a fragment that htmx
polls (``/ui/fragments/overview``) and swaps in, and its charts (uPlot) plot the
JSON the fragment carries. The storefront talks to the JSON API from the browser.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from streamrec.engine import Engine
from streamrec.serving.dependencies import EngineDep, MetricsDep
from streamrec.serving.metrics import ApiMetrics
from streamrec.ui import experiments, login, views
from streamrec.ui.live import LiveWindow, Sample
from streamrec.ui.render import HERE, IdField, IdText, page

#: Products in the storefront's grid.
SHOP_PRODUCTS = 24

router = APIRouter(prefix="/ui", include_in_schema=False)


def install_ui(app: FastAPI) -> None:
    """Serve the dashboard and its packaged assets (no CDN) from ``app``."""
    app.state.ui_live = LiveWindow()
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(router)
    app.include_router(experiments.router)
    app.include_router(login.router)


@router.get("/", response_class=HTMLResponse)
def overviewpage(request: Request, engine: EngineDep, metrics: MetricsDep) -> HTMLResponse:
    """Live figures, popular and trending items."""
    return page(request, "overview.html", page="overview", **_overview(request, engine, metrics))


@router.get("/fragments/overview", response_class=HTMLResponse)
def overview_fragment(request: Request, engine: EngineDep, metrics: MetricsDep) -> HTMLResponse:
    """The overview's figures, polled by the page."""
    return page(request, "_overview.html", **_overview(request, engine, metrics))


def _overview(request: Request, engine: Engine[Any], metrics: ApiMetrics) -> dict[str, Any]:
    live: LiveWindow = request.app.state.ui_live
    return {
        "view": views.overview(engine),
        "live": live.observe(Sample.of(metrics.registry)),
    }


@router.get("/users", response_class=HTMLResponse)
def userpage(request: Request, engine: EngineDep, user_id: IdField = None) -> HTMLResponse:
    """Profile, session, affinities and recommendations of one user."""
    user = views.user_view(engine, user_id) if user_id else None
    return page(request, "user.html", page="users", user_id=user_id or "", user=user)


@router.get("/fragments/explain", response_class=HTMLResponse)
def explain_fragment(
    request: Request, engine: EngineDep, user_id: IdText, item_id: IdText
) -> HTMLResponse:
    """Why an item is or is not on the user's list (the inspector's why-not form)."""
    found = views.explain_view(engine, user_id, item_id)
    return page(request, "_explain.html", found=found, title=views.title_of(engine, item_id))


@router.get("/items", response_class=HTMLResponse)
def itempage(request: Request, engine: EngineDep, item_id: IdField = None) -> HTMLResponse:
    """Statistics, conversion and neighbours of one item."""
    item = views.item_view(engine, item_id) if item_id else None
    return page(request, "item.html", page="items", item_id=item_id or "", item=item)


@router.get("/models", response_class=HTMLResponse)
def modelspage(request: Request, engine: EngineDep) -> HTMLResponse:
    """Published model versions and their manifests' metrics."""
    status = engine.status()
    return page(
        request,
        "models.html",
        page="models",
        models=views.models_view(engine),
        retrain=status.retrain.as_dict() if status.retrain is not None else None,
    )


@router.get("/drift", response_class=HTMLResponse)
def driftpage(request: Request, engine: EngineDep) -> HTMLResponse:
    """PSI and KL of each monitored feature, with both windows' shares."""
    return page(
        request,
        "drift.html",
        page="drift",
        features=views.drift_view(engine),
        settings=engine.settings.drift,
        applied=engine.applied_events(),
    )


@router.get("/shop", response_class=HTMLResponse)
def shoppage(request: Request, engine: EngineDep, user: IdField = None) -> HTMLResponse:
    """The live storefront."""
    products = views.shop_products(engine, SHOP_PRODUCTS)
    return page(
        request,
        "shop.html",
        page="shop",
        products=products,
        shopper=user or "",
        titles={p.item_id: {"title": p.title, "category": p.category} for p in products},
    )

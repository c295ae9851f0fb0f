"""The dashboard's templates (Jinja2) with their filters, and the pages' shared pieces."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from streamrec.events import MAX_ID_LENGTH

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

#: An optional id typed into an inspector's form.
IdField = Annotated[str | None, Query(max_length=MAX_ID_LENGTH)]
#: A required id.
IdText = Annotated[str, Query(min_length=1, max_length=MAX_ID_LENGTH)]


def _number(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def _percent(value: float | None, digits: int = 1) -> str:
    """A ratio as a percentage (``—`` when unknown)."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


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


templates.env.filters.update(number=_number, percent=_percent, seconds=_seconds, json=_json)


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The template ``name`` rendered with ``context``."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)

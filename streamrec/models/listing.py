"""``streamrec models list``: the published versions with what they were validated on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamrec.models.store import ModelStore

#: Columns of the listing.
HEADER = ("version", "latest", "kinds", "events", "validation ndcg@10", "popularity ndcg@10")


def _metric(validation: Mapping[str, Any] | None, part: str) -> str:
    value = ((validation or {}).get(part) or {}).get("ndcg@10")
    return "-" if value is None else f"{value:.4f}"


def version_rows(store: ModelStore) -> list[tuple[str, ...]]:
    """One row per complete version, oldest first (see :data:`HEADER`)."""
    latest = store.latest_version()
    rows: list[tuple[str, ...]] = []
    for version in store.versions():
        manifest = store.manifest(version)
        validation = manifest.get("validation")
        events = (manifest.get("data_window") or {}).get("n_events")
        rows.append(
            (
                version,
                "*" if version == latest else "",
                ",".join(manifest.get("kinds", [])),
                "-" if events is None else str(events),
                _metric(validation, "metrics"),
                _metric(validation, "popularity"),
            )
        )
    return rows


def format_rows(rows: list[tuple[str, ...]]) -> str:
    """The rows under :data:`HEADER`, in aligned columns."""
    table = [HEADER, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )

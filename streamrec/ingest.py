"""Loading event files into a running server or straight into a data directory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
from tqdm import tqdm

from streamrec.bootstrap import open_engine
from streamrec.config import Settings
from streamrec.datasets import Format, open_events
from streamrec.errors import BackendUnavailable, InvalidInput


def ingest_into_engine(
    path: Path, settings: Settings, format: Format, chunk_size: int, progress: bool
) -> int:
    """Append a file's events to the configured log and apply them.

    Returns once every event is durable and applied (embedded: and reflected in the
    snapshot written on close).
    """
    stream = open_events(path, format, chunk_size=chunk_size)
    engine = open_engine(settings)
    try:
        if stream.catalog:
            engine.upsert_items(stream.catalog)
        total = 0
        with tqdm(total=stream.total, unit="ev", disable=not progress, desc="ingest") as bar:
            for batch in stream:
                engine.ingest(batch, wait=False)
                total += len(batch)
                bar.update(len(batch))
        if not engine.catch_up(timeout_s=3600):
            raise BackendUnavailable("the events are durable but were not applied within an hour")
        return total
    finally:
        engine.close()


def ingest_over_http(
    path: Path,
    url: str,
    format: Format,
    chunk_size: int,
    progress: bool,
    api_key: str | None = None,
) -> int:
    """POST a file's catalog and events to a server, in batches (with ``api_key`` as
    a Bearer token when given: it needs the ``write`` scope)."""
    stream = open_events(path, format, chunk_size=chunk_size)
    total = 0
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=url.rstrip("/"), timeout=60, headers=headers) as client:
        try:
            for start in range(0, len(stream.catalog), chunk_size):
                items = [dataclasses.asdict(i) for i in stream.catalog[start : start + chunk_size]]
                _check(client.post("/v1/items", json={"items": items}))
            with tqdm(total=stream.total, unit="ev", disable=not progress, desc="ingest") as bar:
                for batch in stream:
                    _check(client.post("/v1/events", json={"events": list(batch.records())}))
                    total += len(batch)
                    bar.update(len(batch))
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"server at {url} failed: {exc}") from exc
    return total


def _check(response: httpx.Response) -> None:
    if response.status_code == 422:
        raise InvalidInput(f"server rejected a batch: {response.text}")
    if response.is_error:
        raise BackendUnavailable(f"server answered {response.status_code}: {response.text}")

"""``streamrec demo``: a synthetic shop streaming into a live engine.

It starts the HTTP API on embedded defaults, loads a synthetic catalog, opens the
live storefront (``/ui/shop``) in the desktop's browser where there is one, streams
shopping sessions at a steady rate over HTTP beside it (timestamps are "now"), and
every few seconds prints what a few shoppers are being recommended, and why, so the
lists can be seen changing as the shoppers browse. The dashboard (``/ui/``) follows
the same traffic.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import threading
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import uvicorn

from streamrec.client import NotFoundError, StreamrecClient
from streamrec.config import Settings
from streamrec.datasets import SyntheticShop
from streamrec.events import EventBatch, now_ms
from streamrec.serving.app import create_app


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.serving.host,
        port=settings.serving.port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="demo-server", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the demo server did not start (is the port free?)")
        time.sleep(0.05)
    return server, thread


def _restamped(shop: SyntheticShop, batch_size: int) -> Iterator[EventBatch]:
    """The shop's events in order, re-stamped to the current time."""
    for batch in shop.events(10_000_000, chunk_size=batch_size):
        yield dataclasses.replace(batch, timestamp=np.full(len(batch), now_ms(), dtype=np.int64))


def _show(client: StreamrecClient, users: list[str]) -> None:
    for user in users:
        try:
            recent = [i.item_id for i in client.profile(user).recent[:3]]
        except NotFoundError:
            recent = []
        recs = client.recommendations(user, k=3).items
        shown = "; ".join(f"{r.item_id} ({r.reasons[0]})" for r in recs)
        print(f"  {user:>8} recently {recent} -> {shown}")


def _open_in_browser(url: str) -> bool:
    """Open ``url`` in the desktop's browser; False where there is no desktop (a
    terminal browser would take over the demo's terminal)."""
    desktop = sys.platform in ("darwin", "win32") or any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY")
    )
    return desktop and webbrowser.open(url)


def run_demo(
    settings: Settings,
    events_per_second: float,
    duration_s: float,
    watch: int,
    open_browser: bool = True,
) -> None:
    """Run the demo until ``duration_s`` passes (0: until interrupted); with
    ``open_browser``, open the storefront once the catalog is loaded."""
    with tempfile.TemporaryDirectory(prefix="streamrec-demo-") as scratch:
        if settings.data_dir == Settings().data_dir:
            settings = settings.model_copy(update={"data_dir": Path(scratch)})
        server, thread = _serve(settings)
        url = f"http://{settings.serving.host}:{settings.serving.port}"
        print(f"streamrec demo: API at {url} (docs at {url}/docs); Ctrl-C stops")
        print(f"  storefront {url}/ui/shop · dashboard {url}/ui/")
        shop = SyntheticShop(n_users=2_000, n_items=1_000, n_categories=12, seed=1)
        batch_size = max(1, int(events_per_second / 10))
        try:
            with StreamrecClient(url, timeout=30) as client:
                client.post_items(dataclasses.asdict(i) for i in shop.catalog())
                if open_browser:
                    _open_in_browser(f"{url}/ui/shop")
                started = time.monotonic()
                sent = 0
                watched: list[str] = []
                next_show = started + 2
                for batch in _restamped(shop, batch_size):
                    client.send_events(batch.records())
                    sent += len(batch)
                    watched = watched or list(dict.fromkeys(batch.user_id))[:watch]
                    now = time.monotonic()
                    if now >= next_show:
                        print(f"[{now - started:5.1f}s] {sent:,} events")
                        _show(client, watched)
                        next_show = now + 3
                    if duration_s and now - started >= duration_s:
                        break
                    time.sleep(max(0.0, started + sent / events_per_second - time.monotonic()))
        except KeyboardInterrupt:
            pass
        finally:
            server.should_exit = True
            thread.join(timeout=30)

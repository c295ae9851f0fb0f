"""``streamrec demo`` streams a synthetic shop through the client and shows live lists."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import httpx
import pytest

from streamrec.config import Settings
from streamrec.demo import run_demo
from streamrec.testing.process import free_port

pytestmark = pytest.mark.slow


def test_demo_prints_what_watched_shoppers_are_recommended_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    settings = Settings(data_dir=tmp_path, serving={"port": port})
    run_demo(settings, events_per_second=300, duration_s=3, watch=2, open_browser=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("streamrec demo: API at http://127.0.0.1:")
    url = f"http://127.0.0.1:{port}"
    assert lines[1] == f"  storefront {url}/ui/shop · dashboard {url}/ui/"
    shown = [line for line in lines if " recently [" in line]
    assert len(shown) >= 2
    assert all(" -> " in line and "(" in line.split(" -> ")[1] for line in shown)
    assert any(line.endswith(" events") for line in lines)


def _events_applied(url: str) -> int:
    overview = httpx.get(f"{url}/ui/fragments/overview", timeout=5).text
    found = re.search(r'id="events-total">([0-9,]+)<', overview)
    return int(found.group(1).replace(",", "")) if found else 0


def test_the_storefront_shows_the_demo_catalog_while_traffic_runs(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=tmp_path, serving={"port": port})
    demo = threading.Thread(target=run_demo, args=(settings, 300, 8, 1, False), daemon=True)
    demo.start()
    shop, applied = "", [0]
    deadline = time.monotonic() + 60
    while demo.is_alive() and time.monotonic() < deadline and applied[-1] <= applied[0]:
        try:
            shop = httpx.get(f"{url}/ui/shop", timeout=5).text
            if 'class="card product"' in shop:
                applied.append(_events_applied(url))
        except httpx.TransportError:  # not listening yet
            pass
        time.sleep(0.3)
    demo.join(timeout=60)
    assert " item " in shop  # the synthetic catalog's titles ("Books item 7")
    assert applied[-1] > applied[0]  # traffic streams in beside the storefront

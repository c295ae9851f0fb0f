"""Headless Chromium (Debian's, never a downloaded build) driving a real ``streamrec serve``.

Each test module gets its own server (a subprocess on a free loopback port over an
embedded data directory), so the state a test builds is the whole state. Screenshots
go to ``test-artifacts/browser/`` at the repository root. With ``CI=true`` a missing
Chromium or Playwright fails the tests; elsewhere it skips them with the install hint.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from streamrec.client import RetryPolicy, StreamrecClient, StreamrecConnectionError
from streamrec.testing.process import free_port, running

try:  # the dev extra's browser driver; its absence fails in CI (below)
    from playwright.sync_api import sync_playwright
except ImportError:
    sync_playwright = None

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path(os.environ.get("STREAMREC_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI must run the browser tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium under Playwright (``executable_path``: nothing is downloaded).

    Per module: Playwright's sync API runs an event loop on the calling thread while
    it is open, which would stop later tests in the session from running their own
    (the async client's)."""
    if sync_playwright is None:
        _unavailable("playwright is not installed: pip install -e '.[dev]'")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing: apt-get install chromium (make servers)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Tab:
    """A browser page that records script errors, and saves screenshots as artifacts."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        """Save the whole page as ``test-artifacts/browser/<name>.png``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture()
def tab(browser: Any) -> Iterator[Tab]:
    """A fresh page (its own context: no storage shared between tests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    found = Tab(context.new_page())
    found.page.on("pageerror", lambda error: found.errors.append(str(error)))
    try:
        yield found
    finally:
        context.close()
    assert found.errors == [], f"script errors on the page: {found.errors}"


def _ready(url: str) -> bool:
    with StreamrecClient(url, timeout=1.0, retry=RetryPolicy(attempts=1)) as client:
        try:
            return client.ready().ready
        except StreamrecConnectionError:
            return False


@contextmanager
def serving(root: Path, *options: str) -> Iterator[str]:
    """A ``streamrec serve`` over ``root`` (with extra command-line ``options``) on a
    free loopback port, for the ``with`` block; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "streamrec", "serve", "--data-dir", str(root / "data")]
    with running(
        "streamrec serve",
        [*argv, "--port", str(port), *options],
        log_path=root / "serve.log",
        ready=lambda: _ready(url),
        timeout_s=120,
    ):
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a ``streamrec serve`` of this module alone."""
    with serving(tmp_path_factory.mktemp("ui-serve")) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[StreamrecClient]:
    """A client of the module's server."""
    with StreamrecClient(server, timeout=30) as found:
        yield found

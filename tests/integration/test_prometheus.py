"""The alert rules under promtool, and a real Prometheus scraping a real ``streamrec serve``.

The scrape test drives traffic into the server while Prometheus (Debian's binary, its
own config and data directory, a 1 s scrape interval) scrapes it, then runs the query
of every panel of the Grafana dashboard through Prometheus's HTTP API: each one must
answer without error and with data. It also loads the alert rules, which must all
evaluate cleanly against the real series.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from streamrec.bootstrap.adapters import models_directory
from streamrec.config import DriftSettings
from streamrec.datasets import SyntheticShop
from streamrec.models.settings import ModelSettings
from streamrec.models.store import ModelStore
from streamrec.models.trainer import train_models
from streamrec.testing import prometheus_server
from streamrec.testing.process import free_port, running

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "rules" / "streamrec.yml"
RULE_TESTS = DEPLOY / "prometheus" / "tests" / "streamrec.test.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "streamrec.json"
DRIFT = DriftSettings(block_events=50, window_blocks=4, reference_events=200)


def _run(promtool: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _alerts() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"]]


def test_the_alert_rules_and_the_scrape_config_pass_promtool(promtool: Path) -> None:
    checked = _run(promtool, "check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in checked.stdout
    config = _run(promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr


def test_every_alert_fires_and_clears_under_promtool(promtool: Path) -> None:
    tested = _run(promtool, "test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    fired: set[str] = set()
    cleared: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else cleared).add(check["alertname"])
    alerts = set(_alerts())
    assert len(alerts) == 8
    assert fired == alerts, "an alert is never seen firing"
    assert cleared == alerts, "an alert is never seen clearing"
    # each alert is seen firing before it is seen clear again, in the same case
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        times: dict[str, list[tuple[int, bool]]] = {}
        for check in case["alert_rule_test"]:
            minutes = int(str(check["eval_time"]).removesuffix("m"))
            times.setdefault(check["alertname"], []).append((minutes, bool(check["exp_alerts"])))
        for alert, seen in times.items():
            first_fire = min(t for t, firing in seen if firing)
            assert any(t > first_fire and not firing for t, firing in seen), alert


def dashboard_queries() -> list[tuple[str, str]]:
    """Every (panel title, query) of the dashboard."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [(p["title"], t["expr"]) for p in panels for t in p.get("targets", [])]


def _publish_model(data_dir: Path, shop: SyntheticShop) -> str:
    events = list(shop.events(3_000, chunk_size=500))
    bundle = train_models(events, shop.catalog(), ModelSettings(kinds=("itemknn",)), drift=DRIFT)
    return ModelStore(models_directory(data_dir)).publish(bundle)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SyntheticShop]]:
    """A ``streamrec serve`` subprocess over a data directory holding one model."""
    root = tmp_path_factory.mktemp("scraped")
    shop = SyntheticShop(n_users=300, n_items=80, n_categories=6, seed=11)
    _publish_model(root / "data", shop)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "STREAMREC_DRIFT__BLOCK_EVENTS": str(DRIFT.block_events),
        "STREAMREC_DRIFT__WINDOW_BLOCKS": str(DRIFT.window_blocks),
        "STREAMREC_DRIFT__REFERENCE_EVENTS": str(DRIFT.reference_events),
    }
    argv = [sys.executable, "-m", "streamrec", "serve", "--data-dir", str(root / "data")]
    with running(
        "streamrec serve",
        ["env", *(f"{k}={v}" for k, v in env.items()), *argv, "--port", str(port)],
        log_path=root / "serve.log",
        ready=lambda: _answers(f"{url}/readyz"),
        timeout_s=120,
    ):
        yield url, shop


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _drive(url: str, shop: SyntheticShop) -> int:
    """Traffic of every kind; returns how many events were accepted."""
    with httpx.Client(base_url=url, timeout=30) as http:
        items = [
            {"item_id": i.item_id, "title": i.title, "categories": i.categories}
            for i in shop.catalog()
        ]
        assert http.post("/v1/items", json={"items": items}).status_code == 200
        accepted = 0
        users: set[str] = set()
        for batch in shop.events(1_500, chunk_size=150):
            records = list(batch.records())
            users.update(batch.user_id)
            shown = [
                {"user_id": r["user_id"], "item_id": r["item_id"], "type": kind}
                for r in records[:20]
                for kind in ("impression", "click")
            ]
            posted = http.post("/v1/events?wait=true", json={"events": records + shown})
            assert posted.status_code == 202, posted.text
            accepted += posted.json()["accepted"]
        for user in sorted(users)[:60]:
            assert http.get(f"/v1/users/{user}/recommendations?k=10").status_code == 200
        for item in items[:20]:
            assert http.get(f"/v1/items/{item['item_id']}/similar").status_code == 200
        for _ in range(3):
            assert http.get("/v1/items/popular").status_code == 200
            assert http.get("/v1/items/trending").status_code == 200
        assert http.get("/v1/users/nobody-at-all/profile").status_code == 404
        bad = {"events": [{"user_id": "u", "item_id": "i", "type": "teleport"}]}
        assert http.post("/v1/events", json=bad).status_code == 422
    return accepted


def _query(prometheus: str, query: str) -> dict[str, Any]:
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": query}, timeout=10)
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and body["status"] == "success", (query, body)
    return body["data"]


def _wait_for(prometheus: str, query: str, expected: float, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        found = _query(prometheus, query)["result"]
        if found and float(found[0]["value"][1]) == expected:
            return
        assert time.monotonic() < deadline, f"{query} is {found}, not {expected}"
        time.sleep(0.5)


def test_every_dashboard_query_returns_data_from_a_real_prometheus(
    prometheus: Path, served: tuple[str, SyntheticShop]
) -> None:
    url, shop = served
    port = url.rsplit(":", 1)[1]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": "streamrec", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
        ],
    }
    with prometheus_server(yaml.safe_dump(config)) as prom:
        _wait_for(prom, 'up{job="streamrec"}', 1)
        accepted = _drive(url, shop)
        _wait_for(prom, "sum(streamrec_events_accepted_total)", accepted)
        time.sleep(3)  # a few more scrapes after the last request
        empty = []
        for title, expr in dashboard_queries():
            query = expr.replace("$__rate_interval", "2m")
            data = _query(prom, query)
            if not data["result"]:
                empty.append((title, query))
        assert empty == [], "dashboard queries without data"
        names = set(httpx.get(f"{prom}/api/v1/label/__name__/values", timeout=10).json()["data"])
        used = set(re.findall(r"\bstreamrec_[a-z0-9_]+", RULES.read_text()))
        assert used <= names, f"rules name series streamrec never exposes: {used - names}"
        rules = httpx.get(f"{prom}/api/v1/rules", timeout=10).json()["data"]["groups"]
        states = {rule["name"]: rule["health"] for group in rules for rule in group["rules"]}
        assert set(states) == set(_alerts())
        assert set(states.values()) == {"ok"}, states

"""The deployment files agree with each other: compose services, the Prometheus scrape
config, Grafana's provisioning, the dashboard and the alert rules.

(The compose file is parsed, not run; promtool and a real Prometheus check the rules and
the dashboard's queries in ``tests/integration/test_prometheus.py``.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _yaml(relative: str) -> Any:
    return yaml.safe_load((DEPLOY / relative).read_text())


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = _yaml("compose.yaml")
    return compose


def _command(service: dict[str, Any]) -> str:
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else str(command)


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (relative to deploy/) of each bind mount."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            mounts[target] = source
    return mounts


def test_compose_runs_prometheus_and_grafana_on_the_files_of_deploy() -> None:
    services = _compose()["services"]
    assert {"prometheus", "grafana", "api", "processor"} <= set(services)
    for name in ("prometheus", "grafana"):
        for source in _mounts(services[name]).values():
            assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
    prometheus = services["prometheus"]
    assert _mounts(prometheus)["/etc/prometheus/prometheus.yml"] == "./prometheus/prometheus.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert set(_compose()["volumes"]) >= {"prometheus-data", "grafana-data"}


def test_prometheus_scrapes_every_api_replica_and_processor_on_their_ports() -> None:
    services = _compose()["services"]
    jobs = {job["job_name"]: job for job in _yaml("prometheus/prometheus.yml")["scrape_configs"]}
    api_port = re.search(r"--port (\d+)", _command(services["api"]))
    metrics_port = re.search(r"--metrics-port (\d+)", _command(services["processor"]))
    assert api_port and metrics_port
    assert "--metrics-host 0.0.0.0" in _command(services["processor"])
    expected = {
        "streamrec-api": ("api", api_port[1]),
        "streamrec-processor": ("processor", metrics_port[1]),
    }
    for job, (service, port) in expected.items():
        (discovery,) = jobs[job]["dns_sd_configs"]
        assert discovery["names"] == [service] and str(discovery["port"]) == port
    rule_files = _yaml("prometheus/prometheus.yml")["rule_files"]
    rules_mount = _mounts(services["prometheus"])["/etc/prometheus/rules"]
    assert rule_files == ["/etc/prometheus/rules/*.yml"] and rules_mount == "./prometheus/rules"


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard() -> None:
    grafana = _mounts(_compose()["services"]["grafana"])
    assert grafana["/etc/grafana/provisioning"] == "./grafana/provisioning"
    (source,) = _yaml("grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    assert "9090:9090" in _compose()["services"]["prometheus"]["ports"]
    (provider,) = _yaml("grafana/provisioning/dashboards/streamrec.yml")["providers"]
    folder = provider["options"]["path"]
    assert grafana[folder] == "./grafana/dashboards"
    assert (DEPLOY / "grafana" / "dashboards" / "streamrec.json").is_file()


def _panels() -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = json.loads(
        (DEPLOY / "grafana" / "dashboards" / "streamrec.json").read_text()
    )["panels"]
    return panels


def test_every_dashboard_panel_queries_prometheus() -> None:
    panels = _panels()
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["gridPos"]["x"] >= 0 and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert "streamrec_" in target["expr"], panel["title"]


def test_the_dashboard_covers_every_metric_family() -> None:
    queried = " ".join(t["expr"] for p in _panels() for t in p.get("targets", []))
    families = {
        "streamrec_http_request_duration_seconds",
        "streamrec_http_errors_total",
        "streamrec_events_accepted_total",
        "streamrec_events_applied_total",
        "streamrec_event_batches_rejected_total",
        "streamrec_event_problems_total",
        "streamrec_processing_lag_events",
        "streamrec_freshness_seconds",
        "streamrec_cache_requests_total",
        "streamrec_lists_served_total",
        "streamrec_model_info",
        "streamrec_model_age_seconds",
        "streamrec_retrain_running",
        "streamrec_retrain_runs_total",
        "streamrec_consumer_lag_events",
        "streamrec_consumer_batch_events",
        "streamrec_consumer_write_seconds",
        "streamrec_consumer_failures_total",
        "streamrec_drift_psi",
        "streamrec_drift_kl",
        "streamrec_drift_share",
        "streamrec_build_info",
    }
    assert {f for f in families if f not in queried} == set()


def test_every_alert_has_a_severity_and_a_summary() -> None:
    groups = _yaml("prometheus/rules/streamrec.yml")["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) == 8
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["for"], rule["alert"]
    thresholds = {rule["alert"]: rule["expr"] for rule in rules}
    assert "> 0.2" in thresholds["StreamrecLatencyP99Above200ms"]
    assert "> 0.1" in thresholds["StreamrecLatencyP99Above100ms"]
    assert "> 0.01" in thresholds["StreamrecErrorRateAbove1Percent"]
    assert "> 10000" in thresholds["StreamrecLagAbove10000Events"]
    assert "> 48 * 3600" in thresholds["StreamrecModelOlderThan48h"]
    assert "offset 1d" in thresholds["StreamrecCTRDown10PercentOnYesterday"]
    assert "< 0.7" in thresholds["StreamrecCacheHitRateBelow70Percent"]
    assert "> 0.2" in thresholds["StreamrecDriftSignificant"]

"""``streamrec evaluate --protocol off-policy``: a candidate configuration's CTR
estimated from an embedded data directory's served lists, before anyone sees it.

The served lists that carry propensities (randomized slots) are joined with the
clicks that name them in the event log (a click credits the item's first
position, as attribution does); the candidate is the engine's settings
with the ``--params`` overlay, and its lists are built on the current state for
the logged users (the state at logging time is not kept, so features that moved
since then move the target too). IPS, SNIPS and DR estimates with intervals go
to ``<out>/offpolicy.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from streamrec.bootstrap import embedded_engine
from streamrec.bootstrap.adapters import open_log
from streamrec.config import Settings
from streamrec.errors import InvalidInput, Problem
from streamrec.events import TYPE_CODE
from streamrec.experiments.definition import merged_settings
from streamrec.experiments.offpolicy import LoggedList, doubly_robust, ips, snips
from streamrec.experiments.served import ServedList
from streamrec.experiments.served_log import SERVED_DIR, EmbeddedServedLog

#: The consumer group that reads the event log for the evaluation (never committed).
GROUP = "streamrec-offpolicy"


def _explored(settings: Settings) -> list[ServedList]:
    log = EmbeddedServedLog(settings.data_dir / SERVED_DIR, settings.experiments)
    try:
        return [s for _, s in log.read(0) if s.propensities is not None and s.user_id]
    finally:
        log.close()


def _clicks(settings: Settings, wanted: set[str]) -> set[tuple[str, str]]:
    """``(recommendation_id, item_id)`` of every click naming one of ``wanted``."""
    event_log = open_log(settings)
    clicked: set[tuple[str, str]] = set()
    try:
        consumer = event_log.consumer(GROUP)
        consumer.seek({p: 0 for p in event_log.end_positions()})
        end = sum(event_log.end_positions().values())
        read = 0
        while read < end:
            batch = consumer.poll(50_000, 0.1)
            if len(batch) == 0:
                break
            read += len(batch)
            for kind, rid, item in zip(
                batch.type.tolist(), batch.recommendation_id, batch.item_id, strict=True
            ):
                if kind == TYPE_CODE["click"] and rid in wanted:
                    clicked.add((rid, item))
        consumer.close()
    finally:
        event_log.close()
    return clicked


def evaluate_off_policy(
    settings: Settings, overlay: dict[str, Any], out: Path, k: int = 10
) -> dict[str, Any]:
    """The estimates of the candidate ``overlay`` from ``settings.data_dir``'s logs.

    Raises
    ------
    InvalidInput
        If the overlay is invalid or no served list carries propensities.
    """
    candidate = merged_settings(settings, overlay)
    served = _explored(settings)
    if not served:
        raise InvalidInput(
            "no served list carries propensities: off-policy estimates need randomized slots",
            [Problem(None, "dataset", "no explored lists in the served-list log")],
        )
    clicked = _clicks(settings, {s.recommendation_id for s in served})
    logged = [
        LoggedList(
            s.items[:k],
            tuple(s.propensities or ())[:k],
            tuple(
                (s.recommendation_id, item) in clicked and s.items.index(item) == p
                for p, item in enumerate(s.items[:k])
            ),
        )
        for s in served
    ]
    engine = embedded_engine(settings)
    try:
        engine.catch_up(settings.serving.wait_timeout_s)
        recommender = engine.recommender_for(candidate)
        target = [
            [i.item_id for i in recommender.recommend(s.user_id or "", k).items] for s in served
        ]
    finally:
        engine.close()
    clicks = sum(sum(entry.clicks) for entry in logged)
    estimates = {
        name: estimate(logged, target, k)
        for name, estimate in (("ips", ips), ("snips", snips), ("dr", doubly_robust))
    }
    result = {
        "protocol": "off-policy",
        "lists": len(logged),
        "clicks": clicks,
        "logged_ctr": clicks / max(sum(len(e.items) for e in logged), 1),
        "target": overlay,
        "estimates": {
            name: {"ctr": e.value, "ci": [e.low, e.high]} for name, e in estimates.items()
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "offpolicy.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return result


def offpolicy_table(result: dict[str, Any]) -> str:
    """The estimates as a table."""
    lines = [
        f"off-policy: {result['lists']} explored lists, {result['clicks']} clicks, "
        f"logged CTR {result['logged_ctr']:.4f}",
        f"{'estimator':<10} {'CTR':>8} {'95% CI':>20}",
    ]
    for name, figures in result["estimates"].items():
        lo, hi = figures["ci"]
        lines.append(f"{name:<10} {figures['ctr']:>8.4f} {f'[{lo:.4f}, {hi:.4f}]':>20}")
    return "\n".join(lines)

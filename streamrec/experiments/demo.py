"""``streamrec demo --experiment``: popularity against the hybrid, end to end over HTTP.

It starts the API on embedded defaults, loads a simulated population's catalog and
history, runs an A/B experiment (popularity-only against the default hybrid) in
which every simulated user asks for a list and sends back impressions and clicks
by ``recommendation_id``, and prints the report's table.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx

from streamrec.config import Settings
from streamrec.demo import serve_in_thread
from streamrec.events import now_ms
from streamrec.experiments.simulation import HttpShopper
from streamrec.experiments.simulator import Population, PopulationSettings
from streamrec.experiments.table import report_table

#: The popularity-only arm: every other source switched off.
POPULARITY_ONLY = {"recommend": {"weight_collaborative": 0.0, "weight_content": 0.0}}


def experiment_body(salt: str) -> dict[str, Any]:
    """The demo's A/B experiment, half of the users in each arm."""
    return {
        "variants": [
            {"name": "popularity", "traffic": 0.5, "settings": POPULARITY_ONLY},
            {"name": "hybrid", "traffic": 0.5},
        ],
        "salt": salt,
    }


def run_experiment_demo(settings: Settings, users: int, seed: int) -> dict[str, Any]:
    """Run the demo experiment; print and return its report."""
    with tempfile.TemporaryDirectory(prefix="streamrec-experiment-") as scratch:
        if settings.data_dir == Settings().data_dir:
            settings = settings.model_copy(update={"data_dir": Path(scratch)})
        server, thread = serve_in_thread(settings)
        url = f"http://{settings.serving.host}:{server.servers[0].sockets[0].getsockname()[1]}"
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                population = Population(seed, PopulationSettings(users=users))
                shopper = HttpShopper(client, population, seed)
                print(f"streamrec demo --experiment: {users} simulated users at {url}")
                shopper.warm_up(now_ms() - 86_400_000)
                answer = client.put("/v1/experiments/demo-ab", json=experiment_body(f"s{seed}"))
                answer.raise_for_status()
                for user in range(users):
                    shopper.visit(user)
                report: dict[str, Any] = client.get("/v1/experiments/demo-ab/report").json()
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    print(report_table(report))
    return report

"""The composition root: every adapter and every role is built here.

:mod:`streamrec.bootstrap.adapters` opens logs, states and histories from their
URLs through one table per port; :mod:`streamrec.bootstrap.roles` wires the roles
(embedded engine, API replica, processor, trainer). The CLI, the app's lifespan,
``ingest``, the benchmarks and the tests all call these functions; nothing else
constructs an adapter from settings.
"""

from streamrec.bootstrap.adapters import open_history, open_log, open_memory_state, open_state
from streamrec.bootstrap.roles import (
    STATE_GROUP,
    TRAINERS,
    Trainer,
    api_replica,
    embedded_engine,
    in_memory_engine,
    open_engine,
    run_archiver,
    run_processor,
    serving_engine,
    train,
)

__all__ = [
    "STATE_GROUP",
    "TRAINERS",
    "Trainer",
    "api_replica",
    "embedded_engine",
    "in_memory_engine",
    "open_engine",
    "open_history",
    "open_log",
    "open_memory_state",
    "open_state",
    "run_archiver",
    "run_processor",
    "serving_engine",
    "train",
]

"""Where the stream processor's time goes, stage by stage.

An embedded engine's processor (the one ``streamrec serve`` runs, with its metrics
and drift observers) is stopped before any event arrives; the synthetic stream is
appended to its log, and the processor's step is then run in this thread, one
stage at a time, each under its own clocks (wall time, and this thread's CPU time,
which other processes on a shared machine disturb less):

- ``poll`` — read and decode the next micro-batch from the log;
- ``apply`` — fold it into the online state;
- ``commit`` — store the consumer position;
- ``observers`` — metrics (with freshness) and drift hear of the batch.

A second pass over a fresh engine profiles ``apply`` with cProfile, and splits its
time between the fold's stages in those proportions (the profiler's own cost
falls mostly on the Python parts, so the split is an estimate; the four stage
times above are exact).
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamrec.bench.common import BenchResult, Sizes
from streamrec.bench.workloads import compile_fold, shop, synthetic_batches
from streamrec.bootstrap import embedded_engine
from streamrec.config import Settings
from streamrec.processing.runner import StreamProcessor

#: The processor's stages, in the order of its step.
STAGES = ("poll", "apply", "commit", "observers")
#: Events folded per pass (the figures are per event; the state keeps growing).
MAX_EVENTS = 300_000
#: Fold stages reported from the profile: (name, function, file ending).
FOLD_STAGES = (
    ("intern ids", "intern_many", "ids.py"),
    ("profiles", "fold", "profiles.py"),
    ("co-occurrence add (prune included)", "add", "cooccurrence.py"),
    ("co-occurrence prune", "_prune", "cooccurrence.py"),
    ("item statistics", "add", "items.py"),
    ("decay factors", "factors", "decay.py"),
)


@contextmanager
def _stopped_processor(data_dir: Path, n_events: int) -> Iterator[StreamProcessor]:
    """A stopped embedded processor whose log holds the first ``n_events`` of the shop."""
    engine = embedded_engine(Settings(data_dir=data_dir))
    try:
        processor, log = engine.progress, engine.log
        if not isinstance(processor, StreamProcessor) or log is None:
            raise TypeError("the embedded engine has a log and a StreamProcessor")
        processor.stop()
        source = shop(100_000, 20_000)
        engine.upsert_items(source.catalog())
        for batch in synthetic_batches(source, n_events, 5_000):
            log.append(batch)
        yield processor
    finally:
        engine.close()


class _Clocks:
    """Wall and thread-CPU seconds per stage."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.cpu: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self._at = (time.perf_counter(), time.thread_time())

    def lap(self, stage: str) -> float:
        """Charge the time since the last lap to ``stage``; return its wall seconds."""
        now = (time.perf_counter(), time.thread_time())
        wall = now[0] - self._at[0]
        self.wall[stage] += wall
        self.cpu[stage] += now[1] - self._at[1]
        self._at = now
        return wall


def _drain(processor: StreamProcessor, profile: cProfile.Profile | None) -> _Clocks:
    """Run the processor's stages until the log is consumed, timing each."""
    clocks = _Clocks()
    settings = processor.settings
    while True:
        batch = processor.consumer.poll(settings.max_batch, settings.poll_interval_ms / 1000)
        clocks.lap("poll")
        if len(batch) == 0:
            return clocks
        if profile is not None:
            profile.enable()
        processor.state.apply(batch)
        if profile is not None:
            profile.disable()
        seconds = clocks.lap("apply")
        processor.consumer.commit(processor.state.positions())
        seconds += clocks.lap("commit")
        for observer in processor.observers:
            observer.applied(batch, seconds)
        clocks.lap("observers")


def _fold_shares(profile: cProfile.Profile) -> dict[str, float]:
    """Each fold stage's share of the profiled ``apply`` time (cumulative)."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(
        entry[3]
        for (path, _, name), entry in stats.items()
        if name == "apply" and path.endswith("state.py")
    )
    shares = {}
    for stage, function, filename in FOLD_STAGES:
        cumulative = sum(
            entry[3]
            for (path, _, name), entry in stats.items()
            if name == function and path.endswith(filename)
        )
        shares[stage] = cumulative / total if total else 0.0
    return shares


def run(sizes: Sizes, work_dir: Path) -> BenchResult:
    """Time each processor stage over the synthetic stream; split the fold by profile."""
    n_events = min(sizes.ingest_events, MAX_EVENTS)
    compile_fold()
    with _stopped_processor(work_dir / "timed", n_events) as processor:
        clocks = _drain(processor, None)
    profile = cProfile.Profile()
    with _stopped_processor(work_dir / "profiled", n_events) as processor:
        _drain(processor, profile)
    shares = _fold_shares(profile)
    total = sum(clocks.wall.values())
    total_cpu = sum(clocks.cpu.values())
    result = BenchResult("processor", params={"events": n_events, "batch": 5_000})

    def add(stage: str, wall: float, cpu: float) -> None:
        result.add(
            stage=stage,
            us_per_event=wall / n_events * 1e6,
            cpu_us_per_event=cpu / n_events * 1e6,
            share_of_cpu=cpu / total_cpu,
        )

    for stage in STAGES:
        add(stage, clocks.wall[stage], clocks.cpu[stage])
        if stage == "apply":
            for fold_stage, share in shares.items():
                add(f"  apply: {fold_stage}", share * clocks.wall[stage], share * clocks.cpu[stage])
    add("total", total, total_cpu)
    result.notes.append(
        f"{n_events / total:,.0f} events/s through the processor alone "
        f"({n_events / total_cpu:,.0f} per CPU second)"
    )
    result.notes.append("apply's split between fold stages is estimated from a cProfile pass")
    return result

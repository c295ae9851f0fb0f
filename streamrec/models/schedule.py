"""Retraining on a schedule: every N applied events or T seconds, in a separate process.

A serving process owns one :class:`RetrainScheduler`. Its thread checks, every
``check_interval_s``, how many events the online state has applied since the last
training started and how long ago that was (:func:`retrain_due`). When a threshold
of the ``models`` settings is reached it runs the trainer in a fresh interpreter
(the ``spawn`` start method: the child inherits no thread, lock or socket of the
server), at a lower CPU priority, and never two at once. The child publishes into
the model store; the scheduler then asks the server's registry to swap the new
version in. A failing run is logged with its traceback and retried at the next
threshold; stopping the scheduler terminates a run in progress (the store only
ever exposes complete versions).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Literal

from streamrec.config import Settings
from streamrec.models.settings import ModelSettings

log = logging.getLogger(__name__)

#: Niceness added to the training process, so that serving keeps the CPU first.
TRAINER_NICENESS = 10
#: How long a terminated training process gets to exit before it is killed.
STOP_GRACE_S = 5.0
#: Characters of a failure's message kept in the status.
ERROR_CHARS = 500

TrainFunction = Callable[[Settings], str]
Outcome = Literal["succeeded", "failed"]


def retrain_due(settings: ModelSettings, events_since: int, seconds_since: float) -> str | None:
    """Why a training is due now (``"events"`` or ``"time"``), or ``None``.

    ``retrain_every_events`` applied events since the last training start one;
    ``retrain_every_s`` seconds start one when at least one event arrived meanwhile
    (retraining on unchanged history would publish the same models). A threshold of
    0 turns its trigger off.
    """
    if settings.retrain_every_events and events_since >= settings.retrain_every_events:
        return "events"
    if settings.retrain_every_s and events_since > 0 and seconds_since >= settings.retrain_every_s:
        return "time"
    return None


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the last training covered: the applied-event count and when it started.

    Attributes
    ----------
    events
        How many events the state had applied (its log position) when it started.
    at
        Its start, in epoch seconds.
    """

    events: int
    at: float

    @classmethod
    def of(cls, manifest: Mapping[str, Any] | None, applied: int) -> Baseline:
        """The baseline of the model in use, from its manifest.

        A model trained on the embedded history covered the ``n_events`` of its data
        window and was created at ``created_at``. Without a model (or those entries)
        the count starts at ``applied`` and the clock now.
        """
        window = (manifest or {}).get("data_window") or {}
        created = (manifest or {}).get("created_at")
        events = min(int(window.get("n_events", applied)), applied)
        at = datetime.fromisoformat(created).timestamp() if created else time.time()
        return cls(events, at)


@dataclass(frozen=True, slots=True)
class RetrainStatus:
    """The scheduler's state, for ``/readyz`` and ``/metrics``."""

    running: bool
    events_since: int
    seconds_since: float
    runs: int
    failures: int
    last_trigger: str | None
    last_started_at: float | None
    last_finished_at: float | None
    last_outcome: Outcome | None
    last_version: str | None
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with times in RFC 3339."""
        return {
            "running": self.running,
            "events_since": self.events_since,
            "seconds_since": round(self.seconds_since, 3),
            "runs": self.runs,
            "failures": self.failures,
            "last_trigger": self.last_trigger,
            "last_started_at": _rfc3339(self.last_started_at),
            "last_finished_at": _rfc3339(self.last_finished_at),
            "last_outcome": self.last_outcome,
            "last_version": self.last_version,
            "last_error": self.last_error,
        }


@dataclass(slots=True)
class _Run:
    process: BaseProcess
    results: Connection


class RetrainScheduler:
    """Starts ``train(settings)`` in a child process whenever a threshold is reached.

    Parameters
    ----------
    settings
        Passed whole to the child; ``settings.models`` holds the thresholds.
    train
        A module-level function (the child imports it by name), for example
        :func:`streamrec.bootstrap.train`; returns the published version.
    applied_events
        The number of events the online state has applied so far (monotonic).
    baseline
        The last training before this scheduler (see :meth:`Baseline.of`).
    on_published
        Called on the scheduler's thread with each new version (swap it in).
    check_interval_s
        How often the thread checks the thresholds and the running child.
    """

    def __init__(
        self,
        settings: Settings,
        train: TrainFunction,
        applied_events: Callable[[], int],
        baseline: Baseline,
        on_published: Callable[[str], object] = lambda version: None,
        check_interval_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.train = train
        self.applied_events = applied_events
        self.on_published = on_published
        self.check_interval_s = check_interval_s
        self._baseline = baseline
        self._run: _Run | None = None
        self._runs = self._failures = 0
        self._trigger: str | None = None
        self._finished_at: float | None = None
        self._outcome: Outcome | None = None
        self._version: str | None = None
        self._error: str | None = None
        self._published: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retrain-scheduler", daemon=True)

    def start(self) -> None:
        """Check on a background thread until :meth:`stop`."""
        self._thread.start()

    def tick(self) -> bool:
        """Collect a finished run, then start one if due; return whether one started."""
        with self._lock:
            started = self._tick_locked()
        self._swap_published()
        return started

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until no training runs (collecting its outcome); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                if self._run is not None:
                    self._collect(self._run)  # clears ``_run`` once it ended
                run = self._run
            self._swap_published()
            if run is None:
                return True
            if time.monotonic() >= deadline:
                return False
            run.process.join(min(0.1, max(0.0, deadline - time.monotonic())))

    def status(self) -> RetrainStatus:
        """A consistent copy of the current state."""
        with self._lock:
            baseline = self._baseline
            running = self._run is not None
            started = baseline.at if self._runs else None
            return RetrainStatus(
                running=running,
                events_since=max(0, self.applied_events() - baseline.events),
                seconds_since=time.time() - baseline.at,
                runs=self._runs,
                failures=self._failures,
                last_trigger=self._trigger,
                last_started_at=started,
                last_finished_at=self._finished_at,
                last_outcome=self._outcome,
                last_version=self._version,
                last_error=self._error,
            )

    def stop(self) -> None:
        """Stop checking and terminate a training in progress."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.check_interval_s + 5)
        with self._lock:
            run, self._run = self._run, None
        if run is None:
            return
        if run.process.is_alive():
            log.info("stopping the training in progress (pid %s)", run.process.pid)
            run.process.terminate()
            run.process.join(STOP_GRACE_S)
            if run.process.is_alive():
                run.process.kill()
                run.process.join()
        run.results.close()

    # -- internals (the ``_locked`` ones and ``_launch``/``_collect`` hold the lock) --

    def _loop(self) -> None:
        while not self._stop.wait(self.check_interval_s):
            try:
                self.tick()
            except Exception:  # the schedule must outlive any one failure
                log.exception("retrain scheduler check failed")

    def _tick_locked(self) -> bool:
        if self._run is not None and not self._collect(self._run):
            return False
        applied = self.applied_events()
        trigger = retrain_due(
            self.settings.models,
            applied - self._baseline.events,
            time.time() - self._baseline.at,
        )
        if trigger is None or self._stop.is_set():
            return False
        self._launch(trigger, applied)
        return True

    def _launch(self, trigger: str, applied: int) -> None:
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        process = context.Process(
            target=_train_in_child,
            args=(self.train, self.settings, send),
            name="streamrec-retrain",
            daemon=True,
        )
        process.start()
        send.close()  # the child holds the only writing end now
        self._run = _Run(process, receive)
        self._baseline = Baseline(applied, time.time())
        self._runs += 1
        self._trigger = trigger
        log.info(
            "retraining in process %s (trigger: %s; %d events applied)",
            process.pid,
            trigger,
            applied,
        )

    def _collect(self, run: _Run) -> bool:
        """Record the run's outcome if it has ended; return whether it has."""
        report = _report(run.results)
        if report is None and run.process.is_alive():
            return False
        run.process.join()
        run.results.close()
        self._run = None
        self._finished_at = time.time()
        took = self._finished_at - self._baseline.at
        if report is not None and report[0] == "succeeded":
            self._outcome, self._version, self._error = "succeeded", report[1], None
            log.info("retraining published version %s in %.1f s", self._version, took)
            self._published = self._version
            return True
        self._failures += 1
        self._outcome = "failed"
        if report is None:
            self._error = f"the training process exited with code {run.process.exitcode}"
            log.error("retraining failed after %.1f s: %s", took, self._error)
        else:
            self._error = report[1][:ERROR_CHARS]
            log.error(
                "retraining failed after %.1f s; retrying at the next threshold\n%s",
                took,
                report[2],
            )
        return True

    def _swap_published(self) -> None:
        """Hand a newly published version to ``on_published`` (without the lock held)."""
        with self._lock:
            version, self._published = self._published, None
        if version is None:
            return
        try:
            self.on_published(version)
        except Exception:  # the registry's own watcher retries the load
            log.exception("swapping in model version %s failed", version)


def _train_in_child(train: TrainFunction, settings: Settings, results: Connection) -> None:
    """The training process: yield the CPU to serving, train, report the outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    signal.signal(signal.SIGTERM, _exit)  # unwinding releases the semaphores of libraries
    os.nice(TRAINER_NICENESS)
    try:
        version = train(settings)
    except Exception as exc:
        results.send(("failed", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        raise SystemExit(1) from None
    results.send(("succeeded", version))


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _report(results: Connection) -> tuple[str, ...] | None:
    """The child's report, if it sent one (a child that died sent nothing)."""
    try:
        return results.recv() if results.poll() else None
    except (EOFError, OSError):
        return None


def _rfc3339(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds")

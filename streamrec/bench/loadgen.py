"""HTTP load: ``wrk`` or async httpx clients in separate processes, and a steady producer.

Both load generators keep a fixed number of keep-alive connections busy for a fixed
time and report requests/s and latency percentiles. ``wrk`` (C, event loop) costs
the machine least, so it is preferred when installed; the httpx generator needs
nothing outside the Python environment. Either way the load runs in processes of
its own, never in the server's.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Literal

import numpy as np
import orjson

from streamrec.bench.common import percentiles_ms

Generator = Literal["auto", "wrk", "httpx"]

_WRK_SCRIPT = """
local template = os.getenv("BENCH_PATH")
local ids_file = os.getenv("BENCH_IDS")
local paths = {}
function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  if ids_file ~= nil and ids_file ~= "" then
    for line in io.lines(ids_file) do paths[#paths + 1] = string.format(template, line) end
  end
end
function request()
  if #paths == 0 then return wrk.format("GET", template) end
  return wrk.format("GET", paths[math.random(#paths)])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '@@{"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, ' ..
    '"p50_us": %.1f, "p95_us": %.1f, "p99_us": %.1f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Throughput and latency of one load run."""

    requests: int
    errors: int
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    def as_row(self) -> dict[str, float | int]:
        """The figures as a table row."""
        return {
            "req_per_s": self.requests_per_s,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "requests": self.requests,
            "errors": self.errors,
        }


def resolve_generator(choice: Generator) -> Literal["wrk", "httpx"]:
    """``wrk`` if asked for or (with ``auto``) installed, else ``httpx``."""
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "httpx"
    if choice == "wrk" and shutil.which("wrk") is None:
        raise FileNotFoundError("wrk is not installed (Debian: apt-get install -y wrk)")
    return choice


def run_load(
    generator: Literal["wrk", "httpx"],
    base_url: str,
    path_template: str,
    ids: Sequence[str],
    connections: int,
    duration_s: float,
) -> LoadResult:
    """GET ``path_template % id`` (a random id each time) for ``duration_s``.

    With no ``ids`` the template is the fixed path itself.
    """
    if generator == "wrk":
        return _run_wrk(base_url, path_template, ids, connections, duration_s)
    return _run_httpx(base_url, path_template, ids, connections, duration_s)


def _run_wrk(
    base_url: str, template: str, ids: Sequence[str], connections: int, duration_s: float
) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="streamrec-wrk-") as tmp:
        script, ids_file = Path(tmp) / "load.lua", Path(tmp) / "ids.txt"
        script.write_text(_WRK_SCRIPT)
        ids_file.write_text("".join(f"{i}\n" for i in ids))
        threads = 1 if connections == 1 else 2
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s"]
        argv += ["--timeout", "10s", "-s", str(script), base_url]
        env = {
            **os.environ,
            "BENCH_PATH": template.replace("{}", "%s"),
            "BENCH_IDS": str(ids_file) if ids else "",
        }
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("@@"))
    figures = orjson.loads(line[2:])
    return LoadResult(
        requests=figures["requests"],
        errors=figures["errors"] + figures["non2xx"],
        requests_per_s=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000.0,
        p95_ms=figures["p95_us"] / 1000.0,
        p99_ms=figures["p99_us"] / 1000.0,
    )


def _run_httpx(
    base_url: str, template: str, ids: Sequence[str], connections: int, duration_s: float
) -> LoadResult:
    processes = min(connections, 2)
    shares = [len(part) for part in np.array_split(np.arange(connections), processes)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        parts = pool.starmap(
            _httpx_process,
            [(base_url, template, list(ids), share, duration_s) for share in shares],
        )
    latencies = np.concatenate([np.asarray(p[0]) for p in parts])
    errors = sum(p[1] for p in parts)
    rate = sum(len(p[0]) / p[2] for p in parts)
    return LoadResult(len(latencies), errors, rate, **percentiles_ms(latencies))


def _httpx_process(
    base_url: str, template: str, ids: list[str], connections: int, duration_s: float
) -> tuple[list[float], int, float]:
    """One load process: ``connections`` concurrent loops; (latencies, errors, seconds)."""
    return asyncio.run(_httpx_loops(base_url, template, ids, connections, duration_s))


async def _httpx_loops(
    base_url: str, template: str, ids: list[str], connections: int, duration_s: float
) -> tuple[list[float], int, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    rng = np.random.default_rng()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10.0) as client:
        started = time.perf_counter()
        deadline = started + duration_s

        async def loop() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                path = template.format(ids[rng.integers(len(ids))]) if ids else template
                sent = time.perf_counter()
                try:
                    response = await client.get(path)
                except httpx.TimeoutException:  # as wrk does: a timeout is an error
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                errors += response.is_error

        await asyncio.gather(*(loop() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return latencies, errors, elapsed


@dataclass
class Producer:
    """A process POSTing events at a steady rate; :attr:`events_per_s` once stopped."""

    events_per_s: float = 0.0


@contextmanager
def producing(
    base_url: str, bodies: Sequence[tuple[bytes, int]], rate: float
) -> Iterator[Producer]:
    """POST ``bodies`` (encoded batch, its event count) at ``rate`` events/s meanwhile.

    Bodies are sent in order, spaced so that events arrive at ``rate``; if they run
    out the producer starts over (the same events again are still work to apply).
    """
    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    process = context.Process(
        target=_produce, args=(base_url, list(bodies), rate, stop, results), daemon=True
    )
    process.start()
    producer = Producer()
    try:
        yield producer
    finally:
        stop.set()
        sent, seconds = results.get(timeout=30)
        process.join(timeout=30)
        producer.events_per_s = sent / seconds if seconds > 0 else 0.0


def _produce(
    base_url: str,
    bodies: list[tuple[bytes, int]],
    rate: float,
    stop: MpEvent,
    results: Queue[tuple[int, float]],
) -> None:
    import httpx

    sent = 0
    started = time.perf_counter()
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        index = 0
        while not stop.is_set():
            body, count = bodies[index % len(bodies)]
            client.post("/v1/events", content=body, headers=headers).raise_for_status()
            sent += count
            index += 1
            ahead = started + sent / rate - time.perf_counter()
            if ahead > 0:
                stop.wait(ahead)
    results.put((sent, time.perf_counter() - started))

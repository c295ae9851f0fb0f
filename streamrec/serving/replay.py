"""Reads that wait for the start-up replay (see :mod:`streamrec.catchup`).

A list route depends on :data:`Replayed`: while the engine still replays the log
tail it found at start, the request waits in the threadpool (never on the event
loop) until the replay ends or ``serving.replay_wait_s`` after the start has passed;
the engine then flags what it serves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool

from streamrec.serving.dependencies import EngineDep


async def _replayed(engine: EngineDep) -> None:
    if engine.replaying():
        await run_in_threadpool(engine.await_replay)


Replayed = Annotated[None, Depends(_replayed)]

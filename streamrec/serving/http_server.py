"""Run the API v1 app on an HTTP server in this process: granian or uvicorn.

Both run the app's lifespan (the engine opens and closes with it) on a uvloop event
loop and stop cleanly on SIGTERM or SIGINT. granian (HTTP in Rust, the default:
faster on every read route in ``scripts/compare_http_servers.py``) runs embedded,
in this process, so that one process still owns the engine and its log; uvicorn
runs with its httptools parser.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any, Literal

import uvicorn
import uvloop
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server import embed

HttpServer = Literal["granian", "uvicorn"]
HTTP_SERVERS: tuple[HttpServer, ...] = ("granian", "uvicorn")


def run_http(
    app: Any,
    host: str,
    port: int,
    server: HttpServer = "granian",
    *,
    access_log: bool = False,
    log_level: str = "info",
) -> None:
    """Serve ``app`` on ``host:port`` with ``server`` until SIGTERM or SIGINT."""
    if server == "granian":
        _run_granian(app, host, port, access_log=access_log, log_level=log_level)
        return
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        access_log=access_log,
    )


def _run_granian(app: Any, host: str, port: int, *, access_log: bool, log_level: str) -> None:
    server = embed.Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        websockets=False,
        log_access=access_log,
        log_level=LogLevels(log_level),
    )

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, server.stop)
        await server.serve()

    uvloop.run(serve())

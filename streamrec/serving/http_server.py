"""Run the API v1 app on an HTTP server in this process: uvicorn or granian.

Both run the app's lifespan (the engine opens and closes with it) on a uvloop event
loop and stop cleanly on SIGTERM or SIGINT. uvicorn runs with its httptools parser;
granian (Rust HTTP, optional extra ``granian``) runs embedded, in this process, so
that one process still owns the engine and its log.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any, Literal

import uvicorn
import uvloop

from streamrec.extras import import_extra

HttpServer = Literal["uvicorn", "granian"]
HTTP_SERVERS: tuple[HttpServer, ...] = ("uvicorn", "granian")


def run_http(
    app: Any,
    host: str,
    port: int,
    server: HttpServer = "uvicorn",
    *,
    access_log: bool = False,
    log_level: str = "info",
) -> None:
    """Serve ``app`` on ``host:port`` with ``server`` until SIGTERM or SIGINT.

    Raises
    ------
    MissingExtra
        If ``server`` is granian and it is not installed.
    """
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
    embed = import_extra("granian.server.embed", "granian", "the granian HTTP server")
    server = embed.Server(
        app,
        address=host,
        port=port,
        interface="asgi",
        websockets=False,
        log_access=access_log,
        log_level=log_level,
    )

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, server.stop)
        await server.serve()

    uvloop.run(serve())

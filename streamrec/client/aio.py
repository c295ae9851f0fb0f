"""The asyncio client of HTTP API v1: the same routes as the blocking one, awaited."""

from __future__ import annotations

import asyncio
from types import TracebackType

import httpx

from streamrec.client.async_batcher import AsyncBatcher
from streamrec.client.batching import BatchOptions, OnError
from streamrec.client.calls import Call, M, http_options
from streamrec.client.retry import Attempts, RetryPolicy
from streamrec.client.routes import Routes


class AsyncStreamrecClient(Routes):
    """An asyncio client of a streamrec server; every route method returns an awaitable.

    Parameters are those of :class:`~streamrec.client.StreamrecClient`.

    Examples
    --------
    >>> async with AsyncStreamrecClient("http://127.0.0.1:8000") as client:  # doctest: +SKIP
    ...     await client.send_events([{"user_id": "ann", "item_id": "tent", "type": "view"}])
    ...     (await client.recommendations("ann", k=5)).item_ids
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = 10.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(**http_options(base_url, api_key, timeout))
        self._events: AsyncBatcher | None = None

    async def _send(self, call: Call[M]) -> M:
        attempts = Attempts(self.retry, call)
        while True:
            try:
                response = await self._http.send(call.request(self._http))
            except httpx.TransportError as exc:
                await asyncio.sleep(attempts.after_error(exc))
                continue
            wait = attempts.after_response(response)
            if wait is None:
                return call.read(response)
            await asyncio.sleep(wait)

    def batcher(
        self, options: BatchOptions | None = None, on_error: OnError | None = None
    ) -> AsyncBatcher:
        """A new :class:`AsyncBatcher` sending through this client (close it when done)."""
        return AsyncBatcher(self.send_events, options, on_error)

    @property
    def events(self) -> AsyncBatcher:
        """This client's own batcher (default options), drained by :meth:`close`."""
        if self._events is None:
            self._events = self.batcher()
        return self._events

    async def close(self) -> None:
        """Drain :attr:`events` (raising its failures) and close the connections."""
        try:
            if self._events is not None:
                await self._events.close()
        finally:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncStreamrecClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

"""The blocking client of HTTP API v1."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import httpx

from streamrec.client.batcher import Batcher
from streamrec.client.batching import BatchOptions, OnError
from streamrec.client.calls import Call, M, http_options
from streamrec.client.retry import Attempts, RetryPolicy
from streamrec.client.routes import Routes


class StreamrecClient(Routes):
    """A blocking client of a streamrec server; its methods are the API's routes.

    Parameters
    ----------
    base_url
        Where the server listens.
    api_key
        Sent as ``Authorization: Bearer <key>`` when the server requires keys.
    timeout
        Seconds for each attempt of a request (or an :class:`httpx.Timeout`).
    retry
        How often, and after how long, connection failures, 429 and 503 are retried.

    Examples
    --------
    >>> with StreamrecClient("http://127.0.0.1:8000") as client:  # doctest: +SKIP
    ...     client.send_event({"user_id": "ann", "item_id": "tent", "type": "view"}, wait=True)
    ...     client.recommendations("ann", k=5).item_ids
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
        self._http = httpx.Client(**http_options(base_url, api_key, timeout))
        self._events: Batcher | None = None
        self._events_lock = threading.Lock()

    def _send(self, call: Call[M]) -> M:
        attempts = Attempts(self.retry, call)
        while True:
            try:
                response = self._http.send(call.request(self._http))
            except httpx.TransportError as exc:
                time.sleep(attempts.after_error(exc))
                continue
            wait = attempts.after_response(response)
            if wait is None:
                return call.read(response)
            time.sleep(wait)

    def batcher(
        self, options: BatchOptions | None = None, on_error: OnError | None = None
    ) -> Batcher:
        """A new :class:`Batcher` sending through this client (close it when done)."""
        return Batcher(self.send_events, options, on_error)

    @property
    def events(self) -> Batcher:
        """This client's own batcher (default options), drained by :meth:`close`."""
        with self._events_lock:
            if self._events is None:
                self._events = self.batcher()
            return self._events

    def close(self) -> None:
        """Drain :attr:`events` (raising its failures) and close the connections."""
        try:
            if self._events is not None:
                self._events.close()
        finally:
            self._http.close()

    def __enter__(self) -> StreamrecClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

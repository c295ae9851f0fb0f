"""Every route of the API, declared once for both clients.

:class:`Routes` lists the routes as :class:`Endpoint` descriptors over the builders of
:mod:`streamrec.client.calls`. Reached through a client, an endpoint is a function
with the builder's parameters that sends the built :class:`~streamrec.client.calls.Call`
with the client's ``_send``: on :class:`~streamrec.client.StreamrecClient` it returns
the answer, on :class:`~streamrec.client.AsyncStreamrecClient` an awaitable of it.
The types say so too (through the overloads of :meth:`Endpoint.__get__`), so the
sync and async clients share every method without writing each one twice.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

from pydantic import BaseModel

from streamrec.client import calls
from streamrec.client.calls import Call

P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)


class BlockingSender(Protocol):
    """A client whose ``_send`` returns the answer."""

    def _send(self, call: Call[M]) -> M: ...


class AsyncSender(Protocol):
    """A client whose ``_send`` returns an awaitable of the answer."""

    def _send(self, call: Call[M]) -> Awaitable[M]: ...


class Endpoint(Generic[P, M]):
    """A route as a method: ``build`` makes the call, the owning client sends it."""

    def __init__(self, build: Callable[P, Call[M]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, client: None, owner: type) -> Endpoint[P, M]: ...
    @overload
    def __get__(self, client: BlockingSender, owner: type) -> Callable[P, M]: ...
    @overload
    def __get__(self, client: AsyncSender, owner: type) -> Callable[P, Awaitable[M]]: ...
    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        build = self.build

        @functools.wraps(build)
        def send(*args: P.args, **kwargs: P.kwargs) -> Any:
            return client._send(build(*args, **kwargs))

        return send


class Routes:
    """The routes of HTTP API v1 (see :mod:`streamrec.client.calls` for each one)."""

    send_event = Endpoint(calls.send_event)
    send_events = Endpoint(calls.send_events)
    recommendations = Endpoint(calls.recommendations)
    explain = Endpoint(calls.explain)
    put_editorial = Endpoint(calls.put_editorial)
    get_editorial = Endpoint(calls.get_editorial)
    similar = Endpoint(calls.similar)
    popular = Endpoint(calls.popular)
    trending = Endpoint(calls.trending)
    put_item = Endpoint(calls.put_item)
    post_items = Endpoint(calls.post_items)
    get_item = Endpoint(calls.get_item)
    profile = Endpoint(calls.profile)
    delete_user = Endpoint(calls.delete_user)
    delete_item = Endpoint(calls.delete_item)
    health = Endpoint(calls.health)
    ready = Endpoint(calls.ready)
    put_experiment = Endpoint(calls.put_experiment)
    experiments = Endpoint(calls.experiments)
    get_experiment = Endpoint(calls.get_experiment)
    experiment_report = Endpoint(calls.experiment_report)

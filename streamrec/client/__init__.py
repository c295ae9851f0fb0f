"""The Python client of streamrec's HTTP API v1, blocking and asyncio.

>>> from streamrec.client import StreamrecClient
>>> with StreamrecClient("http://127.0.0.1:8000") as client:  # doctest: +SKIP
...     client.send_events([{"user_id": "ann", "item_id": "tent", "type": "view"}], wait=True)
...     for item in client.recommendations("ann", k=5).items:
...         print(item.item_id, item.score, item.reasons)

It speaks only HTTP (it never imports the server) and is documented in
``docs/client.md``.
"""

from streamrec.client.aio import AsyncStreamrecClient
from streamrec.client.async_batcher import AsyncBatcher
from streamrec.client.batcher import Batcher
from streamrec.client.batching import (
    BatcherClosedError,
    BatchError,
    BatchOptions,
    FailedBatch,
    QueueFullError,
)
from streamrec.client.errors import (
    AuthError,
    InvalidInputError,
    NotFoundError,
    StreamrecClientError,
    StreamrecConnectionError,
    StreamrecHTTPError,
    UnavailableError,
)
from streamrec.client.models import (
    Accepted,
    EditorialList,
    Erased,
    Event,
    EventType,
    ExperimentInfo,
    ExperimentList,
    ExperimentReport,
    ExperimentVariant,
    Explanation,
    Health,
    Interaction,
    ItemDetail,
    ItemIn,
    ItemMetadata,
    ItemsStored,
    ItemStats,
    ItemStored,
    Profile,
    Readiness,
    RecommendationList,
    RecommendedItem,
    Session,
)
from streamrec.client.retry import RetryPolicy
from streamrec.client.sync import StreamrecClient

__all__ = [
    "Accepted",
    "AsyncBatcher",
    "AsyncStreamrecClient",
    "AuthError",
    "BatchError",
    "BatchOptions",
    "Batcher",
    "BatcherClosedError",
    "EditorialList",
    "Event",
    "EventType",
    "ExperimentInfo",
    "ExperimentList",
    "ExperimentReport",
    "ExperimentVariant",
    "Explanation",
    "FailedBatch",
    "Health",
    "Interaction",
    "InvalidInputError",
    "ItemDetail",
    "ItemIn",
    "ItemMetadata",
    "ItemStats",
    "ItemStored",
    "ItemsStored",
    "Erased",
    "NotFoundError",
    "Profile",
    "QueueFullError",
    "Readiness",
    "RecommendationList",
    "RecommendedItem",
    "RetryPolicy",
    "Session",
    "StreamrecClient",
    "StreamrecClientError",
    "StreamrecConnectionError",
    "StreamrecHTTPError",
    "UnavailableError",
]

"""The scale-out online state on Redis or Redis Cluster (extra ``redis``)."""

from streamrec.state.redis.state import RedisState

__all__ = ["RedisState"]

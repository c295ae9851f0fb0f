"""Connection, key layout and Lua scripts of the Redis state.

URLs: ``redis://host:port/db`` (or ``rediss://``) for one server;
``redis://host:port?cluster=true`` for a Redis Cluster (any node; db 0). An optional
``prefix=NAME`` query parameter namespaces every key (default ``sr``), so several
states can share one server or cluster.

Every key carries a hash tag, so each Lua script and each transaction touches one
cluster slot: ``{u:<user>}`` (one profile), ``{i:<item>}`` (an item's counters and
its neighbour row), and the shared slots ``{meta}`` (positions, landmark, clock,
journals), ``{ids}`` (id interning), ``{rank}`` (popular/trending sorted sets,
co-occurrence mass) and ``{cat}`` (catalog).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis
import redis.cluster

from streamrec.errors import BackendUnavailable, ConfigError
from streamrec.processing.cooccurrence import BOUND_FACTOR, KEEP_FACTOR, PRUNE_TIE

Client = redis.Redis | redis.cluster.RedisCluster


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """Where the state lives: server URL, cluster mode, key prefix."""

    url: str
    cluster: bool
    prefix: str

    @classmethod
    def parse(cls, url: str) -> RedisTarget:
        """Parse a state URL.

        Raises
        ------
        ConfigError
            For another scheme, a bad ``cluster`` flag, a prefix with braces, or a
            database other than 0 in cluster mode.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ConfigError(f"state URL {url!r}: expected redis://host:port[/db]")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        flag = query.pop("cluster", "false").lower()
        if flag not in ("true", "false", "1", "0"):
            raise ConfigError(f"state URL {url!r}: cluster must be true or false")
        prefix = query.pop("prefix", "sr")
        if not prefix or "{" in prefix or "}" in prefix:
            raise ConfigError(f"state URL {url!r}: prefix must be non-empty, without braces")
        if query:
            raise ConfigError(f"state URL {url!r}: unknown parameters {sorted(query)}")
        cluster = flag in ("true", "1")
        if cluster and parts.path.strip("/") not in ("", "0"):
            raise ConfigError(f"state URL {url!r}: Redis Cluster has database 0 only")
        server = parts._replace(query="", fragment="").geturl()
        return cls(url=server, cluster=cluster, prefix=prefix)

    def connect(self, timeout_s: float) -> Client:
        """A client (not yet connected; the first command connects)."""
        options: dict[str, Any] = {
            "socket_timeout": timeout_s,
            "socket_connect_timeout": timeout_s,
            "protocol": 2,  # scored ranges parse several times faster than in RESP3
        }
        if self.cluster:
            return redis.cluster.RedisCluster.from_url(self.url, **options)
        return redis.Redis.from_url(self.url, **options)


@contextmanager
def redis_errors(doing: str) -> Iterator[None]:
    """Translate driver errors into :class:`BackendUnavailable`."""
    try:
        yield
    except (redis.RedisError, OSError) as exc:
        raise BackendUnavailable(f"Redis {doing} failed: {exc}") from exc


class Keys:
    """Key names under one prefix."""

    def __init__(self, prefix: str) -> None:
        p = prefix
        self.meta = f"{p}:{{meta}}"
        self.positions = f"{p}:{{meta}}:positions"
        self.item_ids = f"{p}:{{ids}}:item"
        self.item_names = f"{p}:{{ids}}:item:name"
        self.item_next = f"{p}:{{ids}}:item:next"
        self.category_ids = f"{p}:{{ids}}:category"
        self.category_names = f"{p}:{{ids}}:category:name"
        self.category_next = f"{p}:{{ids}}:category:next"
        self.rank_marks = f"{p}:{{rank}}:marks"
        self.popular = f"{p}:{{rank}}:popular"
        self.short = f"{p}:{{rank}}:short"
        self.long = f"{p}:{{rank}}:long"
        self.mass = f"{p}:{{rank}}:mass"
        self.catalog = f"{p}:{{cat}}:items"
        self.item_category = f"{p}:{{cat}}:category"
        self.unavailable = f"{p}:{{cat}}:unavailable"
        self.created = f"{p}:{{cat}}:created"
        self._prefix = p

    def journal(self, partition: int) -> str:
        """The pending write plan of a partition (Redis Cluster only)."""
        return f"{self._prefix}:{{meta}}:journal:{partition}"

    def profile(self, user_id: str) -> str:
        """A user's profile record."""
        return f"{self._prefix}:{{u:{user_id}}}"

    def item(self, item: int) -> str:
        """An item's counters (hash)."""
        return f"{self._prefix}:{{i:{item}}}"

    def neighbors(self, item: int) -> str:
        """An item's co-occurrence row (sorted set of item ids by weight)."""
        return f"{self._prefix}:{{i:{item}}}:n"

    def profile_pattern(self) -> str:
        """A SCAN pattern matching every profile record."""
        return f"{self._prefix}:{{u:*}}"

    def neighbors_pattern(self) -> str:
        """A SCAN pattern matching every neighbour row."""
        return f"{self._prefix}:{{i:*}}:n"

    def popular_in(self, category: int) -> str:
        """Popularity of the items of one category."""
        return f"{self._prefix}:{{rank}}:popular:{category}"

    def pattern(self) -> str:
        """A SCAN pattern matching every key of this state."""
        return f"{self._prefix}:*"


#: Interns names: KEYS = name->id hash, id->name hash, counter; ARGV = names.
INTERN = """
local out = {}
for i, name in ipairs(ARGV) do
  local id = redis.call('HGET', KEYS[1], name)
  if not id then
    id = redis.call('INCR', KEYS[3]) - 1
    redis.call('HSET', KEYS[1], name, id)
    redis.call('HSET', KEYS[2], id, name)
  end
  out[i] = tonumber(id)
end
return out
"""

#: Skips the rest of a script when the guard field already marks this write done.
_GUARD = """
if ARGV[1] ~= '' then
  local done = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
  if done >= tonumber(ARGV[2]) then return 0 end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
"""

#: One item's deltas. KEYS = counters hash, neighbour row. ARGV = guard field, guard
#: offset, neighbour cap, #float fields, #int fields, then (field, delta) pairs, then
#: optionally the neighbour deltas packed as little-endian (int32 id, float64 weight)
#: records. Float fields are added in double precision and stored with 17 digits
#: (HINCRBYFLOAT would round through a fixed-point string). A row past
#: ``BOUND_FACTOR`` times the cap (``max_neighbors``) is pruned back to
#: ``KEEP_FACTOR`` times the cap as
#: :class:`~streamrec.processing.cooccurrence.CooccurrenceIndex` prunes: the heaviest
#: entry that does not fit goes, with every entry tied with it. Reads cut to the cap.
ITEM_APPLY = (
    _GUARD
    + """
local cap, nf, ni = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local i = 6
for _ = 1, nf do
  local v = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') + tonumber(ARGV[i + 1])
  redis.call('HSET', KEYS[1], ARGV[i], string.format('%.17g', v))
  i = i + 2
end
for _ = 1, ni do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
local pairs = ARGV[i]
if pairs and #pairs > 0 then
  local at = 1
  while at < #pairs do
    local member, weight
    member, weight, at = struct.unpack('<i4d', pairs, at)
    redis.call('ZINCRBY', KEYS[2], weight, member)
  end
  if redis.call('ZCARD', KEYS[2]) > BOUND_FACTOR * cap then
    local keep = KEEP_FACTOR * cap
    local cut = redis.call('ZRANGE', KEYS[2], -(keep + 1), -(keep + 1), 'WITHSCORES')
    local limit = tonumber(cut[2]) * (1 + PRUNE_TIE)
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.17g', limit))
  end
end
return 1
""".replace("PRUNE_TIE", repr(PRUNE_TIE))
    .replace("BOUND_FACTOR", str(BOUND_FACTOR))
    .replace("KEEP_FACTOR", str(KEEP_FACTOR))
)

#: Ranking deltas. KEYS = marks hash, popular, short, long, mass, then per-category
#: popular sets. ARGV = guard field, guard offset, then per item: member, category
#: key index (0 = none), popularity, short, long, mass deltas.
RANK_APPLY = (
    _GUARD
    + """
for i = 3, #ARGV, 6 do
  local m = ARGV[i]
  redis.call('ZINCRBY', KEYS[2], ARGV[i + 2], m)
  redis.call('ZINCRBY', KEYS[3], ARGV[i + 3], m)
  redis.call('ZINCRBY', KEYS[4], ARGV[i + 4], m)
  if tonumber(ARGV[i + 5]) ~= 0 then redis.call('ZINCRBY', KEYS[5], ARGV[i + 5], m) end
  local c = tonumber(ARGV[i + 1])
  if c > 0 then redis.call('ZINCRBY', KEYS[5 + c], ARGV[i + 2], m) end
end
return 1
"""
)

#: Ends a batch. KEYS = meta hash, positions hash, journal. ARGV = partition ('' for
#: unlogged events), next offset, clock. Positions and clock only move forward.
FINISH = """
if ARGV[1] ~= '' then
  local at = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
  if tonumber(ARGV[2]) > at then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
end
local clock = tonumber(redis.call('HGET', KEYS[1], 'clock') or '0')
if tonumber(ARGV[3]) > clock then redis.call('HSET', KEYS[1], 'clock', ARGV[3]) end
redis.call('DEL', KEYS[3])
return 1
"""

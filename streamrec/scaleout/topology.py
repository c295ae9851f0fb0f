"""The backends of the scale-out topology, checked in one place for every role.

Workers (``streamrec process``) and API replicas (``streamrec serve`` with a Redis
state) both need a Kafka log and a Redis state; :func:`require_scaleout` checks
both URLs in full before anything connects.
"""

from __future__ import annotations

from streamrec.config import Settings
from streamrec.errors import ConfigError
from streamrec.log.kafka.common import KafkaTarget
from streamrec.state.redis.keys import RedisTarget

#: What the scale-out topology is given on the command line.
URL_HELP = "--log kafka://host:port/topic --state redis://host:port/db[?cluster=true]"


def require_scaleout(settings: Settings) -> None:
    """Check that ``settings`` name a Kafka log and a Redis state.

    Raises
    ------
    ConfigError
        For another log or state, or a malformed URL (the message names both flags).
    """
    try:
        KafkaTarget.parse(settings.log.url)
        RedisTarget.parse(settings.state.url)
    except ConfigError as exc:
        raise ConfigError(f"the scale-out topology needs {URL_HELP}: {exc}") from None

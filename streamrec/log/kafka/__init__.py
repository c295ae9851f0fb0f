"""The Kafka EventLog adapter: one topic, partitioned by user, one message per event.

URL: ``kafka://host:port[,host:port...]/topic[?partitions=N]``. The topic (with ``N``
partitions, default 4) and its dead-letter topic ``<topic>.dlq`` are created when
missing; an existing topic keeps its partition count.

Messages are keyed by ``user_id`` (murmur2, as Java clients hash keys), so a user's
events stay in one partition and in order; the value is the event's JSON wire
record. The producer uses ``acks=all`` with idempotence, and
:meth:`KafkaEventLog.append` returns only after every message's delivery report.

Consumers belong to a group and commit only explicitly. A message that is not JSON
or not a valid event never stops a consumer: it goes to the dead-letter topic as
``{"reason", "source_topic", "partition", "offset", "payload"}`` and is skipped.
"""

from streamrec.log.kafka.common import KafkaTarget
from streamrec.log.kafka.consumer import KafkaLogConsumer, PartitionsHook
from streamrec.log.kafka.log import KafkaEventLog

__all__ = ["KafkaEventLog", "KafkaLogConsumer", "KafkaTarget", "PartitionsHook"]

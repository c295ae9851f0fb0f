"""The embedded event log: CRC-framed segment files under the data directory."""

from streamrec.log.embedded.log import EmbeddedEventLog

__all__ = ["EmbeddedEventLog"]

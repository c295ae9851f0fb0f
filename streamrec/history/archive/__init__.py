"""The archive role: every event of the Kafka log, stored in the PostgreSQL history.

:class:`HistoryArchiver` is the loop (see :mod:`streamrec.history.archive.archiver`
for its guarantees); :func:`streamrec.bootstrap.run_archiver` wires it, and
``streamrec archive`` runs it.
"""

from streamrec.history.archive.archiver import (
    ARCHIVE_GROUP,
    ArchiveLag,
    ArchiveStatus,
    Backoff,
    HistoryArchiver,
)

__all__ = [
    "ARCHIVE_GROUP",
    "ArchiveLag",
    "ArchiveStatus",
    "Backoff",
    "HistoryArchiver",
]

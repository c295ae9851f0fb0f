"""The archive role: every event of the Kafka log, stored in the PostgreSQL history.

:class:`HistoryArchiver` is the loop (see :mod:`streamrec.history.archive.archiver`
for its guarantees); :func:`run_archiver` and :func:`add_archive_parser` make it the
``streamrec archive`` command.
"""

from streamrec.history.archive.archiver import (
    ARCHIVE_GROUP,
    ArchiveLag,
    ArchiveStatus,
    Backoff,
    HistoryArchiver,
)
from streamrec.history.archive.command import add_archive_parser, run_archiver

__all__ = [
    "ARCHIVE_GROUP",
    "ArchiveLag",
    "ArchiveStatus",
    "Backoff",
    "HistoryArchiver",
    "add_archive_parser",
    "run_archiver",
]

"""The in-memory attribution store of the embedded engine, snapshotted beside the state.

Bounded: the index holds at most ``attribution_max_lists`` lists and none older
than ``served_retention_s`` before the newest one (served time, so a replay evicts
exactly what the live store evicted); each user keeps their ``lists_per_user``
newest. Counters grow with experiments x variants x surfaces x positions, the user
sets with the users served.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from pathlib import Path

import orjson

from streamrec.config import ExperimentSettings
from streamrec.errors import CorruptData
from streamrec.events import EventBatch
from streamrec.experiments.attribution import (
    LIST_LEVEL,
    NO_EXPERIMENT,
    Credit,
    Key,
    event_credits,
    key_of,
    served_credits,
)
from streamrec.experiments.interleaving import outcome_change
from streamrec.experiments.served import ServedList
from streamrec.experiments.tallies import Tallies
from streamrec.processing.fold import unapplied

FORMAT_VERSION = 1


class MemoryAttribution:
    """Attribution counters and the served-list index, in this process."""

    def __init__(self, settings: ExperimentSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self._index: OrderedDict[str, ServedList] = OrderedDict()
        self._recent: dict[str, deque[ServedList]] = {}
        self._tallies: dict[str, Tallies] = {}
        self._users: dict[tuple[str, str], set[str]] = {}
        self._served_position = 0
        self._positions: dict[int, int] = {}
        self._newest_ms = 0
        self._team_clicks: dict[str, dict[str, int]] = {}

    # -- index -----------------------------------------------------------------

    def served(self, recommendation_ids: Sequence[str]) -> list[ServedList | None]:
        """The indexed lists with these ids."""
        with self.lock:
            return [self._index.get(rid) for rid in recommendation_ids]

    def recent(self, user_id: str) -> Sequence[ServedList]:
        """The user's indexed lists, newest first."""
        with self.lock:
            lists = self._recent.get(user_id)
            return list(reversed(lists)) if lists else []

    def _index_list(self, served: ServedList) -> None:
        self._index[served.recommendation_id] = served
        if served.user_id is not None:
            lists = self._recent.setdefault(served.user_id, deque())
            lists.append(served)
            if len(lists) > self.settings.lists_per_user:
                lists.popleft()
        self._newest_ms = max(self._newest_ms, served.served_at)
        cutoff = self._newest_ms - int(self.settings.served_retention_s * 1000)
        while self._index:
            oldest = next(iter(self._index.values()))
            if len(self._index) <= self.settings.attribution_max_lists and (
                oldest.served_at >= cutoff
            ):
                break
            self._forget(oldest)

    def _forget(self, served: ServedList) -> None:
        del self._index[served.recommendation_id]
        self._team_clicks.pop(served.recommendation_id, None)
        if served.user_id is None:
            return
        lists = self._recent.get(served.user_id)
        if lists is not None and served in lists:
            lists.remove(served)
            if not lists:
                del self._recent[served.user_id]

    def indexed(self) -> int:
        """How many lists the index holds."""
        with self.lock:
            return len(self._index)

    # -- writes ----------------------------------------------------------------

    def apply_served(self, entries: Sequence[tuple[int, ServedList]]) -> None:
        """Index and count the lists at or after :meth:`served_position`."""
        bucket_ms = int(self.settings.report_bucket_s * 1000)
        with self.lock:
            for seq, served in entries:
                if seq < self._served_position:
                    continue
                self._index_list(served)
                experiment = served.experiment or NO_EXPERIMENT
                self._tally(experiment).add(served_credits(served, bucket_ms))
                if served.user_id is not None:
                    self._users.setdefault((experiment, served.variant), set()).add(served.user_id)
                self._served_position = seq + 1

    def apply_events(self, batch: EventBatch) -> None:
        """Credit the batch's events not applied yet."""
        window_ms = int(self.settings.attribution_window_s * 1000)
        bucket_ms = int(self.settings.report_bucket_s * 1000)
        with self.lock:
            fresh = unapplied(batch, self._positions)
            for credit in event_credits(fresh, self, window_ms, bucket_ms):
                tally = self._tally(credit.key.experiment)
                tally.add((credit,))
                served = self._index[credit.list_id]
                if credit.counter == "clicks" and served.teams is not None:
                    tally.add(self._outcomes(served, credit))
            logged = batch.offset >= 0
            for partition, offset in zip(
                batch.partition[logged].tolist(), batch.offset[logged].tolist(), strict=True
            ):
                self._positions[partition] = max(self._positions.get(partition, 0), offset + 1)

    def _outcomes(self, served: ServedList, credit: Credit) -> list[Credit]:
        """The win/tie credits of one more click on an interleaved list."""
        clicks = self._team_clicks.setdefault(served.recommendation_id, {})
        changes = outcome_change(clicks, credit.key.variant)
        clicks[credit.key.variant] = clicks.get(credit.key.variant, 0) + 1
        key = key_of(served, LIST_LEVEL)
        return [Credit(key, name, delta, credit.bucket, credit.list_id) for name, delta in changes]

    def _tally(self, experiment: str) -> Tallies:
        return self._tallies.setdefault(experiment, Tallies())

    # -- reads -----------------------------------------------------------------

    def served_position(self) -> int:
        """The next served-list sequence number to apply."""
        with self.lock:
            return self._served_position

    def positions(self) -> dict[int, int]:
        """Per event-log partition, the offset after the last applied event."""
        with self.lock:
            return dict(self._positions)

    def tallies(self, experiment: str | None) -> Tallies:
        """A copy of the counters of ``experiment``."""
        name = experiment or NO_EXPERIMENT
        with self.lock:
            found = self._tallies.get(name, Tallies())
            users = {v: len(s) for (e, v), s in self._users.items() if e == name}
            return Tallies(
                {k: dict(row) for k, row in found.counters.items()},
                users,
                {k: dict(p) for k, p in found.series.items()},
            )

    # -- snapshots -------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write everything to ``path`` atomically (JSON, temp file, fsync, rename)."""
        with self.lock:
            body = {
                "version": FORMAT_VERSION,
                "served_position": self._served_position,
                "positions": {str(p): o for p, o in self._positions.items()},
                "index": [s.encode().decode() for s in self._index.values()],
                "counters": [
                    [e, k.variant, k.surface, k.position, row]
                    for e, tally in self._tallies.items()
                    for k, row in tally.counters.items()
                ],
                "series": [
                    [e, variant, bucket, point]
                    for e, tally in self._tallies.items()
                    for (variant, bucket), point in tally.series.items()
                ],
                "users": [[e, v, sorted(users)] for (e, v), users in self._users.items()],
                "team_clicks": self._team_clicks,
            }
            data = orjson.dumps(body)
        temp = path.with_name(path.name + ".tmp")
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)

    @classmethod
    def load(cls, settings: ExperimentSettings, path: Path) -> MemoryAttribution:
        """The store saved at ``path`` (an empty one where there is no file).

        Raises
        ------
        CorruptData
            If the file is unreadable or of another format.
        """
        store = cls(settings)
        if not path.exists():
            return store
        try:
            body = orjson.loads(path.read_bytes())
            if body.get("version") != FORMAT_VERSION:
                raise CorruptData(f"attribution snapshot {path} has another format")
            for text in body["index"]:
                store._index_list(ServedList.decode(text))
            for experiment, variant, surface, position, row in body["counters"]:
                key = Key(experiment, variant, surface, position)
                store._tally(experiment).counters[key] = dict(row)
            for experiment, variant, bucket, point in body["series"]:
                store._tally(experiment).series[(variant, bucket)] = dict(point)
            for experiment, variant, users in body["users"]:
                store._users[(experiment, variant)] = set(users)
            store._team_clicks = {
                rid: dict(clicks)
                for rid, clicks in body["team_clicks"].items()
                if rid in store._index
            }
            store._served_position = int(body["served_position"])
            store._positions = {int(p): int(o) for p, o in body["positions"].items()}
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CorruptData(f"attribution snapshot {path} is unreadable: {exc}") from None
        return store

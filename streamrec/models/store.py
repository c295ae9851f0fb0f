"""Versioned model artifacts on a local (or shared) directory, published atomically.

Layout under ``root``::

    LATEST                       the current version's name (replaced atomically)
    versions/<version>/          one complete training run, never modified
        manifest.json            kinds, parameters, data window, metrics, code version
        users.json, items.json   id maps as JSON lists
        <kind>/…                 each model's .npz (and index) files
    staging/                     versions being written

A version is written and fsynced under ``staging/`` and then renamed into
``versions/`` in one step, and ``LATEST`` is flipped by renaming a new file over it,
so a reader sees either a complete version or none. Publishing and pruning hold an
exclusive lock on ``root/.lock``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

import streamrec
from streamrec.errors import CorruptData, NotFound
from streamrec.ids import IdMap
from streamrec.models.bundle import MODEL_TYPES, ModelBundle
from streamrec.models.content import ContentModel

_STAMP = "%Y%m%dT%H%M%S"


class ModelStore:
    """Publish, list, load and prune model versions under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._versions = self.root / "versions"
        self._staging = self.root / "staging"
        self._latest = self.root / "LATEST"

    def publish(self, bundle: ModelBundle, manifest: Mapping[str, Any] | None = None) -> str:
        """Write ``bundle`` as a new version and make it the latest.

        Parameters
        ----------
        bundle
            The models and id maps; ``bundle.manifest`` is merged into the manifest.
        manifest
            Extra manifest entries (for example ``metrics``); they win over the
            bundle's.

        Returns
        -------
        str
            The new version: sortable by publication time, unique within the store.
        """
        with self._locked():
            version = self._next_version()
            staging = self._staging / f"{version}-{uuid.uuid4().hex}"
            staging.mkdir(parents=True)
            models = bundle.models()
            for kind, model in models.items():
                model.save(staging / kind)
            _write_json(staging / "users.json", bundle.users.to_list())
            _write_json(staging / "items.json", bundle.items.to_list())
            _write_json(
                staging / "manifest.json",
                {
                    **bundle.manifest,
                    **(manifest or {}),
                    "version": version,
                    "kinds": sorted(models),
                    "params": {kind: model.params() for kind, model in models.items()},
                    "code_version": streamrec.__version__,
                    "created_at": datetime.now(UTC).isoformat(),
                },
            )
            _sync_tree(staging)
            self._versions.mkdir(parents=True, exist_ok=True)
            os.rename(staging, self._versions / version)
            _fsync(self._versions)
            pointer = self._staging / f"LATEST-{uuid.uuid4().hex}"
            pointer.write_text(version)
            _fsync(pointer)
            os.replace(pointer, self._latest)
            _fsync(self.root)
        bundle.version = version
        return version

    def latest_version(self) -> str | None:
        """The version ``LATEST`` points to, or ``None`` before the first publish."""
        try:
            return self._latest.read_text().strip() or None
        except FileNotFoundError:
            return None

    def versions(self) -> list[str]:
        """Every complete version, oldest first."""
        if not self._versions.is_dir():
            return []
        return sorted(p.name for p in self._versions.iterdir() if p.is_dir())

    def manifest(self, version: str) -> dict[str, Any]:
        """The manifest of ``version`` alone (none of its models is loaded).

        Raises
        ------
        NotFound
            If there is no such version.
        CorruptData
            If its manifest is unreadable.
        """
        path = self._versions / version / "manifest.json"
        try:
            manifest: dict[str, Any] = orjson.loads(path.read_bytes())
        except FileNotFoundError as exc:
            raise NotFound(f"model version {version!r} does not exist under {self.root}") from exc
        except (OSError, ValueError) as exc:
            raise CorruptData(f"the manifest of model version {version!r} is unreadable") from exc
        return manifest

    def load(self, version: str | None = None) -> ModelBundle:
        """Load ``version`` (default: the latest).

        A load of the latest version that loses a race with publishing and pruning
        (the version it read from ``LATEST`` is pruned meanwhile) starts again from
        the new ``LATEST``.

        Raises
        ------
        NotFound
            If there is no such version (or nothing was published yet).
        CorruptData
            If the version's files are incomplete or unreadable.
        """
        if version is not None:
            return self._load_version(version)
        while True:
            latest = self.latest_version()
            if latest is None:
                raise NotFound(f"no model has been published under {self.root}")
            try:
                return self._load_version(latest)
            except (NotFound, CorruptData):
                if self.latest_version() == latest:
                    raise

    def _load_version(self, version: str) -> ModelBundle:
        path = self._versions / version
        if not path.is_dir():
            raise NotFound(f"model version {version!r} does not exist under {self.root}")
        try:
            manifest = orjson.loads((path / "manifest.json").read_bytes())
            users = IdMap(orjson.loads((path / "users.json").read_bytes()))
            items = IdMap(orjson.loads((path / "items.json").read_bytes()))
            bundle = ModelBundle(users=users, items=items, manifest=manifest, version=version)
            for kind in manifest["kinds"]:
                if kind == ContentModel.kind:
                    bundle.content = ContentModel.load(path / kind, items=items)
                else:
                    setattr(bundle, kind, MODEL_TYPES[kind].load(path / kind))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise CorruptData(f"model version {version!r} is unreadable: {exc}") from exc
        return bundle

    def prune(self, keep: int) -> list[str]:
        """Delete all but the ``keep`` newest versions (never the latest one).

        Returns
        -------
        list[str]
            The versions removed.
        """
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        with self._locked():
            latest = self.latest_version()
            doomed = [v for v in self.versions()[:-keep] if v != latest]
            for entry in self._staging.iterdir() if self._staging.is_dir() else ():
                _remove(entry)
            for version in doomed:
                trash = self._staging / f"trash-{version}-{uuid.uuid4().hex}"
                os.rename(self._versions / version, trash)
                _remove(trash)
        return doomed

    def _next_version(self) -> str:
        """A version name after every existing one, from the current UTC time."""
        micros = time.time_ns() // 1000
        existing = self.versions()
        if existing:
            micros = max(micros, _version_micros(existing[-1]) + 1)
        stamp = datetime.fromtimestamp(micros // 1_000_000, UTC).strftime(_STAMP)
        return f"{stamp}{micros % 1_000_000:06d}Z"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _version_micros(version: str) -> int:
    seconds = datetime.strptime(version[:15], _STAMP).replace(tzinfo=UTC).timestamp()
    return int(seconds) * 1_000_000 + int(version[15:21])


def _write_json(path: Path, value: Any) -> None:
    path.write_bytes(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY))


def _fsync(path: Path) -> None:
    """Flush a file's or a directory's entries to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sync_tree(root: Path) -> None:
    for directory, _, files in os.walk(root):
        for name in files:
            _fsync(Path(directory) / name)
        _fsync(Path(directory))


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()

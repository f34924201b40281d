"""Where a dataset's files come from: a folder on disk, or an LMDB database packed from that folder.

Dataset readers only ever ask a storage for files by their path *relative to the dataset root*, so one reader
class serves both backends. ``tracking/build_lmdb.py`` packs a folder: one key per file (its relative posix
path) plus one listing key per folder, so ``listdir`` works without the original tree.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lib.utils.image import decode_image

LISTING_PREFIX = "__listing__/"  # value: newline-separated entries of a folder, sub-folders end with '/'


class FolderStorage:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def describe(self, rel: str) -> str:
        return str(self.root / rel)

    def exists(self, rel: str) -> bool:
        return (self.root / rel).exists()

    def isdir(self, rel: str) -> bool:
        return (self.root / rel).is_dir()

    def listdir(self, rel: str = "") -> list[str]:
        """Sorted entry names of a folder (files and sub-folders)."""
        try:
            return sorted(os.listdir(self.root / rel))
        except FileNotFoundError:
            raise FileNotFoundError(f"folder not found: {self.root / rel}") from None

    def read_bytes(self, rel: str) -> bytes:
        try:
            return (self.root / rel).read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"file not found: {self.root / rel}") from None

    def read_text(self, rel: str) -> str:
        return self.read_bytes(rel).decode("utf-8-sig", errors="replace")

    def read_image(self, rel: str) -> np.ndarray:
        return decode_image(self.read_bytes(rel), self.describe(rel))


# py-lmdb allows one open environment per path and process, and a forked child (a DataLoader worker) inherits the
# parent's, so environments are shared per process; a new process closes the inherited ones (this does not affect
# the parent) before opening its own.
_environments: dict[str, object] = {}
_environments_pid: int | None = None


def _open_environment(path: Path):
    global _environments_pid
    if _environments_pid != os.getpid():
        for env in _environments.values():
            env.close()
        _environments.clear()
        _environments_pid = os.getpid()
    key = str(path.resolve())
    if key not in _environments:
        import lmdb
        _environments[key] = lmdb.open(key, readonly=True, lock=False, readahead=False, meminit=False)
    return _environments[key]


class LmdbStorage:
    """Read-only view of an LMDB packed by ``tracking/build_lmdb.py``; opened lazily in each process."""

    def __init__(self, path: str | os.PathLike):
        self.root = Path(path)
        if not (self.root / "data.mdb").is_file():
            raise FileNotFoundError(f"not an LMDB folder (no data.mdb): {self.root}")
        self._env = None
        self._pid = None

    def __getstate__(self):  # DataLoader workers pickle datasets: reopen the environment in each process
        return {"root": self.root, "_env": None, "_pid": None}

    def _txn_get(self, key: str) -> bytes | None:
        if self._env is None or self._pid != os.getpid():
            self._env = _open_environment(self.root)
            self._pid = os.getpid()
        with self._env.begin(buffers=False) as txn:
            return txn.get(key.encode("utf-8"))

    def describe(self, rel: str) -> str:
        return f"{self.root}::{rel}"

    def _listing(self, rel: str) -> list[str] | None:
        value = self._txn_get(LISTING_PREFIX + rel.strip("/"))
        return None if value is None else [e for e in value.decode("utf-8").split("\n") if e]

    def exists(self, rel: str) -> bool:
        return self.isdir(rel) or self._txn_get(rel) is not None

    def isdir(self, rel: str) -> bool:
        return self._listing(rel) is not None

    def listdir(self, rel: str = "") -> list[str]:
        entries = self._listing(rel)
        if entries is None:
            raise FileNotFoundError(f"folder not found: {self.describe(rel)}")
        return sorted(e.rstrip("/") for e in entries)

    def read_bytes(self, rel: str) -> bytes:
        value = self._txn_get(rel)
        if value is None:
            raise FileNotFoundError(f"file not found: {self.describe(rel)}")
        return value

    def read_text(self, rel: str) -> str:
        return self.read_bytes(rel).decode("utf-8-sig", errors="replace")

    def read_image(self, rel: str) -> np.ndarray:
        return decode_image(self.read_bytes(rel), self.describe(rel))


def open_storage(root: str | os.PathLike):
    """A folder holding ``data.mdb`` is an LMDB pack; any other folder is read as it is."""
    root = Path(root)
    return LmdbStorage(root) if (root / "data.mdb").is_file() else FolderStorage(root)

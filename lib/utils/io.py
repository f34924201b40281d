"""Atomic, durable file writes: a crash, a full disk or a power loss leaves either the old file or the new one,
never half of one (or an empty one).

A write goes to a temporary file beside the target, is fsync'ed, renamed over the target, and the folder is
fsync'ed so the rename itself survives a power loss. The temporary file is named
``.<target name>.<host>_<pid>.<random>.tmp``: a write killed half-way (SIGKILL, OOM killer) leaves it behind, and
``remove_stale_temp_files`` deletes such leftovers once their writer is known to be dead (same host, process gone).
A temp file of a live process (a parallel worker writing the same folder) or of another host is never deleted.
"""
from __future__ import annotations

import hashlib
import os
import re
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import, before any worker threads exist (os.umask is process-wide)
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0]) or "host"
_TEMP_RE = re.compile(r"^\.(?P<target>.+)\.(?P<host>[A-Za-z0-9-]+)_(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")


def _fsync(path: str | os.PathLike, directory: bool = False) -> None:
    if directory and os.name != "posix":
        return  # folders cannot be opened (nor need fsync) on Windows
    fd = os.open(path, os.O_RDONLY if directory else os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # no safe liveness probe (os.kill(pid, 0) would signal the process): never delete
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def remove_stale_temp_files(folder: str | os.PathLike, target: str | None = None) -> list[Path]:
    """Delete the leftovers of interrupted atomic writes in ``folder`` (only those of ``target`` if given): temp
    files written by a process of this host that no longer runs."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    prefix = "." if target is None else f".{target}."
    removed = []
    for entry in entries:
        match = _TEMP_RE.match(entry.name) if entry.name.startswith(prefix) else None
        if (match and (target is None or match["target"] == target) and match["host"] == _HOST
                and not _pid_alive(int(match["pid"]))):
            Path(entry.path).unlink(missing_ok=True)  # another process may be cleaning the same folder
            removed.append(Path(entry.path))
    return removed


@contextmanager
def atomic_path(path: str | os.PathLike, fsync: bool = True):
    """Yields a temporary path beside ``path``; renamed over ``path`` only if the block finishes.

    ``fsync=False`` skips the two fsyncs (for files that may be lost on a power cut, e.g. caches)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path.parent, path.name)  # this target's leftovers from a killed earlier write
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{_HOST}_{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results and checkpoints are shared like any file
    try:
        yield Path(tmp)
        if fsync:
            _fsync(tmp)  # data on disk before the rename, or a power loss can leave an empty file under the name
        os.replace(tmp, path)
        if fsync:
            _fsync(path.parent, directory=True)  # the rename itself on disk
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write(path: str | os.PathLike, data: str | bytes, fsync: bool = True) -> Path:
    with atomic_path(path, fsync) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def content_digest(*parts: bytes) -> str:
    """A short hex digest (blake2b, 16 bytes) of byte strings: cache keys and model identities."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part)
    return h.hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """``content_digest`` of a file's bytes, read in blocks (checkpoints can be hundreds of MB)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def safe_filename(name: str) -> str:
    """``name`` with every character other than letters, digits, '-', '_' and '.' replaced by '_'."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)

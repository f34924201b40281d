"""Small helpers the dataset readers share: storage-relative paths, image lists, annotation files, name lists.

Everything here goes through a storage object (``FolderStorage`` or ``LmdbStorage``), never the file system
directly, so the readers work unchanged on a folder or an LMDB pack. Errors name the file or folder concerned.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from lib.paths import check_plain_name
from lib.utils.annotations import clean_sentence, parse_boxes, parse_flags, parse_name_list, parse_rows
from lib.utils.image import IMAGE_EXTENSIONS, natural_key


def join(*parts: str) -> str:
    """Relative posix path from parts, skipping empty ones ('' stands for the dataset root)."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def is_hidden(name: str) -> bool:
    """Hidden entries are never data: temporary folders of an interrupted generation ('.tmp_*'), macOS '._*.jpg'."""
    return name.startswith(".")


def list_subfolders(storage, rel: str = "") -> list[str]:
    """Names of the (non-hidden) sub-folders of ``rel``, sorted."""
    return [n for n in storage.listdir(rel) if not is_hidden(n) and storage.isdir(join(rel, n))]


def list_files_with_suffix(storage, rel: str, suffix: str) -> list[str]:
    """Stems of the files in ``rel`` ending with ``suffix`` (e.g. the sequence names of an ``anno/`` folder)."""
    return [n[: -len(suffix)] for n in storage.listdir(rel) if n.endswith(suffix) and len(n) > len(suffix)]


def list_images(storage, folder: str) -> list[str]:
    """Relative paths of the images in ``folder``, in natural order; other files (e.g. Thumbs.db) are skipped."""
    names = [n for n in storage.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS) and not is_hidden(n)]
    return [join(folder, n) for n in sorted(names, key=natural_key)]


def numbered_frames(folder: str, count: int, digits: int, first: int = 1, ext: str = ".jpg") -> list[str]:
    """Frame paths of a numbered sequence, built from the annotation count (no folder listing: fast)."""
    if digits:
        return [f"{join(folder, f'{i:0{digits}d}')}{ext}" for i in range(first, first + count)]
    return [f"{join(folder, str(i))}{ext}" for i in range(first, first + count)]


def read_boxes(storage, rel: str) -> np.ndarray:
    """(N, 4) float64 boxes of an annotation file; an unparsable line is an error naming file and line."""
    return parse_boxes(storage.read_text(rel), storage.describe(rel))


def read_flags(storage, rel: str, count: int) -> np.ndarray:
    """0/1 flags (one per line or one comma-separated line) that must match the ``count`` of boxes."""
    flags = parse_flags(storage.read_text(rel), storage.describe(rel))
    _check_count(storage, rel, len(flags), count, "flags")
    return flags


def read_numbers(storage, rel: str, count: int | None = None) -> np.ndarray:
    """All numbers of a file, flattened (e.g. GOT-10k cover levels, WebUAV attribute vectors)."""
    values = parse_rows(storage.read_text(rel), storage.describe(rel)).reshape(-1)
    if count is not None:
        _check_count(storage, rel, len(values), count, "values")
    return values


def _check_count(storage, rel: str, got: int, expected: int, what: str) -> None:
    if got != expected:
        raise ValueError(f"{storage.describe(rel)}: {got} {what} but the ground truth has {expected} boxes")


def read_optional_text(storage, rel: str) -> str | None:
    """The text of an optional file, None when it does not exist."""
    return storage.read_text(rel) if storage.exists(rel) else None


def read_sentence(storage, rel: str) -> str | None:
    """The sentence of a language file (whitespace collapsed); a missing or empty file gives None."""
    return clean_sentence(read_optional_text(storage, rel))


def check_frame_count(dataset: str, seq: str, boxes: np.ndarray, frames: Sequence[str], gt_desc: str,
                      frames_desc: str) -> None:
    """Listed image folders must hold exactly one image per ground-truth line."""
    if len(boxes) != len(frames):
        raise ValueError(f"{dataset} sequence {seq!r}: {len(boxes)} boxes in {gt_desc} but {len(frames)} images "
                         f"in {frames_desc}")


def read_name_list(names: str | os.PathLike | Iterable[str] | None, what: str = "seq_names") -> list[str] | None:
    """Sequence names given as a list (``what``: the argument, for errors), or as a text file with one name per
    line ('#' starts a comment); each must be a plain folder name."""
    if names is None:
        return None
    if isinstance(names, (str, os.PathLike)):
        path = Path(names)
        if not path.is_file():
            raise FileNotFoundError(f"sequence name list not found: {path}")
        return parse_name_list(path.read_text(encoding="utf-8-sig"), str(path))
    return [check_plain_name(str(n), f"{what}, entry {k}") for k, n in enumerate(names, start=1)]


def restrict_to(available: Sequence[str], wanted: Sequence[str] | None, where: str) -> list[str]:
    """The ``wanted`` names (in their given order), all of which must be ``available``; None keeps them all."""
    if wanted is None:
        return list(available)
    known = set(available)
    missing = [n for n in wanted if n not in known]
    if missing:
        shown = ", ".join(missing[:10]) + (f" ... ({len(missing)} in all)" if len(missing) > 10 else "")
        raise KeyError(f"sequences not found in {where}: {shown}")
    return list(dict.fromkeys(wanted))  # drop duplicates, keep order

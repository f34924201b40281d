"""The test-side sequence record and the small file helpers the benchmark readers share.

The test side reads the file system directly (pathlib); frame paths are computed from the ground-truth length
and the benchmark's naming pattern whenever that pattern is known, so building a dataset needs only its
annotation files (the image folders may be absent). Those paths are :class:`FramePaths`, made when a frame is
read: a benchmark of 690k frames would otherwise build (and send to every worker) 690k strings up front.
"""
from __future__ import annotations

import os
from collections.abc import Sequence as AbstractSequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence as SequenceType

import numpy as np

from lib.utils.annotations import box_validity, clean_sentence, parse_boxes, parse_flags, parse_name_list, parse_rows
from lib.utils.image import IMAGE_EXTENSIONS, natural_key


class FramePaths(AbstractSequence):
    """The paths ``<folder>/<prefix><number, zero-padded to digits><ext>`` for the frame numbers of a ``range``,
    made on access. A read-only sequence of str: ``len``, indexing, slicing (another FramePaths), iteration, and
    equality with a list of the same paths; pickles as its few fields."""

    __slots__ = ("folder", "numbers", "digits", "prefix", "ext")

    def __init__(self, folder: str | os.PathLike, numbers: range, digits: int, prefix: str = "", ext: str = ".jpg"):
        self.folder, self.numbers, self.digits, self.prefix, self.ext = str(Path(folder)), numbers, digits, prefix, ext

    def _path(self, number: int) -> str:
        name = f"{self.prefix}{number:0{self.digits}d}{self.ext}"
        return name if self.folder == "." else os.path.join(self.folder, name)  # as str(Path(folder) / name)

    def __len__(self) -> int:
        return len(self.numbers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return FramePaths(self.folder, self.numbers[index], self.digits, self.prefix, self.ext)
        return self._path(self.numbers[index])

    def __iter__(self):
        return map(self._path, self.numbers)

    def __eq__(self, other) -> bool:
        if isinstance(other, FramePaths):
            return list(self) == list(other)
        if isinstance(other, (list, tuple)):
            return len(other) == len(self) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # equal to a list, which is unhashable

    def __getstate__(self):
        return self.folder, self.numbers, self.digits, self.prefix, self.ext

    def __setstate__(self, state):
        self.folder, self.numbers, self.digits, self.prefix, self.ext = state

    def __repr__(self) -> str:
        pattern = os.path.join(self.folder, f"{self.prefix}{{:0{self.digits}d}}{self.ext}")
        return f"FramePaths({pattern!r}, {self.numbers!r})"


@dataclass
class Sequence:
    """One test sequence.

    ``ground_truth`` is (N, 4) float64 x,y,w,h with NaN rows where the target is absent or the box is invalid;
    ``visible`` is the matching (N,) bool. ``frames`` are image paths (they need not exist on disk): a
    :class:`FramePaths` (computed on access) where the benchmark names its frames by number, else a list of str.

    Two more fields keep what the annotation files said before that cleaning, because the reference toolkits'
    rules (``lib/test/analysis/protocols.py``, ``pytracking``) depend on it: ``raw_ground_truth`` holds the boxes
    as read (8-value polygons converted; NaN only where the file has NaN; None = same as ``ground_truth``), and
    ``absent`` the absence flags read from the dataset's flag files (None when the dataset has none).
    ``ground_truth_file`` names the file the boxes came from (row i = frame i), for error messages.
    """

    name: str
    dataset: str
    frames: SequenceType[str]
    ground_truth: np.ndarray
    visible: np.ndarray
    language: str | None = None
    attributes: dict | None = None
    extra: dict = field(default_factory=dict)
    raw_ground_truth: np.ndarray | None = None
    absent: np.ndarray | None = None
    ground_truth_file: str | None = None

    def __post_init__(self):
        self.ground_truth = np.asarray(self.ground_truth, dtype=np.float64).reshape(-1, 4)
        self.visible = np.asarray(self.visible, dtype=bool).reshape(-1)
        n = len(self.ground_truth)
        if len(self.visible) != n:
            raise ValueError(f"{self.dataset}/{self.name}: {len(self.visible)} visibility flags for {n} boxes")
        if self.raw_ground_truth is not None:
            self.raw_ground_truth = np.asarray(self.raw_ground_truth, dtype=np.float64).reshape(-1, 4)
            if len(self.raw_ground_truth) != n:
                raise ValueError(f"{self.dataset}/{self.name}: {len(self.raw_ground_truth)} raw boxes for {n} boxes")
        if self.absent is not None:
            self.absent = np.asarray(self.absent, dtype=bool).reshape(-1)
            if len(self.absent) != n:
                raise ValueError(f"{self.dataset}/{self.name}: {len(self.absent)} absence flags for {n} boxes")

    @property
    def file_ground_truth(self) -> np.ndarray:
        """The boxes as the annotation files give them (see the class docstring)."""
        return self.ground_truth if self.raw_ground_truth is None else self.raw_ground_truth

    @property
    def init_box(self) -> np.ndarray:
        """The first frame's box (x, y, w, h)."""
        return self.ground_truth[0].copy()

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        return f"Sequence({self.dataset}/{self.name}, {len(self.frames)} frames)"


def make_sequence(name: str, dataset: str, frames: SequenceType[str], boxes: np.ndarray,
                  absent: np.ndarray | None = None, language: str | None = None,
                  attributes: Mapping | None = None, check_frames: bool = True, ground_truth_file: str | None = None,
                  **extra) -> Sequence:
    """Builds a Sequence: absent or invalid boxes become NaN and not visible (the file's boxes are kept too)."""
    raw = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    boxes = raw.copy()
    visible = box_validity(boxes)
    if absent is not None:
        absent = np.asarray(absent, dtype=bool).reshape(-1)
        if len(absent) != len(boxes):
            raise ValueError(f"{dataset} sequence {name!r}: {len(absent)} absence flags but {len(boxes)} boxes")
        visible &= ~absent
    boxes[~visible] = np.nan
    if not isinstance(frames, FramePaths):
        frames = [str(f) for f in frames]
    if check_frames and len(frames) != len(boxes):
        raise ValueError(f"{dataset} sequence {name!r}: {len(boxes)} boxes but {len(frames)} frames")
    return Sequence(name=name, dataset=dataset, frames=frames, ground_truth=boxes, visible=visible,
                    language=language, attributes=dict(attributes) if attributes is not None else None, extra=extra,
                    raw_ground_truth=raw, absent=absent,
                    ground_truth_file=str(ground_truth_file) if ground_truth_file is not None else None)


# -- file helpers ---------------------------------------------------------------------------------------------------

def read_text(path: Path) -> str:
    return Path(path).read_text(encoding="utf-8-sig", errors="replace")


def read_boxes(path: Path) -> np.ndarray:
    """(N, 4) boxes of a ground-truth file (comma, tab or space separated; 8-value polygons -> boxes)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ground-truth file not found: {path}")
    return parse_boxes(read_text(path), str(path))


def read_flags(path: Path, count: int | None = None) -> np.ndarray:
    flags = parse_flags(read_text(path), str(path))
    if count is not None and len(flags) != count:
        raise ValueError(f"{path}: {len(flags)} flags but the ground truth has {count} boxes")
    return flags


def read_optional_flags(path: Path, count: int) -> np.ndarray | None:
    return read_flags(path, count) if Path(path).is_file() else None


def read_numbers(path: Path) -> np.ndarray:
    return parse_rows(read_text(path), str(path)).reshape(-1)


def read_name_list(path: Path) -> list[str]:
    """Sequence names, one per line, of a list file (got10k list.txt, LaSOT testing_set.txt, ...); a name that
    would lead outside the dataset root is an error naming the file, line and entry."""
    return parse_name_list(read_text(path), str(path))


def read_sentence(path: Path) -> str | None:
    """The first non-empty line of a language file; missing or empty -> None."""
    path = Path(path)
    return clean_sentence(read_text(path)) if path.is_file() else None


def named_attributes(path: Path, names: SequenceType[str]) -> dict | None:
    """A file of attribute values (one line, comma-separated) -> {name: int}; missing -> None."""
    path = Path(path)
    if not path.is_file():
        return None
    values = read_numbers(path)
    if len(values) != len(names):
        raise ValueError(f"{path}: {len(values)} attribute values, expected {len(names)}")
    return {n: int(v) for n, v in zip(names, values)}


def numbered_frames(folder: Path, count: int, digits: int, first: int = 1, ext: str = ".jpg",
                    prefix: str = "") -> FramePaths:
    """Frame paths ``folder/<prefix><number padded to digits><ext>`` for ``count`` frames from ``first``."""
    return FramePaths(folder, range(first, first + count), digits, prefix, ext)


def list_images(folder: Path) -> list[str]:
    """Image paths in ``folder`` in natural order (hidden files skipped); missing folder -> []."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    names = [p.name for p in folder.iterdir()
             if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")]
    return [str(folder / n) for n in sorted(names, key=natural_key)]


def list_subfolders(folder: Path) -> list[str]:
    folder = Path(folder)
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_stems(folder: Path, suffix: str) -> list[str]:
    """Names of files in ``folder`` ending with ``suffix``, suffix removed, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"annotation folder not found: {folder}")
    return sorted(p.name[: -len(suffix)] for p in folder.iterdir()
                  if p.is_file() and p.name.endswith(suffix) and len(p.name) > len(suffix)
                  and not p.name.startswith("."))


def frames_or_pattern(folder: Path, count: int, digits: int, ext: str = ".jpg", prefix: str = "",
                      first: int = 1) -> SequenceType[str]:
    """The listed images of ``folder`` when it holds exactly ``count``; otherwise the numbered pattern."""
    listed = list_images(folder)
    if len(listed) == count:
        return listed
    return numbered_frames(folder, count, digits, first=first, ext=ext, prefix=prefix)

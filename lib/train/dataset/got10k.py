"""GOT-10k: ``<root>/<split>/<seq>/{00000001.jpg..., groundtruth.txt, absence.label, cover.label, meta_info.ini}``."""
from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno
from lib.train.dataset.reading import (join, list_subfolders, numbered_frames, parse_name_list, read_boxes,
                                       read_flags, read_name_list, read_numbers, read_optional_text, restrict_to)

CLASS_FIELDS = ("object_class", "motion_class", "major_class", "root_class")


def parse_meta_info(text: str) -> dict[str, str]:
    """``key: value`` lines of meta_info.ini (a plain parser: the files are not always valid INI)."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.lstrip().startswith("["):
            info[key.strip()] = value.strip()
    return info


class Got10k(BaseVideoDataset):
    """``split`` is a sub-folder of the root; ``seq_names`` (list or text file) restricts to named sequences."""

    name = "got10k"

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train",
                 seq_names: str | os.PathLike | Iterable[str] | None = None):
        self.split = split
        self._wanted = read_name_list(seq_names)
        super().__init__(root, dataset_folder="got10k")

    def _list_sequences(self) -> list[str]:
        list_file = join(self.split, "list.txt")
        if self.storage.exists(list_file):
            where = self.storage.describe(list_file)
            available = parse_name_list(self.storage.read_text(list_file), where)
        else:
            available = list_subfolders(self.storage, self.split)
            where = self.storage.describe(self.split)
        return restrict_to(available, self._wanted, where)

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        folder = join(self.split, seq_name)
        boxes = read_boxes(self.storage, join(folder, "groundtruth.txt"))
        absent = self._absence(folder, len(boxes))
        meta_text = read_optional_text(self.storage, join(folder, "meta_info.ini"))
        meta = parse_meta_info(meta_text) if meta_text is not None else {}
        class_words = [meta[k] for k in CLASS_FIELDS if meta.get(k)]
        return SequenceAnno(name=seq_name, bbox=boxes, frames=numbered_frames(folder, len(boxes), digits=8),
                            absent=absent, language=", ".join(class_words) or None,
                            class_name=meta.get("object_class") or None, extra={"meta_info": meta})

    def _absence(self, folder: str, count: int) -> np.ndarray | None:
        """Absent where absence.label says so or cover.label is 0 (fully covered); None if neither file exists."""
        absent = None
        absence_file, cover_file = join(folder, "absence.label"), join(folder, "cover.label")
        if self.storage.exists(absence_file):
            absent = read_flags(self.storage, absence_file, count)
        if self.storage.exists(cover_file):
            covered = read_numbers(self.storage, cover_file, count) == 0
            absent = covered if absent is None else absent | covered
        return absent

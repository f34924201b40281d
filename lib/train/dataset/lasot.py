"""LaSOT: ``<root>/<class>/<class>-<n>/{img/00000001.jpg, groundtruth.txt, full_occlusion.txt, out_of_view.txt,
nlp.txt}``. The LaSOT toolkit's ``absent.txt`` (one flag per line) is used when the two flag files are missing."""
from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno
from lib.train.dataset.reading import (join, list_subfolders, numbered_frames, parse_name_list, read_boxes,
                                       read_flags, read_name_list, read_sentence, restrict_to)

# the protocol lists of the LaSOT toolkit, looked for in the root when split='train' / 'test'
SPLIT_FILES = {"train": "training_set.txt", "test": "testing_set.txt"}


def class_of(seq_name: str) -> str:
    """'airplane-13' -> 'airplane' (class names may themselves hold '-', the number never does)."""
    return seq_name.rsplit("-", 1)[0]


class Lasot(BaseVideoDataset):
    """``split`` and ``seq_names`` each restrict to listed names (a list or a text file of names).

    ``split='train'`` / ``'test'`` read the toolkit's ``training_set.txt`` / ``testing_set.txt`` from the root
    (train = everything not in testing_set.txt when only that file is there).
    """

    name = "lasot"

    def __init__(self, root: str | os.PathLike | None = None,
                 split: str | os.PathLike | Iterable[str] | None = None,
                 seq_names: str | os.PathLike | Iterable[str] | None = None):
        self.split = split
        self._wanted = read_name_list(seq_names)
        super().__init__(root, dataset_folder="lasot")

    def _list_sequences(self) -> list[str]:
        available = [seq for cls in list_subfolders(self.storage) for seq in list_subfolders(self.storage, cls)
                     if class_of(seq) == cls]
        names = restrict_to(available, self._split_names(available), self.storage.describe(""))
        return restrict_to(names, self._wanted, f"{self.storage.describe('')} (split {self.split!r})")

    def _split_names(self, available: list[str]) -> list[str] | None:
        if self.split is None:
            return None
        if not (isinstance(self.split, str) and self.split in SPLIT_FILES):
            return read_name_list(self.split, what="split")
        own = SPLIT_FILES[self.split]
        if self.storage.exists(own):
            return self._names_in(own)
        if self.split == "train" and self.storage.exists(SPLIT_FILES["test"]):
            test = set(self._names_in(SPLIT_FILES["test"]))
            return [n for n in available if n not in test]
        raise FileNotFoundError(
            f"LaSOT split {self.split!r} needs {self.storage.describe(own)}"
            + (f" or {self.storage.describe(SPLIT_FILES['test'])}" if self.split == "train" else "")
            + " (the LaSOT toolkit's protocol list); or pass split=None for all sequences, or a list of names")

    def _names_in(self, rel: str) -> list[str]:
        return parse_name_list(self.storage.read_text(rel), self.storage.describe(rel))

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        cls = class_of(seq_name)
        folder = join(cls, seq_name)
        boxes = read_boxes(self.storage, join(folder, "groundtruth.txt"))
        return SequenceAnno(name=seq_name, bbox=boxes, frames=numbered_frames(join(folder, "img"), len(boxes), 8),
                            absent=self._absence(folder, len(boxes)),
                            language=read_sentence(self.storage, join(folder, "nlp.txt")), class_name=cls)

    def _absence(self, folder: str, count: int) -> np.ndarray | None:
        """full_occlusion | out_of_view (either alone when only one exists), else absent.txt, else None."""
        flags = [read_flags(self.storage, join(folder, f), count)
                 for f in ("full_occlusion.txt", "out_of_view.txt") if self.storage.exists(join(folder, f))]
        if flags:
            return np.logical_or.reduce(flags)
        if self.storage.exists(join(folder, "absent.txt")):
            return read_flags(self.storage, join(folder, "absent.txt"), count)
        return None

"""The WebUAV-3M layout, shared by WebUAV-3M and the project's synthetic SynthUAV benchmark:

``<root>/<split folder>/<seq>/{img/000001.jpg..., groundtruth_rect.txt, absent.txt, attributes.txt, language.txt}``.
Absent frames have the box 0,0,0,0; ``absent.txt`` (one flag per line) is optional.
"""
from __future__ import annotations

import os

import numpy as np

from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno
from lib.train.dataset.reading import (join, list_subfolders, numbered_frames, read_boxes, read_flags, read_numbers,
                                       read_sentence)


class WebUAVLayoutDataset(BaseVideoDataset):
    """Subclasses choose the split folder (``_split_folder``) and the dataset folder name."""

    def _split_folder(self) -> str:
        raise NotImplementedError

    def _list_sequences(self) -> list[str]:
        self.folder = self._split_folder()
        return list_subfolders(self.storage, self.folder)

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        folder = join(self.folder, seq_name)
        boxes = read_boxes(self.storage, join(folder, "groundtruth_rect.txt"))
        if self.storage.exists(join(folder, "absent.txt")):
            absent = read_flags(self.storage, join(folder, "absent.txt"), len(boxes))
        else:
            absent = (boxes == 0).all(axis=1)
        extra = {}
        if self.storage.exists(join(folder, "attributes.txt")):
            extra["attributes"] = read_numbers(self.storage, join(folder, "attributes.txt")).astype(np.int64)
        return SequenceAnno(name=seq_name, bbox=boxes, frames=numbered_frames(join(folder, "img"), len(boxes), 6),
                            absent=absent, language=read_sentence(self.storage, join(folder, "language.txt")),
                            extra=extra)


class WebUAV3M(WebUAVLayoutDataset):
    """``split`` is 'train', 'val' or 'test' in any case (folders Train, Val, Test)."""

    name = "webuav3m"

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train"):
        self.split = split
        super().__init__(root, dataset_folder="WebUAV-3M")

    def _split_folder(self) -> str:
        for name in list_subfolders(self.storage):
            if name.lower() == self.split.lower():
                return name
        raise FileNotFoundError(f"WebUAV-3M split {self.split!r} not found: no folder "
                                f"{self.storage.describe(self.split.capitalize())}")

"""TNL2K: ``<root>[/<split>]/<seq>/{imgs/*.jpg|png, groundtruth.txt, language.txt}``; image names vary, so the
``imgs`` folder is listed (once per sequence, when its annotations are first needed)."""
from __future__ import annotations

import os

from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno
from lib.train.dataset.reading import check_frame_count, join, list_images, list_subfolders, read_boxes, read_sentence


class TNL2k(BaseVideoDataset):
    """``split=None``: the root holds the sequences. Otherwise a sub-folder named ``<split>`` (any case) or
    ``TNL2K_<split>_subset`` (the name of the official archives)."""

    name = "tnl2k"

    def __init__(self, root: str | os.PathLike | None = None, split: str | None = None):
        self.split = split
        super().__init__(root, dataset_folder="tnl2k")

    def _split_folder(self) -> str:
        if self.split is None:
            return ""
        wanted = {self.split.lower(), f"tnl2k_{self.split.lower()}_subset"}
        for name in list_subfolders(self.storage):
            if name.lower() in wanted:
                return name
        raise FileNotFoundError(f"TNL2K split {self.split!r} not found: no folder {self.storage.describe(self.split)} "
                                f"(or TNL2K_{self.split}_subset)")

    def _list_sequences(self) -> list[str]:
        self.folder = self._split_folder()
        return list_subfolders(self.storage, self.folder)

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        folder = join(self.folder, seq_name)
        gt = join(folder, "groundtruth.txt")
        boxes = read_boxes(self.storage, gt)
        frames = list_images(self.storage, join(folder, "imgs"))
        check_frame_count(self.name, seq_name, boxes, frames, self.storage.describe(gt),
                          self.storage.describe(join(folder, "imgs")))
        return SequenceAnno(name=seq_name, bbox=boxes, frames=frames,
                            language=read_sentence(self.storage, join(folder, "language.txt")))

"""The ``data_seq/<seq>/*.jpg + anno/<seq>.txt`` family of nighttime UAV benchmarks: NAT2021, DarkTrack2021,
UAVDark135. Image names vary, so each sequence folder is listed (sorted) when its annotations are first needed;
annotation separators may be spaces, commas or tabs. These benchmarks have no sentences."""
from __future__ import annotations

import os

from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno
from lib.train.dataset.reading import check_frame_count, join, list_files_with_suffix, list_images, read_boxes
from lib.utils.holdout import holdout_part


class DataSeqDataset(BaseVideoDataset):
    """Sequences are the ``anno/*.txt`` files under ``self.base`` (a folder relative to the root, '' = the root)."""

    base = ""

    def _list_sequences(self) -> list[str]:
        anno = join(self.base, "anno")
        if not self.storage.isdir(anno):
            raise FileNotFoundError(f"{self.name}: annotation folder {self.storage.describe(anno)} not found")
        return sorted(list_files_with_suffix(self.storage, anno, ".txt"))

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        gt, image_folder = join(self.base, "anno", f"{seq_name}.txt"), join(self.base, "data_seq", seq_name)
        boxes = read_boxes(self.storage, gt)
        frames = list_images(self.storage, image_folder)
        check_frame_count(self.name, seq_name, boxes, frames, self.storage.describe(gt),
                          self.storage.describe(image_folder))
        return SequenceAnno(name=seq_name, bbox=boxes, frames=frames)


class NAT2021(DataSeqDataset):
    """``<root>/<split>/{data_seq,anno}``, or the root itself when it holds ``data_seq`` directly."""

    name = "nat2021"

    def __init__(self, root: str | os.PathLike | None = None, split: str = "test"):
        self.split = split
        super().__init__(root, dataset_folder="NAT2021")

    def _list_sequences(self) -> list[str]:
        self.base = "" if self.storage.isdir("data_seq") else self.split
        return super()._list_sequences()


class DarkTrack2021(DataSeqDataset):
    """``part``: 'all' sequences, or the 'train' / 'val' side of the fixed hold-out (``lib.utils.holdout``)."""

    name = "darktrack2021"

    def __init__(self, root: str | os.PathLike | None = None, part: str = "all"):
        self.part = part
        super().__init__(root, dataset_folder="DarkTrack2021")

    def _list_sequences(self) -> list[str]:
        return holdout_part(super()._list_sequences(), self.part)


class UAVDark135(DataSeqDataset):
    name = "uavdark135"

    def __init__(self, root: str | os.PathLike | None = None):
        super().__init__(root, dataset_folder="UAVDark135")

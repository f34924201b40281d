"""OTB99-LANG: OTB-100 videos with sentences.

Images ``<root>/<seq>/img/*.jpg`` (or ``<root>/OTB_videos/<seq>/img``, the archive's layout; names vary, Board
uses 5 digits), boxes ``<root>/<seq>/groundtruth_rect.txt`` (comma, tab or space), sentences
``<root>/OTB_query_{train,test}/<seq>.txt``. A split holds the sequences with a sentence file in its folder.
Two-target videos (``Jogging-1``/``Jogging-2``) read ``<video>/groundtruth_rect.<k>.txt``.
"""
from __future__ import annotations

import logging
import os
import re

from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno
from lib.train.dataset.reading import (check_frame_count, join, list_files_with_suffix, list_images, read_boxes,
                                       read_sentence)

log = logging.getLogger(__name__)

# OTB ground truth of these videos starts at a later image (1-based image number of the first GT line)
FIRST_ANNOTATED_IMAGE = {"David": 300, "BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18}
_TARGET_SUFFIX = re.compile(r"^(.+)-(\d)$")


class OTB99Lang(BaseVideoDataset):
    name = "otb99_lang"

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train"):
        self.split = split
        super().__init__(root, dataset_folder="otb99_lang")

    def _list_sequences(self) -> list[str]:
        self.query_folder = f"OTB_query_{self.split}"
        if not self.storage.isdir(self.query_folder):
            raise FileNotFoundError(f"OTB99-LANG split {self.split!r}: sentence folder "
                                    f"{self.storage.describe(self.query_folder)} not found")
        self.video_root = "OTB_videos" if self.storage.isdir("OTB_videos") else ""
        return sorted(list_files_with_suffix(self.storage, self.query_folder, ".txt"))

    def _video_and_gt(self, seq_name: str) -> tuple[str, str]:
        """Folder of the video and its ground-truth file (``Jogging-2`` -> Jogging, groundtruth_rect.2.txt)."""
        folder = join(self.video_root, seq_name)
        if self.storage.isdir(folder):
            gt = join(folder, "groundtruth_rect.txt")
            if not self.storage.exists(gt):  # e.g. Human4 ships only groundtruth_rect.2.txt
                numbered = [n for n in self.storage.listdir(folder) if re.fullmatch(r"groundtruth_rect\.\d\.txt", n)]
                if len(numbered) == 1:
                    gt = join(folder, numbered[0])
            return folder, gt
        match = _TARGET_SUFFIX.match(seq_name)
        if match and self.storage.isdir(join(self.video_root, match.group(1))):
            folder = join(self.video_root, match.group(1))
            return folder, join(folder, f"groundtruth_rect.{match.group(2)}.txt")
        raise FileNotFoundError(f"OTB99-LANG sequence {seq_name!r}: video folder {self.storage.describe(folder)} "
                                f"not found")

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        folder, gt = self._video_and_gt(seq_name)
        boxes = read_boxes(self.storage, gt)
        images = list_images(self.storage, join(folder, "img"))
        video = folder.rsplit("/", 1)[-1]
        if len(images) > len(boxes):
            # the GT covers a sub-range of the video: it starts at a known image, else at the first one
            first = FIRST_ANNOTATED_IMAGE.get(video, 1) - 1
            if first == 0:
                log.warning("OTB99-LANG %s: %d images but %d boxes; using the first %d images", seq_name,
                            len(images), len(boxes), len(boxes))
            images = images[first:first + len(boxes)]
        check_frame_count(self.name, seq_name, boxes, images, self.storage.describe(gt),
                          self.storage.describe(join(folder, "img")))
        return SequenceAnno(name=seq_name, bbox=boxes, frames=images,
                            language=read_sentence(self.storage, join(self.query_folder, f"{seq_name}.txt")))

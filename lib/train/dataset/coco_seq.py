"""MS-COCO as one-frame "sequences", one per non-crowd object annotation with a positive size.

Layout: ``<root>/images/<split><version>/*.jpg`` (or ``<root>/<split><version>/``) and
``<root>/annotations/instances_<split><version>.json``, read with the standard json module.
"""
from __future__ import annotations

import json
import os

import numpy as np

from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno
from lib.paths import check_plain_name
from lib.train.dataset.reading import join


class MSCOCOSeq(BaseVideoDataset):
    """Sequence names are the annotation ids (as strings); the sentence is 'category, supercategory'."""

    name = "coco"

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train", version: str = "2017"):
        self.split, self.version = split, str(version)
        super().__init__(root, dataset_folder="coco")

    def is_video_sequence(self) -> bool:
        return False

    def _list_sequences(self) -> list[str]:
        tag = f"{self.split}{self.version}"
        self.image_folder = self._image_folder(tag)
        ann_file = join("annotations", f"instances_{tag}.json")
        try:
            data = json.loads(self.storage.read_text(ann_file))
        except json.JSONDecodeError as err:
            raise ValueError(f"{self.storage.describe(ann_file)}: not valid JSON ({err})") from None
        self._categories = {c["id"]: c for c in data.get("categories", [])}
        where = self.storage.describe(ann_file)
        self._image_files = {img["id"]: check_plain_name(img["file_name"], f"{where}, image id {img['id']}", "file_name")
                             for img in data.get("images", [])}
        # keep only what a sample needs, not the segmentation polygons
        self._objects = {}
        for ann in data.get("annotations", []):
            w, h = ann["bbox"][2], ann["bbox"][3]
            if not ann.get("iscrowd", 0) and w > 0 and h > 0:
                self._objects[str(ann["id"])] = (ann["image_id"], ann["category_id"], tuple(ann["bbox"]))
        return list(self._objects)

    def _image_folder(self, tag: str) -> str:
        for folder in (join("images", tag), tag):
            if self.storage.isdir(folder):
                return folder
        raise FileNotFoundError(f"COCO images not found: neither {self.storage.describe(join('images', tag))} "
                                f"nor {self.storage.describe(tag)} exists")

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        image_id, category_id, box = self._objects[seq_name]
        category = self._categories.get(category_id, {})
        words = [w for w in (category.get("name"), category.get("supercategory")) if w]
        return SequenceAnno(name=seq_name, bbox=np.asarray([box], dtype=np.float64),
                            frames=[join(self.image_folder, self._image_files[image_id])],
                            language=", ".join(words) or None, class_name=category.get("name"))

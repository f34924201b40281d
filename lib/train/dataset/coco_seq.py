"""MS-COCO as one-frame "sequences", one per non-crowd object annotation with a positive size.

Layout: ``<root>/images/<split><version>/*.jpg`` (or ``<root>/<split><version>/``) and
``<root>/annotations/instances_<split><version>.json``, read with the standard json module (lib/train/dataset/
coco_format.py, shared with RefCOCOg).
"""
from __future__ import annotations

import os

import numpy as np

from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno
from lib.train.dataset.coco_format import CocoInstances, CocoObject, find_first
from lib.train.dataset.reading import join


def _trainable(ann_id: int, obj: CocoObject) -> bool:
    """Crowd regions (many objects in one box) and zero-size boxes are no single target to track."""
    return not obj.iscrowd and obj.bbox[2] > 0 and obj.bbox[3] > 0


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
        self.image_folder = find_first(self.storage, (join("images", tag), tag), "COCO images")
        self._instances = CocoInstances(self.storage, join("annotations", f"instances_{tag}.json"), keep=_trainable)
        self._objects = {str(ann_id): obj for ann_id, obj in self._instances.objects.items()}
        return list(self._objects)

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        obj = self._objects[seq_name]
        category = self._instances.categories.get(obj.category_id, {})
        words = [w for w in (category.get("name"), category.get("supercategory")) if w]
        return SequenceAnno(name=seq_name, bbox=np.asarray([obj.bbox], dtype=np.float64),
                            frames=[self._instances.image_path(self.image_folder, obj.image_id)],
                            language=", ".join(words) or None, class_name=category.get("name"))

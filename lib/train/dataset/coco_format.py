"""COCO's instances file and image folder, shared by the readers of COCO-format data (``MSCOCOSeq``, ``RefCOCOg``).

An instances file (``images``, ``annotations``, ``categories``) is read with the standard json module into what a
sample needs: image file names (plain names, checked: they must stay inside the image folder), object boxes and
categories; segmentation polygons are dropped. Everything goes through a storage (folder or LMDB pack).
"""
from __future__ import annotations

import json
from typing import Callable, NamedTuple, Sequence

from lib.paths import check_plain_name
from lib.train.dataset.reading import join


class CocoObject(NamedTuple):
    """One entry of ``annotations``: its box is x, y, w, h in pixels."""
    image_id: int
    category_id: int
    bbox: tuple[float, float, float, float]
    iscrowd: bool


def find_first(storage, candidates: Sequence[str], what: str) -> str:
    """The first of ``candidates`` (paths relative to the root) that exists; else an error naming all of them."""
    for rel in candidates:
        if storage.exists(rel):
            return rel
    tried = ", ".join(storage.describe(rel) for rel in candidates)
    raise FileNotFoundError(f"{what} not found: none of {tried} exists")


class CocoInstances:
    """``categories`` {id: {'name', 'supercategory', ...}}, ``image_files`` {image id: file name} and ``objects``
    {annotation id: CocoObject} of an instances file, keeping the objects ``keep(annotation id, object)`` accepts."""

    def __init__(self, storage, rel: str, keep: Callable[[int, CocoObject], bool] = lambda ann_id, obj: True):
        self.where = storage.describe(rel)
        try:
            data = json.loads(storage.read_text(rel))
        except json.JSONDecodeError as err:
            raise ValueError(f"{self.where}: not valid JSON ({err})") from None
        try:
            self.categories = {c["id"]: c for c in data.get("categories", [])}
            self.image_files = {img["id"]: check_plain_name(img["file_name"], f"{self.where}, image id {img['id']}",
                                                            "file_name")
                                for img in data.get("images", [])}
            annotations = data.get("annotations", [])
        except (KeyError, TypeError, AttributeError) as err:  # a missing key or a value of the wrong kind
            raise ValueError(f"{self.where}: not a COCO instances file ({type(err).__name__}: {err})") from None
        self.objects = {}
        for k, ann in enumerate(annotations):
            ann_id, obj = self._object(ann, k)
            if keep(ann_id, obj):
                self.objects[ann_id] = obj

    def _object(self, ann: dict, k: int) -> tuple[int, CocoObject]:
        """(annotation id, object) of the k-th entry of ``annotations``."""
        try:
            ann_id = ann["id"]
            obj = CocoObject(ann["image_id"], ann["category_id"], tuple(float(v) for v in ann["bbox"]),
                             bool(ann.get("iscrowd", 0)))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{self.where}: annotation #{k} is not a COCO annotation with id, image_id, "
                             f"category_id and bbox ({type(err).__name__}: {err})") from None
        if len(obj.bbox) != 4:
            raise ValueError(f"{self.where}: annotation id {ann_id}: bbox {ann['bbox']} is not x, y, w, h")
        return ann_id, obj

    def image_path(self, image_folder: str, image_id: int) -> str:
        """The image's path relative to the dataset root."""
        if image_id not in self.image_files:
            raise ValueError(f"{self.where}: no image with id {image_id} in 'images'")
        return join(image_folder, self.image_files[image_id])

    def class_name(self, category_id: int) -> str | None:
        return self.categories.get(category_id, {}).get("name")

"""RefCOCOg (Google split; Mao et al., CVPR 2016), the image-language training set, as one-frame "sequences".

One sequence per referring expression: a (referred object, sentence) pair, named ``<ref_id>_<sent_id>``. An object
with three sentences is three sequences, so every sentence is trained on and the sampler's draw of a sequence index
decides the sentence too: no sentence is chosen at random here (the sampler stays index-deterministic).

Layout of the refer toolkit (github.com/lichengunc/refer), relative to the dataset root:

- ``refcocog/refs(google).p``: a pickle of a list of refs {ref_id, ann_id, image_id, split, category_id, sent_ids,
  sentences [{tokens, raw, sent_id, sent}], file_name}, read with a restricted unpickler (plain data only: a file
  that names any class or function is refused, nothing in it runs); the sentence is ``sent`` (the toolkit's
  lower-cased form of ``raw``). A ref's ``file_name`` (image id and annotation id joined) names no file and is not
  used, as in the toolkit;
- ``refcocog/instances.json``: COCO-format images, annotations (the box of each ``ann_id``, x, y, w, h) and
  categories;
- the COCO 2014 train images, ``COCO_train2014_<12-digit image id>.jpg``, in the first of
  ``images/mscoco/images/train2014/`` (the toolkit's), ``images/train2014/``, ``train2014/`` (a link to a COCO
  download will do).

So the toolkit's ``data/`` folder is a root as it is. The root may also be the ``refcocog/`` folder itself (the
extracted refcocog.zip), with the images beside its two files.
"""
from __future__ import annotations

import os

import numpy as np

from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno
from lib.train.dataset.coco_format import CocoInstances, CocoObject, find_first
from lib.train.dataset.reading import join
from lib.utils.annotations import clean_sentence
from lib.utils.plain_pickle import load_plain_pickle

REFS_FILE = "refs(google).p"
INSTANCES_FILE = "instances.json"
ANNOTATION_FOLDERS = ("refcocog", "")
IMAGE_FOLDERS = ("images/mscoco/images/train2014", "images/train2014", "train2014")

REF_FIELDS = {"ref_id": int, "ann_id": int, "image_id": int, "category_id": int, "split": str, "sentences": list}
SENTENCE_FIELDS = {"sent_id": int, "sent": str}


def _check_fields(entry, fields: dict, where: str) -> None:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: a {type(entry).__name__}, not a dict")
    for key, kind in fields.items():
        if not isinstance(entry.get(key), kind):
            raise ValueError(f"{where}: {key!r} missing or not a {kind.__name__} (it is {entry.get(key)!r})")


def read_refs(storage, rel: str) -> list[dict]:
    """The refs of a refer-toolkit pickle, each checked to have the fields a sample needs."""
    where = storage.describe(rel)
    refs = load_plain_pickle(storage.read_bytes(rel), where)
    if not isinstance(refs, list):
        raise ValueError(f"{where}: holds a {type(refs).__name__}, not the list of refs of the refer toolkit")
    for k, ref in enumerate(refs):
        _check_fields(ref, REF_FIELDS, f"{where}, ref #{k}")
        for j, sentence in enumerate(ref["sentences"]):
            _check_fields(sentence, SENTENCE_FIELDS, f"{where}, ref_id {ref['ref_id']}, sentence #{j}")
    return refs


class RefCOCOg(BaseVideoDataset):
    """``split``: 'train' or 'val' (the Google split has no released test refs); the meta's language is the
    referring sentence, its class name the COCO category."""

    name = "refcocog"

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train"):
        self.split = split
        super().__init__(root, dataset_folder="refcocog")

    def is_video_sequence(self) -> bool:
        return False

    def _list_sequences(self) -> list[str]:
        refs_file = find_first(self.storage, [join(f, REFS_FILE) for f in ANNOTATION_FOLDERS], "RefCOCOg refs")
        self.image_folder = find_first(self.storage, IMAGE_FOLDERS, "COCO train2014 images")
        refs_where = self.storage.describe(refs_file)
        all_refs = read_refs(self.storage, refs_file)
        refs = [ref for ref in all_refs if ref["split"] == self.split]
        if not refs:
            found = sorted({ref["split"] for ref in all_refs})
            raise ValueError(f"{refs_where}: no refs of split {self.split!r}; its splits: {', '.join(found) or 'none'}")
        wanted = {ref["ann_id"] for ref in refs}
        instances_file = join(refs_file.rpartition("/")[0], INSTANCES_FILE)
        self._instances = CocoInstances(self.storage, instances_file, keep=lambda ann_id, obj: ann_id in wanted)
        self._expressions: dict[str, tuple[CocoObject, str, str]] = {}  # name -> (object, image path, sentence)
        for ref in refs:
            obj = self._referred_object(ref, refs_where)
            if obj.bbox[2] <= 0 or obj.bbox[3] <= 0:  # no target to find (as MSCOCOSeq drops them)
                continue
            image = self._instances.image_path(self.image_folder, obj.image_id)
            for sentence in ref["sentences"]:
                text = clean_sentence(sentence["sent"])
                if text:
                    self._expressions[f"{ref['ref_id']}_{sentence['sent_id']}"] = (obj, image, text)
        return list(self._expressions)

    def _referred_object(self, ref: dict, refs_where: str) -> CocoObject:
        obj = self._instances.objects.get(ref["ann_id"])
        if obj is None:
            raise ValueError(f"{refs_where}, ref_id {ref['ref_id']}: its ann_id {ref['ann_id']} is not in "
                             f"{self._instances.where}")
        if obj.image_id != ref["image_id"]:
            raise ValueError(f"{refs_where}, ref_id {ref['ref_id']}: image_id {ref['image_id']}, but its ann_id "
                             f"{ref['ann_id']} is on image {obj.image_id} in {self._instances.where}")
        return obj

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        obj, image, sentence = self._expressions[seq_name]
        return SequenceAnno(name=seq_name, bbox=np.asarray([obj.bbox], dtype=np.float64), frames=[image],
                            language=sentence, class_name=self._instances.class_name(obj.category_id))

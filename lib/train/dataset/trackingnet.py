"""TrackingNet: ``<root>/TRAIN_<k>/{frames/<video>/0.jpg, 1.jpg, ... (0-based, unpadded), anno/<video>.txt}``.

Sequence names are ``TRAIN_<k>/<video>``. TrackingNet has no sentences; an optional class map (lines
``<video>\\t<class>`` or ``<video>,<class>``) supplies the class name, used as the sentence.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Mapping

from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno
from lib.train.dataset.reading import join, list_files_with_suffix, list_subfolders, numbered_frames, read_boxes

_SET_NAME = re.compile(r"^TRAIN_(\d+)$")


def parse_class_map(text: str, name: str) -> dict[str, str]:
    """``<video>\\t<class>`` or ``<video>,<class>`` per line -> {video: class}."""
    classes = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        video, sep, cls = line.partition("\t") if "\t" in line else line.partition(",")
        if not sep or not video.strip() or not cls.strip():
            raise ValueError(f"{name}, line {line_no}: expected '<video><tab or comma><class>': {line!r}")
        classes[video.strip()] = cls.strip()
    return classes


class TrackingNet(BaseVideoDataset):
    """``sets``: chunk numbers or names (``[0, 'TRAIN_3']``); None = every ``TRAIN_*`` folder in the root."""

    name = "trackingnet"

    def __init__(self, root: str | os.PathLike | None = None, sets: Iterable[int | str] | None = None,
                 class_map: str | os.PathLike | Mapping[str, str] | None = None):
        self.sets = None if sets is None else [s if isinstance(s, str) else f"TRAIN_{s}" for s in sets]
        if class_map is None or isinstance(class_map, Mapping):
            self.class_map = dict(class_map or {})
        else:
            path = Path(class_map)
            if not path.is_file():
                raise FileNotFoundError(f"TrackingNet class map not found: {path}")
            self.class_map = parse_class_map(path.read_text(encoding="utf-8-sig"), str(path))
        super().__init__(root, dataset_folder="trackingnet")

    def _list_sequences(self) -> list[str]:
        if self.sets is None:
            found = [n for n in list_subfolders(self.storage) if _SET_NAME.match(n)]
            sets = sorted(found, key=lambda n: int(_SET_NAME.match(n).group(1)))
        else:
            sets = self.sets
            for s in sets:
                if not self.storage.isdir(join(s, "anno")):
                    raise FileNotFoundError(f"TrackingNet set {s!r} not found: no folder "
                                            f"{self.storage.describe(join(s, 'anno'))}")
        return [f"{s}/{video}" for s in sets
                for video in sorted(list_files_with_suffix(self.storage, join(s, "anno"), ".txt"))]

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        set_name, video = seq_name.split("/", 1)
        boxes = read_boxes(self.storage, join(set_name, "anno", f"{video}.txt"))
        cls = self.class_map.get(video)
        return SequenceAnno(name=seq_name, bbox=boxes,
                            frames=numbered_frames(join(set_name, "frames", video), len(boxes), digits=0, first=0),
                            language=cls, class_name=cls)

"""The interface every training-side dataset reader implements (pytracking's video-dataset interface).

A reader says which sequences exist (``_list_sequences``) and how to read one sequence's annotations
(``_load_sequence``); this base class caches each sequence's annotations once (no per-sample re-reads), derives
validity and visibility, and serves frames through the storage backend (folder or LMDB).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from lib.paths import resolve_root
from lib.train.dataset.storage import open_storage
from lib.utils.annotations import box_validity


@dataclass
class SequenceAnno:
    """Everything the sampler needs to know about one sequence; frame paths are relative to the dataset root."""
    name: str
    bbox: np.ndarray                     # (N, 4) float x, y, w, h in pixels; NaN where unknown
    frames: Sequence[str]                # N relative image paths
    absent: np.ndarray | None = None     # (N,) bool, True where the target is absent (full occlusion, out of view)
    language: str | None = None          # the sentence about the target (or class words), None when there is none
    class_name: str | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.bbox = np.asarray(self.bbox, dtype=np.float64).reshape(-1, 4)
        if len(self.frames) != len(self.bbox):
            raise ValueError(f"sequence {self.name}: {len(self.bbox)} boxes but {len(self.frames)} frames")
        if self.absent is not None and len(self.absent) != len(self.bbox):
            raise ValueError(f"sequence {self.name}: {len(self.bbox)} boxes but {len(self.absent)} absence flags")


class BaseVideoDataset:
    """Subclasses set ``name`` and implement ``_list_sequences`` and ``_load_sequence``."""

    name = "base"

    def __init__(self, root: str | os.PathLike | None = None, dataset_folder: str | None = None):
        self.root = resolve_root(dataset_folder or self.name, root)
        self.storage = open_storage(self.root)
        self.sequence_list: list[str] = self._list_sequences()
        if not self.sequence_list:
            raise ValueError(f"{self.name}: no sequences found under {self.root}")
        self._cache: dict[int, SequenceAnno] = {}

    # --- to implement ---------------------------------------------------------------------------------------
    def _list_sequences(self) -> list[str]:
        raise NotImplementedError

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        raise NotImplementedError

    # --- interface --------------------------------------------------------------------------------------------
    def get_name(self) -> str:
        return self.name

    def is_video_sequence(self) -> bool:
        return True

    def get_num_sequences(self) -> int:
        return len(self.sequence_list)

    def __len__(self) -> int:
        return self.get_num_sequences()

    def get_sequence_name(self, seq_id: int) -> str:
        return self.sequence_list[seq_id]

    def sequence(self, seq_id: int) -> SequenceAnno:
        """The cached annotations of one sequence."""
        if seq_id not in self._cache:
            self._cache[seq_id] = self._load_sequence(self.sequence_list[seq_id])
        return self._cache[seq_id]

    def get_sequence_info(self, seq_id: int) -> dict:
        seq = self.sequence(seq_id)
        valid = box_validity(seq.bbox)
        visible = valid if seq.absent is None else valid & ~seq.absent
        return {"bbox": torch.as_tensor(seq.bbox, dtype=torch.float32),
                "valid": torch.as_tensor(valid), "visible": torch.as_tensor(visible)}

    def get_frames(self, seq_id: int, frame_ids: Sequence[int], anno: dict | None = None):
        """Frames (RGB uint8 arrays), per-frame annotations {key: [value per frame]} and the sequence's meta."""
        seq = self.sequence(seq_id)
        for f in frame_ids:
            if not 0 <= f < len(seq.frames):
                raise IndexError(f"{self.name}/{seq.name}: frame {f} out of range (0..{len(seq.frames) - 1})")
        frames = [self.storage.read_image(seq.frames[f]) for f in frame_ids]
        anno = self.get_sequence_info(seq_id) if anno is None else anno
        anno_frames = {key: [value[f].clone() for f in frame_ids] for key, value in anno.items()}
        meta = {"language": seq.language, "object_class_name": seq.class_name,
                "sequence_name": seq.name, "dataset": self.name}
        return frames, anno_frames, meta

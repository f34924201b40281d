"""Night frames with their enhanced twins, enhanced once and cached on disk (MLKD's teacher on CPU).

MLKD's teacher looks through DarkLighter. Enhancing both crops of every training pair costs about 5 GMAC per pair at
the paper's crop sizes, most of a CPU training step; a dataset's frames are fewer than the pairs drawn from them in
one run, and far fewer than in the dozen runs of an evidence table. So ``EnhancedTwin`` wraps a dataset reader:
the first time, every frame is enhanced and written as a JPEG (quality 95) under
``<data root>/enhanced_frames/<weights stem>-<weights digest>/<dataset>/<sequence>-<annotation digest>/`` (beside
the datasets it is made from, so every output root and seed shares it);
afterwards ``get_frames`` returns the raw frames plus ``meta['teacher_frames']``, the same frames enhanced, and the
processing cuts the teacher's crops from them with the students' crop geometry.

Frames are written atomically, so an interrupted build resumes where it stopped; a sequence whose annotations
change (a regenerated split) gets a new folder; a lock file lets one process build while DDP's other ranks wait.
The teacher then sees crops of the enhanced frame instead of the enhanced crop: DarkLighter's receptive field is 13
pixels, so the two differ only by resampling and at padded borders (README, MLKD, measures it).
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from tqdm import tqdm

from lib.paths import data_root
from lib.utils.image import imread_rgb
from lib.utils.io import atomic_write, content_digest, file_digest, safe_filename

JPEG_QUALITY = 95


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cache_root(weights: str | os.PathLike) -> Path:
    """The cache folder of one enhancer: its weights' stem and digest (other weights, other frames)."""
    from lib.models.backbones.pretrained import resolve_pretrained_path
    file = resolve_pretrained_path(weights)
    return data_root() / "enhanced_frames" / f"{safe_filename(file.stem)}-{file_digest(file)[:8]}"


class EnhancedTwin:
    """``dataset`` (a video dataset reader) whose ``get_frames`` also returns the enhanced frames; builds the cache
    of missing frames on construction. ``dataset_key`` names it in the cache (its registry name: SynthUAV's splits
    share a reader name). ``as_frames``: the enhanced frames are the frames (``DATA.ENHANCER``: a tracker trained
    on enhanced night data)."""

    def __init__(self, dataset, weights: str | os.PathLike, dataset_key: str, progress: bool = True,
                 as_frames: bool = False):
        self.dataset = dataset
        self.as_frames = as_frames  # the enhanced frames in place of the raw ones (training on enhanced data)
        self.weights = weights
        self.folder = cache_root(weights) / safe_filename(dataset_key)
        with _locked(self.folder.with_name(self.folder.name + ".lock")):
            self._build(progress)

    def __getattr__(self, name: str):  # everything but get_frames is the wrapped reader's
        if name == "dataset" or name.startswith("__"):  # not set yet (unpickling in a DataLoader worker)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __len__(self) -> int:
        return len(self.dataset)

    def sequence_folder(self, seq_id: int) -> Path:
        """Named after the sequence and a digest of its boxes, so regenerated data never meets stale frames."""
        info = self.dataset.get_sequence_info(seq_id)
        digest = content_digest(np.ascontiguousarray(info["bbox"].numpy()).tobytes())[:8]
        return self.folder / f"{safe_filename(self.dataset.get_sequence_name(seq_id))}-{digest}"

    def frame_path(self, seq_id: int, frame_id: int) -> Path:
        return self.sequence_folder(seq_id) / f"{frame_id:06d}.jpg"

    def _missing(self) -> list[tuple[int, int]]:
        missing = []
        for seq_id in range(self.dataset.get_num_sequences()):
            folder = self.sequence_folder(seq_id)
            done = set(os.listdir(folder)) if folder.is_dir() else set()
            count = len(self.dataset.get_sequence_info(seq_id)["bbox"])
            missing += [(seq_id, f) for f in range(count) if f"{f:06d}.jpg" not in done]
        return missing

    def _build(self, progress: bool) -> None:
        missing = self._missing()
        if not missing:
            return
        from lib.models.enhancer import FrozenEnhancer
        enhancer = FrozenEnhancer.from_file(self.weights)
        bar = tqdm(missing, desc=f"enhancing {self.folder.name} once ({self.folder.parent.name})", unit="frame",
                   disable=not progress)
        for seq_id, frame_id in bar:
            (frame,), _, _ = self.dataset.get_frames(seq_id, [frame_id])
            enhanced = enhancer.enhance_image(frame)
            ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(enhanced, cv2.COLOR_RGB2BGR),
                                    [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                raise RuntimeError(f"could not encode the enhanced frame {self.frame_path(seq_id, frame_id)}")
            path = self.frame_path(seq_id, frame_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, jpeg.tobytes(), fsync=False)

    def get_frames(self, seq_id: int, frame_ids: Sequence[int], anno: dict | None = None):
        frames, anno_frames, meta = self.dataset.get_frames(seq_id, frame_ids, anno)
        twins = []
        for frame_id, frame in zip(frame_ids, frames):
            path = self.frame_path(seq_id, frame_id)
            if not path.is_file():
                raise FileNotFoundError(f"enhanced frame missing: {path} (the cache of {self.folder} is incomplete; "
                                        f"building the dataset with MLKD.TEACHER.FRAME_CACHE on completes it)")
            twin = imread_rgb(path)
            if twin.shape != frame.shape:
                raise ValueError(f"enhanced frame {path} is {twin.shape[1]}x{twin.shape[0]} but the frame is "
                                 f"{frame.shape[1]}x{frame.shape[0]}: a stale cache; delete {self.folder}")
            twins.append(twin)
        if self.as_frames:
            return twins, anno_frames, meta
        return frames, anno_frames, dict(meta, teacher_frames=twins)

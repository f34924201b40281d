"""Draw training pairs (template frames + search frames of one sequence) from a mix of datasets.

``sampler[index]`` depends only on (seed, index): its generator is ``default_rng(SeedSequence([seed, index]))``.
The loader's index sampler folds epoch and rank into the index, so an epoch gives the same pairs however many
DataLoader workers there are, and different epochs/ranks give different pairs.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

import numpy as np
import torch

MIN_VIDEO_FRAMES = 20            # shorter videos are skipped (too little motion between template and search)
VISIBLE_FRAMES_PER_SAMPLED = 2   # a video needs more than this * (template + search frames) visible frames
GAP_INCREASE_PER_TRY = 5         # after each failed try the search window grows by this many frames
FRAME_SAMPLE_MODES = ("causal",)

Processing = Callable[[dict, np.random.Generator], "dict | None"]


class _Rejected(Exception):
    """One failed draw (internal): the reason ends up in the error if every try fails."""


class TrackingSampler(torch.utils.data.Dataset):
    def __init__(self, datasets: Sequence, p_datasets: Sequence[float] | None = None, *, samples_per_epoch: int,
                 max_gap: int = 200, num_template_frames: int = 1, num_search_frames: int = 1,
                 processing: Processing | None = None, seed: int = 0, max_retries: int = 100,
                 frame_sample_mode: str = "causal"):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("TrackingSampler needs at least one dataset")
        p = np.ones(len(self.datasets)) if p_datasets is None else np.asarray(p_datasets, dtype=np.float64)
        names = [d.get_name() for d in self.datasets]
        if p.shape != (len(self.datasets),) or (p < 0).any() or not p.sum() > 0:
            raise ValueError(f"p_datasets {p_datasets} must be one non-negative ratio per dataset {names} "
                             f"with a positive sum")
        self.p_datasets = p / p.sum()
        if frame_sample_mode not in FRAME_SAMPLE_MODES:
            raise ValueError(f"frame_sample_mode {frame_sample_mode!r} not supported; use one of {FRAME_SAMPLE_MODES}")
        for name, value in (("samples_per_epoch", samples_per_epoch), ("max_retries", max_retries),
                            ("num_template_frames", num_template_frames), ("num_search_frames", num_search_frames),
                            ("max_gap", max_gap)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        self.samples_per_epoch = int(samples_per_epoch)
        self.max_gap = int(max_gap)
        self.num_template_frames = int(num_template_frames)
        self.num_search_frames = int(num_search_frames)
        self.processing = processing
        self.seed = int(seed)
        self.max_retries = int(max_retries)
        self.frame_sample_mode = frame_sample_mode
        # per-process counters (with DataLoader workers each worker has its own copy)
        self.draws: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()

    def __len__(self) -> int:
        return self.samples_per_epoch

    def stats(self) -> dict[str, dict[str, int]]:
        return {d.get_name(): {"draws": self.draws[d.get_name()], "rejections": self.rejections[d.get_name()]}
                for d in self.datasets}

    def rng_for(self, index: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, int(index)]))

    def __getitem__(self, index: int) -> dict:
        if int(index) < 0:
            raise IndexError(f"sample index must be >= 0, got {index}")
        rng = self.rng_for(index)
        dataset = self.datasets[rng.choice(len(self.datasets), p=self.p_datasets)]
        name = dataset.get_name()
        last_sequence, last_reason = None, None
        for failures in range(self.max_retries):
            self.draws[name] += 1
            seq_id = int(rng.integers(dataset.get_num_sequences()))
            last_sequence = _sequence_name(dataset, seq_id)
            try:
                return self._draw(dataset, seq_id, failures, rng)
            except _Rejected as rejection:
                self.rejections[name] += 1
                last_reason = str(rejection)
        raise RuntimeError(f"dataset {name}: no usable training pair in {self.max_retries} tries for sample {index} "
                           f"(last sequence tried: {last_sequence}: {last_reason})")

    def _draw(self, dataset, seq_id: int, failures: int, rng: np.random.Generator) -> dict:
        info = dataset.get_sequence_info(seq_id)
        visible = np.asarray(info["visible"], dtype=bool)
        if dataset.is_video_sequence():
            template_ids, search_ids = self._causal_frames(visible, self.max_gap + GAP_INCREASE_PER_TRY * failures,
                                                           rng)
        else:  # still images: the pair is one frame twice, the augmentation makes template and search differ
            visible_ids = np.flatnonzero(visible)
            if len(visible_ids) == 0:
                raise _Rejected("no visible frame")
            frame = int(rng.choice(visible_ids))
            template_ids, search_ids = [frame] * self.num_template_frames, [frame] * self.num_search_frames
        frames, anno, meta = dataset.get_frames(seq_id, template_ids + search_ids, info)
        t = len(template_ids)
        data = {"template_images": frames[:t], "template_anno": anno["bbox"][:t],
                "search_images": frames[t:], "search_anno": anno["bbox"][t:],
                "language": meta.get("language")}
        twins = meta.get("teacher_frames")  # enhanced twins (lib/train/dataset/enhanced_twin.py): MLKD's teacher
        if twins is not None:
            data.update(template_teacher_images=twins[:t], search_teacher_images=twins[t:])
        if self.processing is None:
            return data
        processed = self.processing(data, rng)
        if processed is None:
            raise _Rejected("processing rejected the pair (crop too small, all padding, or target outside)")
        return processed

    def _causal_frames(self, visible: np.ndarray, gap: int, rng: np.random.Generator) -> tuple[list, list]:
        """Template frames at or before a base frame t, search frames in (t, t + gap]; all visible."""
        n, n_t, n_s = len(visible), self.num_template_frames, self.num_search_frames
        visible_ids = np.flatnonzero(visible)
        if n < MIN_VIDEO_FRAMES or len(visible_ids) <= VISIBLE_FRAMES_PER_SAMPLED * (n_t + n_s):
            raise _Rejected(f"too few frames ({n}) or visible frames ({len(visible_ids)})")
        # base template: leave room for earlier templates before it and for the search after it
        bases = visible_ids[(visible_ids >= n_t - 1) & (visible_ids < visible_ids[-1])]
        if len(bases) == 0:
            raise _Rejected("no visible template frame with a later visible frame")
        base = int(rng.choice(bases))
        candidates = visible_ids[(visible_ids > base) & (visible_ids <= base + gap)]
        if len(candidates) == 0:
            raise _Rejected(f"no visible search frame within {gap} frames after frame {base}")
        search_ids = sorted(int(f) for f in rng.choice(candidates, size=n_s, replace=True))
        earlier = visible_ids[(visible_ids < base) & (visible_ids >= base - gap)]
        extra = [int(f) for f in rng.choice(earlier, size=n_t - 1, replace=True)] if n_t > 1 and len(earlier) else []
        if len(extra) != n_t - 1:
            raise _Rejected(f"no visible earlier template frame within {gap} frames before frame {base}")
        return sorted(extra) + [base], search_ids


def _sequence_name(dataset, seq_id: int) -> str:
    getter = getattr(dataset, "get_sequence_name", None)
    return getter(seq_id) if getter is not None else f"#{seq_id}"

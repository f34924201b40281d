"""DataLoader plumbing: global sample indices that encode epoch and rank, and worker seeding.

The pairs themselves are a pure function of (sampler seed, global index) -- see ``sampler.py`` -- so they do not
depend on the number of workers or on which worker draws them. Worker seeding below only covers incidental
randomness in third-party code.
"""
from __future__ import annotations

import functools
import random
from typing import Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class EpochIndexSampler(Sampler[int]):
    """Yields ``epoch * samples_per_epoch + i`` for the i in [0, samples_per_epoch) with ``i % world_size == rank``.

    Each rank gets ``samples_per_epoch // world_size`` indices, disjoint from the other ranks' (the remainder is
    dropped so all ranks run the same number of steps). Call :meth:`set_epoch` before iterating each epoch.
    """

    def __init__(self, samples_per_epoch: int, rank: int = 0, world_size: int = 1):
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
        if samples_per_epoch < world_size:
            raise ValueError(f"samples_per_epoch {samples_per_epoch} < world_size {world_size}: some rank gets nothing")
        self.samples_per_epoch = int(samples_per_epoch)
        self.rank, self.world_size = int(rank), int(world_size)
        self.num_samples = self.samples_per_epoch // self.world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        start = self.epoch * self.samples_per_epoch + self.rank
        return iter(range(start, start + self.num_samples * self.world_size, self.world_size))

    def __len__(self) -> int:
        return self.num_samples


def worker_init_fn(worker_id: int, seed: int, rank: int) -> None:
    """Seed torch/numpy/random per (seed, rank, worker) for incidental randomness."""
    worker_seed = np.random.SeedSequence([seed, rank, worker_id]).generate_state(1)[0]
    torch.manual_seed(int(worker_seed))
    np.random.seed(int(worker_seed))
    random.seed(int(worker_seed))


def build_loader(dataset: Dataset, batch_size: int, num_workers: int, rank: int = 0, world_size: int = 1,
                 seed: int = 0, pin_memory: bool = False, persistent_workers: bool | None = None
                 ) -> tuple[DataLoader, EpochIndexSampler]:
    """Batch-first DataLoader over ``dataset`` (default collate, drop_last) and its epoch sampler.

    ``persistent_workers`` defaults to True when there are workers (no re-fork per epoch); the index sampler runs
    in the main process, so ``sampler.set_epoch`` still takes effect.
    """
    sampler = EpochIndexSampler(len(dataset), rank=rank, world_size=world_size)
    if num_workers > 0:
        # Workers already run in parallel, so each should use one OpenCV thread. This must be set in the parent
        # before the workers fork: cv2.setNumThreads inside a forked child hangs when the parent has already
        # used OpenCV's thread pool (seen as a deadlock in pthread_cond_destroy).
        cv2.setNumThreads(1)
    if persistent_workers is None:
        persistent_workers = num_workers > 0
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                        pin_memory=pin_memory, drop_last=True,
                        persistent_workers=persistent_workers and num_workers > 0,
                        worker_init_fn=functools.partial(worker_init_fn, seed=seed, rank=rank))
    return loader, sampler

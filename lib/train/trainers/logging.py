"""Running means of the actor's stats, their average over ranks, and the rank-0 log outputs.

Outputs of one run (rank 0 only; other ranks get a logger that writes nothing):
  text   <save_dir>/logs/<script>/<config>.log     one line per print interval and per epoch (appended)
  jsonl  <save_dir>/logs/<script>/<config>.jsonl   one object per epoch summary (appended)
  tb     <save_dir>/tensorboard/<script>/<config>/  TensorBoard scalars
"""
from __future__ import annotations

import json
import math
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch
from tqdm import tqdm

from lib.train.admin.distributed import all_gather_objects


@dataclass(frozen=True)
class RunDirs:
    checkpoint_dir: Path
    log_file: Path
    jsonl_file: Path
    tensorboard_dir: Path

    @classmethod
    def for_run(cls, save_dir: str | os.PathLike, script: str, config_name: str) -> "RunDirs":
        save_dir = Path(save_dir)
        logs = save_dir / "logs" / script
        return cls(checkpoint_dir=save_dir / "checkpoints" / script / config_name,
                   log_file=logs / f"{config_name}.log", jsonl_file=logs / f"{config_name}.jsonl",
                   tensorboard_dir=save_dir / "tensorboard" / script / config_name)


def to_float(value) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"a stat must be a number or a one-element tensor, got shape {tuple(value.shape)}")
        return float(value.detach().float().item())
    return float(value)


class MeanMeter:
    """Sums and counts per stat name (for means over iterations, then over ranks)."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def update(self, stats: Mapping[str, float]) -> None:
        for name, value in stats.items():
            self.sums[name] += value
            self.counts[name] += 1

    def means(self) -> dict[str, float]:
        return {name: self.sums[name] / self.counts[name] for name in sorted(self.sums) if self.counts[name]}

    def reduced_means(self) -> dict[str, float]:
        """Means over every iteration of every rank (sums and counts gathered from all ranks).

        Gathering (rather than all-reducing one tensor) tolerates ranks that report different stat names.
        """
        totals: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for sums, cnts in all_gather_objects((dict(self.sums), dict(self.counts))):
            for name, value in sums.items():
                totals[name] += value
                counts[name] += cnts[name]
        return {name: totals[name] / counts[name] for name in sorted(totals) if counts[name]}


def format_stats(stats: Mapping[str, float]) -> str:
    return "  ".join(f"{name} {value:.5g}" for name, value in stats.items())


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf literal
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class RunLogger:
    """Rank-0 text log, JSONL epoch summaries, TensorBoard scalars and console lines; inert on other ranks."""

    def __init__(self, dirs: RunDirs, enabled: bool, tensorboard: bool = True, progress: bool = True):
        self.dirs = dirs
        self.enabled = enabled
        self.progress = progress and enabled
        self._tensorboard = tensorboard and enabled
        self._writer = None
        if enabled:
            dirs.log_file.parent.mkdir(parents=True, exist_ok=True)

    @property
    def writer(self):
        if self._writer is None and self._tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported lazily: slow, and rank 0 only
            self._writer = SummaryWriter(log_dir=str(self.dirs.tensorboard_dir))
        return self._writer

    def line(self, text: str) -> None:
        """A timestamped line in the text log, echoed to the console (through tqdm so bars stay intact)."""
        if not self.enabled:
            return
        stamped = f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {text}"
        with open(self.dirs.log_file, "a", encoding="utf-8") as fh:
            fh.write(stamped + "\n")
        tqdm.write(stamped)

    def scalars(self, prefix: str, values: Mapping[str, float], step: int) -> None:
        if self.enabled and self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"{prefix}/{name}", value, step)

    def epoch_summary(self, summary: dict) -> None:
        if not self.enabled:
            return
        with open(self.dirs.jsonl_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(_json_safe(summary)) + "\n")
        if self.writer is not None:
            self.writer.flush()

    def bar(self, iterable, total: int, desc: str):
        return tqdm(iterable, total=total, desc=desc, disable=not self.progress, dynamic_ncols=True, leave=False)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

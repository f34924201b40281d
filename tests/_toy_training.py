"""A toy dataset, network and actor for the trainer tests (tiny, CPU, index-deterministic).

Not a test module: imported by tests/test_trainer.py and tests/test_train_ddp.py (spawned DDP ranks import it by
name, so it lives in a plain module rather than in a test file).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from lib.config import load_config
from lib.train.data import build_loader
from lib.train.optim import build_optimizer, build_scheduler
from lib.train.trainers import RunDirs, Trainer

IN_DIM = 8


class ToyPairs(Dataset):
    """Sample ``index`` is a pure function of (seed, index), like the real TrackingSampler."""

    def __init__(self, samples_per_epoch: int, seed: int = 0):
        self.samples_per_epoch, self.seed = samples_per_epoch, seed

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> dict:
        gen = torch.Generator().manual_seed(self.seed * 100_003 + int(index))
        x = torch.randn(IN_DIM, generator=gen)
        y = torch.stack([x[:4].sum(), x[4:].mean()])
        return {"x": x, "y": y, "index": torch.tensor(int(index))}


class ToyBackbone(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.proj = nn.Linear(IN_DIM, width)
        self.norm = nn.LayerNorm(width)
        self.pos_embed = nn.Parameter(torch.zeros(1, width))  # 2-D, but a position embedding: no weight decay

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(torch.relu(self.proj(x)) + self.pos_embed)


class ToyNet(nn.Module):
    def __init__(self, width: int = 16, dropout: float = 0.0):
        super().__init__()
        self.backbone = ToyBackbone(width)
        self.dropout = nn.Dropout(dropout)  # draws from the global torch RNG, like drop-path in the ViT
        self.head = nn.Linear(width, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.backbone(x)))


class ToyActor:
    """The actor interface the trainer relies on; records what it saw for the tests."""

    def __init__(self, net: nn.Module, cfg, nan_at: tuple[int, int] | None = None):
        self.net, self.cfg, self.nan_at = net, cfg, nan_at
        self.epoch, self.calls = 0, 0
        self.seen_indices: list[int] = []
        self.train_losses: dict[int, list[float]] = {}
        self.teacher = nn.Linear(2, 2)  # a module outside net: moved by to(), never optimised or saved

    def to(self, device):
        self.net.to(device)
        self.teacher.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        self.net.train(mode)
        self.teacher.eval()

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.calls = epoch, 0

    def __call__(self, batch: dict):
        pred = self.net(batch["x"])
        loss = ((pred - batch["y"]) ** 2).mean()
        if self.net.training:
            self.calls += 1
            self.seen_indices += batch["index"].tolist()
            if self.nan_at == (self.epoch, self.calls):
                loss = loss * math.nan
            self.train_losses.setdefault(self.epoch, []).append(float(loss.detach()))
        close = ((pred - batch["y"]).abs() < 0.5).float().mean()
        return loss, {"Loss/total": loss.detach(), "Loss/mse": float(loss.detach()), "IoU": close}


def toy_config(epochs: int = 3, **train):
    cfg = load_config("ostrack")
    cfg.TRAIN.update({"EPOCH": epochs, "BATCH_SIZE": 4, "NUM_WORKER": 0, "LR": 1e-2, "WEIGHT_DECAY": 0.05,
                      "BACKBONE_MULTIPLIER": 0.5, "GRAD_CLIP_NORM": 1.0, "PRINT_INTERVAL": 2,
                      "VAL_EPOCH_INTERVAL": 2, "CHECKPOINT_KEEP_LAST": 1, "SEED": 7})
    cfg.TRAIN.SCHEDULER.update({"TYPE": "cosine", "WARMUP_EPOCHS": 0.5, "MIN_LR_RATIO": 0.1})
    cfg.TRAIN.update(train)
    return cfg


def build_toy_trainer(save_dir: Path, cfg, *, init_seed: int = 0, dropout: float = 0.0, samples: int = 24,
                      num_workers: int = 0, rank: int = 0, world_size: int = 1, nan_at=None, val: bool = True,
                      tensorboard: bool = False, dist_info=None, net: nn.Module | None = None) -> Trainer:
    """Everything a new training process builds, from a given global RNG state (``init_seed``)."""
    torch.manual_seed(init_seed)
    seed = int(cfg.TRAIN.SEED)
    loaders = {"train": build_loader(ToyPairs(samples, seed), cfg.TRAIN.BATCH_SIZE, num_workers, rank=rank,
                                     world_size=world_size, seed=seed)}
    if val:
        loaders["val"] = build_loader(ToyPairs(8, seed + 1), cfg.TRAIN.BATCH_SIZE, 0, rank=rank,
                                      world_size=world_size, seed=seed + 1)
    net = ToyNet(dropout=dropout) if net is None else net
    actor = ToyActor(net, cfg, nan_at=nan_at)
    optimizer = build_optimizer(net, cfg, world_size=world_size)
    scheduler = build_scheduler(optimizer, cfg, len(loaders["train"][0]))
    dirs = RunDirs.for_run(save_dir, "toy", "toy_cfg")
    return Trainer(actor, loaders, optimizer, scheduler, cfg, dirs, "cpu", script="toy", config_name="toy_cfg",
                   progress=False, tensorboard=tensorboard, dist_info=dist_info)

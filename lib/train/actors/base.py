"""An actor turns a batch into a loss and logging stats: the training objective, apart from the loop.

``actor.net`` is the one module the trainer optimises, wraps in DDP and checkpoints. Other modules an actor
holds (a frozen teacher, an enhancer) live outside it: the trainer moves them with ``actor.to(device)`` but
never optimises or saves them.
"""
from __future__ import annotations

import torch
from torch import nn


class BaseActor:
    def __init__(self, net: nn.Module, cfg):
        self.net = net
        self.cfg = cfg
        self.epoch = 0

    def extra_modules(self) -> list[nn.Module]:
        """Modules outside ``net`` (e.g. a frozen teacher); moved to the device, kept in eval mode."""
        return []

    def to(self, device: torch.device) -> "BaseActor":
        self.net.to(device)
        for module in self.extra_modules():
            module.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        self.net.train(mode)
        for module in self.extra_modules():
            module.eval()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __call__(self, batch: dict) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

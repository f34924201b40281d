"""The one place a training process chooses its device.

Order: the ``--device`` option, else the TRACKING_DEVICE environment variable (so torchrun children inherit a
parent's choice), else ``cuda:LOCAL_RANK`` when CUDA is available, else the CPU.
"""
from __future__ import annotations

import os

import torch

DEVICE_ENV = "TRACKING_DEVICE"
DEVICE_CHOICES = ("auto", "cpu", "cuda")


def select_device(requested: str | None = None, local_rank: int = 0) -> torch.device:
    choice = (requested or os.environ.get(DEVICE_ENV) or "auto").lower()
    if choice not in DEVICE_CHOICES:
        raise ValueError(f"device {choice!r} not understood (from --device or {DEVICE_ENV}); "
                         f"use one of {DEVICE_CHOICES}")
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device "
                           f"(torch {torch.__version__}, CUDA build {torch.version.cuda}); use --device cpu")
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise RuntimeError(f"LOCAL_RANK={local_rank} but this node has only {count} CUDA device(s): "
                           f"lower --nproc_per_node")
    device = torch.device("cuda", local_rank)
    torch.cuda.set_device(device)  # NCCL and bare .cuda() calls in third-party code use the current device
    return device


def export_device_choice(requested: str | None) -> None:
    """Entry points call this with their ``--device`` option so that child processes make the same choice."""
    if requested:
        os.environ[DEVICE_ENV] = requested

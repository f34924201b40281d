"""Optimizer (AdamW with backbone / no-decay parameter groups) and the per-iteration LR schedule.

The LR in the config is used as written unless ``TRAIN.LR_SCALING: linear`` asks for it to follow the global
batch: LR x (BATCH_SIZE x world_size) / LR_REFERENCE_BATCH. Nothing is rescaled silently (the reference trainer
left single-GPU users to guess the LR; see botaoye/OSTrack#15).

A checkpoint continues the schedule it was trained under. :func:`schedule_settings` lists what that schedule
depends on, so a resume can tell when the config now describes another one (the trainer refuses, or with
``--reschedule`` switches to it with :func:`switch_schedule`).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lib.config import ConfigError

LR_SCALING_RULES = ("none", "linear")
SCHEDULER_TYPES = ("step", "cosine")


def _unwrap(net: nn.Module) -> nn.Module:
    return net.module if isinstance(net, nn.parallel.DistributedDataParallel) else net


def _world_size_or_default(world_size: int | None) -> int:
    if world_size is not None:
        return int(world_size)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return 1


def effective_lr(cfg, world_size: int | None = None) -> float:
    """``TRAIN.LR`` after the ``TRAIN.LR_SCALING`` rule for ``world_size`` processes (default: the current group)."""
    train = cfg.TRAIN
    rule = train.get("LR_SCALING", "none")
    if rule not in LR_SCALING_RULES:
        raise ConfigError(f"TRAIN.LR_SCALING is {rule!r}; use one of {LR_SCALING_RULES}")
    lr = float(train.LR)
    if rule == "linear":
        reference = train.get("LR_REFERENCE_BATCH", 0)
        if not reference or reference <= 0:
            raise ConfigError(f"TRAIN.LR_SCALING 'linear' needs a positive TRAIN.LR_REFERENCE_BATCH, got {reference!r}")
        lr *= train.BATCH_SIZE * _world_size_or_default(world_size) / reference
    return lr


def _no_weight_decay(name: str, param: nn.Parameter) -> bool:
    # biases and norm scales are 1-D; position embeddings are a learned lookup, not weights to shrink
    return param.ndim <= 1 or "pos_embed" in name


def parameter_groups(net: nn.Module, lr: float, weight_decay: float, backbone_multiplier: float,
                     encoder_multiplier: float = 1.0) -> list[dict]:
    """Named groups {backbone, text_encoder, rest ('head')} x {decay, no decay}; frozen parameters are left out.
    Backbone LR = ``lr x backbone_multiplier``; the fine-tuned layers of a language encoder (``text_encoder.``) get
    ``lr x encoder_multiplier``; a network's own ``lr_parts()`` ({name prefix: multiplier}) add groups."""
    net = _unwrap(net)
    multipliers = {"head": 1.0, "backbone": backbone_multiplier, "text_encoder": encoder_multiplier}
    # a network with parts of its own (the students of an MLKD pool) names them: longest prefix first
    multipliers.update(net.lr_parts() if hasattr(net, "lr_parts") else {})
    prefixes = sorted(multipliers, key=len, reverse=True)
    groups: dict[str, dict] = {}
    for name, param in net.named_parameters():
        if not param.requires_grad:
            continue
        part = next((p for p in prefixes if name.startswith(p + ".")), "head")
        no_decay = _no_weight_decay(name, param)
        key = f"{part}{'_no_decay' if no_decay else ''}"
        if key not in groups:
            groups[key] = {"name": key, "params": [], "lr": lr * multipliers[part],
                           "weight_decay": 0.0 if no_decay else weight_decay}
        groups[key]["params"].append(param)
    if not groups:
        raise ValueError("the network has no trainable parameters")
    order = [f"{part}{suffix}" for part in multipliers for suffix in ("", "_no_decay")]
    return [groups[k] for k in order if k in groups]  # head first: the first group's LR is the one logs show


def build_optimizer(net: nn.Module, cfg, world_size: int | None = None) -> torch.optim.AdamW:
    """AdamW over ``net``'s trainable parameters, grouped as in :func:`parameter_groups`."""
    train = cfg.TRAIN
    lr = effective_lr(cfg, world_size)
    language = cfg.MODEL.get("LANGUAGE", {})
    groups = parameter_groups(net, lr, float(train.WEIGHT_DECAY), float(train.BACKBONE_MULTIPLIER),
                              float(language.get("LR_MULTIPLIER", 1.0)))
    return torch.optim.AdamW(groups, lr=lr, weight_decay=float(train.WEIGHT_DECAY))


def lr_factor(iteration: int, iters_per_epoch: int, total_epochs: int, kind: str, warmup_epochs: float = 0.0,
              decay_epoch: float = 0.0, decay_rate: float = 0.1, min_lr_ratio: float = 0.0) -> float:
    """Multiplier of the base LR for optimizer step ``iteration`` (0-based, counted over the whole run).

    Warm-up: (iteration + 1) / warm-up iterations, so the first step already moves and the last warm-up step uses
    the full LR. ``step``: x ``decay_rate`` once ``decay_epoch`` epochs are complete. ``cosine``: from 1 after the
    warm-up down to ``min_lr_ratio`` at the run's last iteration.
    """
    if kind not in SCHEDULER_TYPES:
        raise ConfigError(f"TRAIN.SCHEDULER.TYPE is {kind!r}; use one of {SCHEDULER_TYPES}")
    warmup_iters = int(round(warmup_epochs * iters_per_epoch))
    warm = min(1.0, (iteration + 1) / warmup_iters) if warmup_iters > 0 else 1.0
    if kind == "step":
        decayed = iteration >= decay_epoch * iters_per_epoch
        return warm * (decay_rate if decayed else 1.0)
    last = total_epochs * iters_per_epoch - 1
    if iteration < warmup_iters:
        return warm
    span = max(1, last - warmup_iters)
    progress = min(1.0, (iteration - warmup_iters) / span)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(optimizer: torch.optim.Optimizer, cfg, iters_per_epoch: int) -> LambdaLR:
    """Per-iteration schedule over ``TRAIN.EPOCH`` epochs: call ``scheduler.step()`` after every optimizer step."""
    if iters_per_epoch < 1:
        raise ValueError(f"iters_per_epoch must be >= 1, got {iters_per_epoch} (is the training loader empty?)")
    sched = cfg.TRAIN.SCHEDULER
    kind = sched.TYPE
    warmup = float(sched.get("WARMUP_EPOCHS", 0.0))
    min_ratio = float(sched.get("MIN_LR_RATIO", 0.0))
    if warmup < 0:
        raise ConfigError(f"TRAIN.SCHEDULER.WARMUP_EPOCHS must be >= 0, got {warmup}")
    if not 0.0 <= min_ratio <= 1.0:
        raise ConfigError(f"TRAIN.SCHEDULER.MIN_LR_RATIO must be in [0, 1], got {min_ratio}")
    total_epochs = int(cfg.TRAIN.EPOCH)
    decay_epoch, decay_rate = float(sched.DECAY_EPOCH), float(sched.DECAY_RATE)
    lr_factor(0, iters_per_epoch, total_epochs, kind)  # validates the type now rather than at the first step

    # a plain function (not a callable object): LambdaLR then stores nothing of it in its state_dict
    def factor(iteration: int) -> float:
        return lr_factor(iteration, iters_per_epoch, total_epochs, kind, warmup, decay_epoch, decay_rate, min_ratio)

    return LambdaLR(optimizer, factor)


def schedule_settings(cfg, world_size: int, iters_per_epoch: int) -> dict[str, object]:
    """What the optimizer's hyper-parameters and the LR of every iteration depend on, by config key."""
    train, sched = cfg.TRAIN, cfg.TRAIN.SCHEDULER
    settings = {
        "TRAIN.EPOCH": int(train.EPOCH),
        "TRAIN.LR" if train.get("LR_SCALING", "none") == "none" else "TRAIN.LR after LR_SCALING":
            effective_lr(cfg, world_size),
        "TRAIN.BACKBONE_MULTIPLIER": float(train.BACKBONE_MULTIPLIER),
        "TRAIN.WEIGHT_DECAY": float(train.WEIGHT_DECAY),
        "TRAIN.SCHEDULER.TYPE": sched.TYPE,
        "TRAIN.SCHEDULER.WARMUP_EPOCHS": float(sched.get("WARMUP_EPOCHS", 0.0)),
        "iterations per epoch": int(iters_per_epoch),
    }
    language = cfg.get("MODEL", {}).get("LANGUAGE")
    if language is not None:
        settings["MODEL.LANGUAGE.LR_MULTIPLIER"] = float(language.LR_MULTIPLIER)
    if sched.TYPE == "step":
        settings.update({"TRAIN.SCHEDULER.DECAY_EPOCH": float(sched.DECAY_EPOCH),
                         "TRAIN.SCHEDULER.DECAY_RATE": float(sched.DECAY_RATE)})
    else:
        settings["TRAIN.SCHEDULER.MIN_LR_RATIO"] = float(sched.get("MIN_LR_RATIO", 0.0))
    return settings


def schedule_changes(old: dict, new: dict) -> list[str]:
    """'KEY old -> new' for every setting of :func:`schedule_settings` that differs."""
    return [f"{key} {old.get(key, '<absent>')!r} -> {new.get(key, '<absent>')!r}"
            for key in dict.fromkeys([*old, *new]) if old.get(key) != new.get(key)]


def configured_groups(optimizer: torch.optim.Optimizer) -> list[dict]:
    """Each parameter group's LR before scheduling and its weight decay, as the config made them (call before a
    checkpoint's optimizer state replaces them)."""
    return [{"initial_lr": g.get("initial_lr", g["lr"]), "weight_decay": g["weight_decay"]}
            for g in optimizer.param_groups]


def scheduled_lrs(scheduler: LambdaLR, base_lrs: list[float], iteration: int) -> list[float]:
    """The LR of each group at ``iteration`` of ``scheduler``'s schedule, from these base LRs."""
    return [base * factor(iteration) for base, factor in zip(base_lrs, scheduler.lr_lambdas)]


def switch_schedule(optimizer: torch.optim.Optimizer, scheduler: LambdaLR, groups: list[dict], iteration: int) -> None:
    """Continue on ``scheduler``'s own schedule (the current config's) from ``iteration``, with the groups' LR and
    weight decay of ``groups`` (:func:`configured_groups`), after a checkpoint's optimizer and scheduler state
    were loaded. The AdamW moments are kept."""
    for group, configured in zip(optimizer.param_groups, groups):
        group.update(configured)
    scheduler.base_lrs = [g["initial_lr"] for g in groups]
    scheduler.last_epoch = iteration
    for group, lr in zip(optimizer.param_groups, scheduled_lrs(scheduler, scheduler.base_lrs, iteration)):
        group["lr"] = lr
    scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]  # what get_last_lr() reports until the next step

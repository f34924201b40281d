"""The training loop: epochs of train (and sometimes validation) iterations, a checkpoint after each epoch.

Reproducibility contract: a run stopped after epoch k and resumed (``resume='auto'`` or a path) ends with the same
weights, bit for bit, as a run that never stopped (same seed, world size and hardware). That needs
  * the pairs to depend only on (seed, global index) -- the data layer guarantees it, the trainer calls
    ``sampler.set_epoch`` each epoch;
  * model, optimizer, scheduler, GradScaler and epoch restored from the checkpoint;
  * every rank's python / numpy / torch (and CUDA) RNG state saved at the end of each epoch and restored on
    resume, because dropout and drop-path draw from the global torch RNG;
  * the global RNG stream not to depend on when DataLoader iterators are created: an iterator draws its base
    seed from the global torch RNG, so iterators are created inside ``torch.random.fork_rng``.

A resume continues the schedule the checkpoint was trained under. When the config now describes another one
(``lib.train.optim.schedule_settings``: epochs, LR, backbone multiplier, weight decay, scheduler, iterations per
epoch), e.g. ``--epochs 5`` after a finished 4-epoch run whose LR has decayed to its end, the resume is refused
with the differences, unless ``reschedule=True`` (``--reschedule``): the optimizer's LRs and weight decay then come
from the config and the LR follows the config's schedule from the checkpoint's epoch on (as if the run had been
configured so from the start; the log says so, and the run is no longer bit-identical to an uninterrupted one).
With nothing left to train, a changed schedule is only a warning.
"""
from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
import yaml
from easydict import EasyDict
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from lib.config import ConfigError, config_to_yaml, save_config
from lib.config.merge import flatten
from lib.train.admin.distributed import (DistInfo, all_gather_objects, all_reduce_sum, broadcast_object,
                                         is_distributed, read_env)
from lib.train.optim import (configured_groups, schedule_changes, schedule_settings, scheduled_lrs,
                             switch_schedule)
from lib.train.trainers.checkpoint import (CHECKPOINT_FORMAT, CheckpointError, CheckpointExistsError,
                                           capture_rng_state, checkpoint_path, load_checkpoint, prune_checkpoints,
                                           resolve_resume, restore_rng_state, save_checkpoint, unwrap_model)
from lib.train.trainers.logging import MeanMeter, RunDirs, RunLogger, format_stats, to_float
from lib.utils.io import remove_stale_temp_files

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class NonFiniteLossError(FloatingPointError):
    """A loss (or gradient norm) became NaN/inf: the run stops; checkpoints already written stay."""

    def __init__(self, message: str, epoch: int, iteration: int, phase: str, stats: Mapping[str, float]):
        super().__init__(message)
        self.epoch, self.iteration, self.phase, self.stats = epoch, iteration, phase, dict(stats)


def resolve_amp_dtype(name: str, device: torch.device) -> torch.dtype:
    """'auto' = bf16 on CPU (CPU autocast has no fp16 speed-up and needs no GradScaler), fp16 on GPU."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cpu" else torch.float16
    if name not in AMP_DTYPES:
        raise ConfigError(f"TRAIN.AMP_DTYPE is {name!r}; use 'auto', 'bf16' or 'fp16'")
    return AMP_DTYPES[name]


def move_to_device(obj, device: torch.device, non_blocking: bool = False):
    """Tensors in (nested) dicts / lists / tuples moved to ``device``; anything else (strings, numbers) kept."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=non_blocking)
    if isinstance(obj, Mapping):
        return {key: move_to_device(value, device, non_blocking) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(move_to_device(value, device, non_blocking) for value in obj)
    return obj


def _loader_and_sampler(entry, part: str):
    """``build_loader``'s (DataLoader, EpochIndexSampler) pair, or a bare DataLoader whose sampler has set_epoch."""
    loader = entry[0] if isinstance(entry, (tuple, list)) else entry
    if not isinstance(loader, DataLoader):
        raise TypeError(f"loaders['{part}'] must be a DataLoader or (DataLoader, sampler), got {type(entry).__name__}")
    sampler = entry[1] if isinstance(entry, (tuple, list)) else loader.sampler
    if not hasattr(sampler, "set_epoch"):
        raise TypeError(f"loaders['{part}'] sampler {type(sampler).__name__} has no set_epoch(); build it with "
                        f"lib.train.data.build_loader so each epoch draws its own pairs")
    return loader, sampler


def config_differences(old_yaml: str, cfg) -> list[str]:
    old, new = flatten(yaml.safe_load(old_yaml) or {}), flatten(yaml.safe_load(config_to_yaml(cfg)) or {})
    return [f"{key}: {old.get(key, '<absent>')!r} -> {new.get(key, '<absent>')!r}"
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


_SHARED_ERRORS = {cls.__name__: cls for cls in (CheckpointExistsError, CheckpointError, OSError)}


class Trainer:
    def __init__(self, actor, loaders: Mapping, optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler, cfg, dirs: RunDirs, device: torch.device | str,
                 *, dist_info: DistInfo | None = None, script: str = "", config_name: str = "",
                 progress: bool = True, tensorboard: bool = True):
        self.cfg = cfg
        self.device = torch.device(device)
        self.dist = dist_info or (read_env() if is_distributed() else DistInfo())
        self.dirs = dirs
        self.script, self.config_name = script, config_name
        self.optimizer, self.scheduler = optimizer, scheduler
        self.configured_groups = configured_groups(optimizer)  # before a checkpoint's state replaces them
        self.log = RunLogger(dirs, enabled=self.dist.is_main, tensorboard=tensorboard, progress=progress)

        if "train" not in loaders:
            raise KeyError(f"loaders needs a 'train' entry, got {sorted(loaders)}")
        self.train_loader, self.train_sampler = _loader_and_sampler(loaders["train"], "train")
        if len(self.train_loader) == 0:
            raise ValueError("the training loader yields no batch: DATA.TRAIN.SAMPLE_PER_EPOCH / world size is "
                             f"smaller than TRAIN.BATCH_SIZE={self.train_loader.batch_size}")
        self.val_loader, self.val_sampler = (_loader_and_sampler(loaders["val"], "val")
                                             if loaders.get("val") is not None else (None, None))

        # the actor moves its own extra modules (a frozen teacher...); only actor.net is optimised and saved
        actor.to(self.device)
        self.actor = actor
        self.net: nn.Module = unwrap_model(actor.net)
        if self.dist.distributed and not isinstance(actor.net, DistributedDataParallel):
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            actor.net = DistributedDataParallel(actor.net, device_ids=device_ids)
        self.params = [p for p in self.net.parameters() if p.requires_grad]
        # a network of independent parts (MLKD's students) clips each part on its own, so one part's large
        # gradient does not shrink the others' steps
        groups = self.net.clip_groups() if hasattr(self.net, "clip_groups") else [self.params]
        self.clip_groups = [[p for p in group if p.requires_grad] for group in groups]

        train = cfg.TRAIN
        self.total_epochs = int(train.EPOCH)
        self.grad_clip = float(train.GRAD_CLIP_NORM or 0.0)
        self.print_interval = max(1, int(train.PRINT_INTERVAL))
        self.val_interval = int(train.VAL_EPOCH_INTERVAL)
        self.keep_last = int(train.get("CHECKPOINT_KEEP_LAST", 2))
        self.milestones = [int(m) for m in train.get("CHECKPOINT_MILESTONES", [])]
        self.amp = bool(train.AMP)
        self.amp_dtype = resolve_amp_dtype(train.get("AMP_DTYPE", "auto"), self.device)
        # loss scaling only makes sense for fp16 (bf16 has fp32's exponent range)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp and self.amp_dtype == torch.float16)
        self.non_blocking = self.device.type == "cuda" and bool(self.train_loader.pin_memory)

        self.epoch = 0               # last completed epoch
        self.history: list[dict] = []  # one summary per completed epoch (saved in every checkpoint)

    # -- public ---------------------------------------------------------------------------------------------------

    def train(self, max_epochs: int | None = None, resume: str | Path | None = None,
              reschedule: bool = False) -> list[dict]:
        """Train up to epoch ``max_epochs`` (default: TRAIN.EPOCH; smaller = stop early, the schedule still spans
        TRAIN.EPOCH). ``resume``: None (fresh; an error if checkpoints exist), 'auto' or a checkpoint path.
        ``reschedule``: a checkpoint trained under another schedule continues on this config's (see the module
        docstring) instead of being refused."""
        stop = self.total_epochs if max_epochs is None else int(max_epochs)
        if not 1 <= stop <= self.total_epochs:
            raise ValueError(f"max_epochs={stop} must be in [1, TRAIN.EPOCH={self.total_epochs}]")
        try:
            self._start(resume, stop, reschedule)
            self._on_main(lambda: save_config(self.cfg, self.dirs.checkpoint_dir / "config.yaml"))
            if self.epoch >= stop:
                self.log.line(f"nothing to do: epoch {self.epoch} already reached (asked to train to {stop})")
            for epoch in range(self.epoch + 1, stop + 1):
                self._run_epoch(epoch)
            if self.epoch == self.total_epochs:
                self.log.line(f"finished: {self.total_epochs} epochs; checkpoints in {self.dirs.checkpoint_dir}")
            else:
                self.log.line(f"paused after epoch {self.epoch} of {self.total_epochs} as asked; continue with "
                              f"--resume auto")
        except NonFiniteLossError as err:
            self.log.line(f"STOPPED: {err}")
            raise
        finally:
            self.log.close()
        return self.history

    # -- start / resume ----------------------------------------------------------------------------------------

    def _on_main(self, fn):
        """Run ``fn`` on global rank 0 only; every rank gets its result or raises its error (no rank is left
        waiting at a collective when rank 0 fails)."""
        if not self.dist.distributed:
            return fn() if self.dist.is_main else None
        result, error = None, None
        if self.dist.is_main:
            try:
                result = fn()
            except (CheckpointExistsError, CheckpointError, OSError, ValueError, RuntimeError) as err:
                error = (type(err).__name__, str(err))
        result, error = broadcast_object((result, error))
        if error is not None:
            raise _SHARED_ERRORS.get(error[0], RuntimeError)(error[1])
        return result

    def _start(self, resume, stop: int, reschedule: bool) -> None:
        self._on_main(lambda: remove_stale_temp_files(self.dirs.checkpoint_dir))  # a killed run's half-written files
        path = self._on_main(lambda: resolve_resume(self.dirs.checkpoint_dir, resume))
        if path is not None:
            self._load(Path(path), stop, reschedule)
        iters = len(self.train_loader)
        lrs = ", ".join(f"{g.get('name', i)} {g['lr']:.3g}" for i, g in enumerate(self.optimizer.param_groups))
        self.log.line(f"run {self.script}/{self.config_name}: {self.dist.world_size} process(es) on "
                      f"{self.device.type}, {iters} iterations x {self.train_loader.batch_size} pairs per process "
                      f"per epoch, {self.total_epochs} epochs, LR now {lrs}, AMP "
                      f"{str(self.amp_dtype).replace('torch.', '') if self.amp else 'off'}")
        if path is None:
            self.log.line(f"fresh start; checkpoints go to {self.dirs.checkpoint_dir}")
        else:
            self.log.line(f"resumed from {path} after epoch {self.epoch}")

    def _load(self, path: Path, stop: int, reschedule: bool) -> None:
        state = load_checkpoint(path, map_location="cpu")
        try:
            self.net.load_state_dict(state["net"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(f"{path} does not fit this network/optimizer (was it written with another "
                                  f"config?): {err}") from err
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler.is_enabled() and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.history = list(state.get("stats", {}).get("history", []))
        rng_states = state["rng"]
        if len(rng_states) == self.dist.world_size:
            restore_rng_state(rng_states[self.dist.rank], self.device)
        else:
            # other world size: there is no matching stream to continue; seed reproducibly and say so
            seed = int(np.random.SeedSequence([int(self.cfg.TRAIN.SEED), self.dist.rank, self.epoch])
                       .generate_state(1)[0])
            random.seed(seed)
            np.random.seed(seed)
            torch.manual_seed(seed)
            self.log.line(f"warning: {path.name} holds RNG states of {len(rng_states)} process(es), this run has "
                          f"{self.dist.world_size}: the continuation is not bit-identical to an uninterrupted run")
        changed = config_differences(state.get("config_yaml", ""), self.cfg)
        if changed:
            self.log.line("warning: the config differs from the checkpoint's: " + "; ".join(changed))
        self._check_schedule(path, state, stop, reschedule)

    def _check_schedule(self, path: Path, state: dict, stop: int, reschedule: bool) -> None:
        """Refuse to resume on another schedule than the checkpoint's, or switch to this config's if asked."""
        old_cfg = EasyDict(yaml.safe_load(state.get("config_yaml") or "{}") or {})
        if "TRAIN" not in old_cfg or self.epoch < 1:
            return  # nothing to compare with
        iters = len(self.train_loader)
        old_iters = int(state["scheduler"]["last_epoch"]) // self.epoch
        changes = schedule_changes(
            schedule_settings(old_cfg, int(state.get("world_size", 1)), old_iters),
            schedule_settings(self.cfg, self.dist.world_size, iters))
        if not changes:
            return
        position = self.epoch * iters  # the first iteration of the next epoch under this config
        now = [g["lr"] for g in self.optimizer.param_groups]
        then = scheduled_lrs(self.scheduler, [g["initial_lr"] for g in self.configured_groups], position)
        if self.epoch >= stop:
            self.log.line(f"warning: {path.name} was trained under another schedule ({'; '.join(changes)}); "
                          f"nothing is left to train, so nothing changes")
            return
        if not reschedule:
            ended = (f" Its schedule ended at epoch {self.epoch} (LR now {now[0]:.3g}): training on would not "
                     f"follow any schedule." if self.epoch >= int(old_cfg.TRAIN.EPOCH) else "")
            raise ConfigError(
                f"{path} was trained under another schedule than this config's: {'; '.join(changes)}.{ended} "
                f"Resume with the checkpoint's settings to continue its schedule exactly, or add --reschedule "
                f"to continue from epoch {self.epoch} on this config's schedule (LR {now[0]:.3g} -> {then[0]:.3g} "
                f"for the first parameter group)")
        switch_schedule(self.optimizer, self.scheduler, self.configured_groups, position)
        lrs = ", ".join(f"{g.get('name', i)} {a:.3g} -> {b:.3g}"
                        for i, (g, a, b) in enumerate(zip(self.optimizer.param_groups, now, then)))
        self.log.line(f"rescheduled as asked: {'; '.join(changes)}. From epoch {self.epoch + 1} the LR follows this "
                      f"config's schedule from its iteration {position} ({lrs}); the optimizer's LR and weight decay "
                      f"come from this config. The run is not bit-identical to any uninterrupted one")

    # -- epochs ------------------------------------------------------------------------------------------------

    def _run_epoch(self, epoch: int) -> None:
        start = time.perf_counter()
        self.train_sampler.set_epoch(epoch - 1)  # the sampler counts epochs from 0
        self.actor.set_epoch(epoch)
        train_stats, train_seconds, pairs = self._cycle("train", epoch)
        val_stats = None
        if self.val_loader is not None and self.val_interval > 0 and (
                epoch % self.val_interval == 0 or epoch == self.total_epochs):
            self.val_sampler.set_epoch(0)  # the same validation pairs every time: numbers comparable across epochs
            val_stats, _, _ = self._cycle("val", epoch)
        epoch_seconds = time.perf_counter() - start
        lrs = {g.get("name", str(i)): g["lr"] for i, g in enumerate(self.optimizer.param_groups)}
        summary = {"epoch": epoch, "train": train_stats, "val": val_stats, "lr": lrs,
                   "pairs_per_s": pairs / train_seconds if train_seconds > 0 else 0.0,
                   "epoch_time_s": epoch_seconds, "world_size": self.dist.world_size,
                   "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self.history.append(summary)
        self.epoch = epoch
        self.log.line(f"epoch {epoch}/{self.total_epochs} done in {epoch_seconds:.1f}s "
                      f"({summary['pairs_per_s']:.1f} pairs/s)  train: {format_stats(train_stats)}"
                      + (f"  val: {format_stats(val_stats)}" if val_stats else ""))
        self.log.scalars("train", train_stats, epoch)
        if val_stats:
            self.log.scalars("val", val_stats, epoch)
        self.log.scalars("LR", lrs, epoch)
        self.log.scalars("speed", {"pairs_per_s": summary["pairs_per_s"], "epoch_time_s": epoch_seconds}, epoch)
        self.log.epoch_summary(summary)
        self._save(epoch)

    def _cycle(self, phase: str, epoch: int) -> tuple[dict, float, int]:
        """One pass over the ``phase`` loader; returns (stats averaged over iterations and ranks, seconds, pairs
        processed by all ranks)."""
        training = phase == "train"
        loader = self.train_loader if training else self.val_loader
        self.actor.train(training)
        meter = MeanMeter()
        n_iter = len(loader)
        with torch.random.fork_rng(devices=[]):
            iterator = iter(loader)  # its base-seed draw must not advance the global stream
        start = time.perf_counter()
        bar = self.log.bar(iterator, n_iter, f"{phase} ep {epoch}")
        for iteration, batch in enumerate(bar, start=1):
            batch = move_to_device(batch, self.device, self.non_blocking)
            stats = self._step(batch, training, epoch, iteration, n_iter, phase)
            meter.update(stats)
            if self.log.progress:
                local = meter.means()
                bar.set_postfix({k: f"{local[k]:.4f}" for k in ("Loss/total", "IoU") if k in local}, refresh=False)
            if iteration % self.print_interval == 0 and iteration != n_iter:
                means = meter.reduced_means()  # a collective: every rank reaches it at the same iteration
                elapsed = time.perf_counter() - start
                pairs_per_s = iteration * loader.batch_size * self.dist.world_size / elapsed
                self.log.line(f"[{phase}] epoch {epoch} iter {iteration}/{n_iter}  {format_stats(means)}  "
                              f"lr {self.optimizer.param_groups[0]['lr']:.3g}  {pairs_per_s:.1f} pairs/s")
                if training:
                    step = (epoch - 1) * n_iter + iteration
                    self.log.scalars("train_iter", {**means, "pairs_per_s": pairs_per_s}, step)
        bar.close()
        seconds = time.perf_counter() - start
        return meter.reduced_means(), seconds, n_iter * loader.batch_size * self.dist.world_size

    def _step(self, batch, training: bool, epoch: int, iteration: int, n_iter: int, phase: str) -> dict[str, float]:
        if training:
            self.optimizer.zero_grad(set_to_none=True)
        reason = ""
        with torch.set_grad_enabled(training), \
                torch.autocast(device_type=self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            try:
                loss, stats = self.actor(batch)
            except FloatingPointError as err:
                # turned into a NaN loss so every rank stops at the same collective instead of one rank hanging
                loss, stats, reason = torch.tensor(math.nan, device=self.device), {}, f" ({err})"
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise TypeError(f"the actor must return a scalar loss tensor, got {type(loss).__name__} "
                            f"{tuple(getattr(loss, 'shape', ()))}")
        stats = {name: to_float(value) for name, value in stats.items()}
        self._check_finite(loss, stats, epoch, iteration, n_iter, phase, reason)
        if training:
            self.scaler.scale(loss).backward()
            if self.grad_clip > 0:
                self.scaler.unscale_(self.optimizer)
                norm = math.hypot(*(float(torch.nn.utils.clip_grad_norm_(group, self.grad_clip))
                                    for group in self.clip_groups))  # the norm before clipping
                # with fp16 loss scaling an inf norm just skips the step; otherwise it would poison the weights
                # (gradients are already averaged over ranks, so every rank takes this branch together)
                if not math.isfinite(norm) and not self.scaler.is_enabled():
                    raise self._non_finite("gradient norm", norm, stats, epoch, iteration, n_iter, phase, "")
                stats["GradNorm"] = norm
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
        return stats

    def _check_finite(self, loss: torch.Tensor, stats: dict, epoch: int, iteration: int, n_iter: int, phase: str,
                      reason: str) -> None:
        # summed over ranks: NaN/inf anywhere makes the sum non-finite, so all ranks stop together
        total = all_reduce_sum(loss.detach().float().reshape(1).clone())
        if not torch.isfinite(total).all():
            local = float(loss.detach().float())
            raise self._non_finite("loss", local, stats, epoch, iteration, n_iter, phase, reason)

    def _non_finite(self, what: str, value: float, stats: dict, epoch: int, iteration: int, n_iter: int,
                    phase: str, reason: str) -> NonFiniteLossError:
        where = f" on rank {self.dist.rank}" if self.dist.distributed else ""
        message = (f"non-finite {phase} {what} at epoch {epoch}, iteration {iteration}/{n_iter}{reason}: "
                   f"{what} {value}{where}; stats {format_stats(stats) or '{}'}. Training stopped; checkpoints "
                   f"already written stay in {self.dirs.checkpoint_dir}")
        return NonFiniteLossError(message, epoch, iteration, phase, stats)

    # -- checkpoints -------------------------------------------------------------------------------------------

    def _save(self, epoch: int) -> None:
        rng_states = all_gather_objects(capture_rng_state(self.device))  # every rank's streams, in rank order

        def write() -> str:
            state = {
                "format": CHECKPOINT_FORMAT,
                "epoch": epoch,
                "net": self.net.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "rng": rng_states,
                "world_size": self.dist.world_size,
                "script": self.script,
                "config_name": self.config_name,
                "config_yaml": config_to_yaml(self.cfg),
                "stats": {"history": self.history},
                "torch_version": str(torch.__version__),
            }
            path = save_checkpoint(checkpoint_path(self.dirs.checkpoint_dir, epoch), state)
            removed = prune_checkpoints(self.dirs.checkpoint_dir, self.keep_last, self.milestones,
                                        final_epoch=self.total_epochs)
            self.log.line(f"saved {path.name}" + (f", removed {', '.join(p.name for p in removed)}" if removed else ""))
            return str(path)

        self._on_main(write)  # other ranks wait here (the broadcast is the barrier)

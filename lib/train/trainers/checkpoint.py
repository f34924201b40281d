"""Checkpoint files: naming, atomic save, pruning, safe loading, RNG capture and which file to resume from.

A checkpoint holds only tensors and plain containers (dict, list, str, int, float, bool, None), so it loads with
``torch.load(weights_only=True)`` and needs no importable project classes; the config is stored as yaml text.
"""
from __future__ import annotations

import os
import random
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lib.utils.io import atomic_path
from lib.utils.torch_files import NotATorchFileError, load_weights_file

CHECKPOINT_FORMAT = "lib.train.checkpoint/1"
CHECKPOINT_NAME = "ep{epoch:04d}.pth"
_CHECKPOINT_RE = re.compile(r"^ep(\d{4,})\.pth$")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or not one of ours."""


class CheckpointExistsError(RuntimeError):
    """A fresh run was pointed at a folder that already holds checkpoints of another (or the same) run."""


def checkpoint_path(directory: str | os.PathLike, epoch: int) -> Path:
    return Path(directory) / CHECKPOINT_NAME.format(epoch=epoch)


def list_checkpoints(directory: str | os.PathLike) -> list[tuple[int, Path]]:
    """(epoch, path) of every ``epNNNN.pth`` in ``directory``, oldest first (temp files are ignored)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _CHECKPOINT_RE.match(path.name)
        if match and path.is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    found = list_checkpoints(directory)
    return found[-1][1] if found else None


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` to a temp file beside ``path`` and rename it: a crash never leaves half a checkpoint.

    Through a file object: given a path, torch.save names the archive's folder after the (random) temp file, so the
    same state would give other bytes each time, and a re-exported checkpoint (``select_student.py`` run again)
    another digest than the results made with it."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save(state, handle)
    return Path(path)


def prune_checkpoints(directory: str | os.PathLike, keep_last: int, milestones=(), final_epoch: int | None = None
                      ) -> list[Path]:
    """Delete checkpoints except the newest ``keep_last``, the ``milestones`` and ``final_epoch``; returns the
    deleted paths."""
    if keep_last < 1:
        raise ValueError(f"TRAIN.CHECKPOINT_KEEP_LAST must be >= 1 (the newest checkpoint is needed to resume), "
                         f"got {keep_last}")
    found = list_checkpoints(directory)
    keep = {epoch for epoch, _ in found[-keep_last:]} | {int(m) for m in milestones}
    if final_epoch is not None:
        keep.add(int(final_epoch))
    removed = []
    for epoch, path in found:
        if epoch not in keep:
            path.unlink(missing_ok=True)  # another process may have pruned it already
            removed.append(path)
    return removed


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load with ``weights_only=True`` (no code runs from the file) and check it is one of ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path} (with several processes or nodes it must be on "
                              f"storage every rank can read)")
    try:
        state = load_weights_file(path, map_location)
    except NotATorchFileError as err:
        raise CheckpointError(str(err)) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path} is not a training checkpoint of this codebase "
                              f"(format {found!r}, expected {CHECKPOINT_FORMAT!r})")
    return state


def resolve_resume(directory: str | os.PathLike, resume: str | os.PathLike | None) -> Path | None:
    """The checkpoint to resume from, or None for a fresh start.

    ``None``: fresh, and an error if ``directory`` already holds checkpoints (never continue a run silently).
    ``'auto'``: the newest checkpoint in ``directory``, fresh when there is none. Anything else: that file.
    """
    directory = Path(directory)
    if resume is None or str(resume) == "":
        existing = list_checkpoints(directory)
        if existing:
            raise CheckpointExistsError(
                f"{directory} already holds {len(existing)} checkpoint(s) (newest: {existing[-1][1].name}); "
                f"pass --resume auto to continue that run, or --save_dir DIR to start a new one elsewhere")
        return None
    if str(resume) == "auto":
        return latest_checkpoint(directory)
    path = Path(resume)
    if not path.is_file():
        raise CheckpointError(f"--resume {resume}: no such file")
    return path


def unwrap_model(net: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel / DataParallel wrapper (state-dict keys without 'module.')."""
    while isinstance(net, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
        net = net.module
    return net


# -- RNG state as tensors and plain values (weights_only-loadable) ----------------------------------------------

def capture_rng_state(device: torch.device | None = None) -> dict:
    version, python_state, gauss_next = random.getstate()
    kind, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    state = {
        "python": {"version": int(version), "state": torch.tensor(python_state, dtype=torch.int64),
                   "gauss_next": gauss_next},
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)},
        "torch": torch.get_rng_state(),
        "cuda": None,
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict, device: torch.device | None = None) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())
    if device is not None and device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)

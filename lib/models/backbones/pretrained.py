"""Load MAE / DeiT / timm ViT weights (timm names) or our own backbone's weights into ``OneStreamViT``, strictly.

An explicit key map says where each timm tensor goes; the checkpoint's single ``pos_embed`` (1, [1+]M, C) is
bicubically resampled (timm ``resample_abs_pos_embed``) to both the template grid (``pos_embed_z``) and the search
grid (``pos_embed_x``), dropping the cls / dist positions. Keys that pre-training leaves behind and tracking
never uses (cls token, classifier heads, MAE decoder) are ignored by name. Anything else is an error: a key we
do not know, a backbone parameter the file leaves unset, or a shape that does not fit.
"""
from __future__ import annotations

import argparse
import fnmatch
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import torch
from timm.layers import resample_abs_pos_embed
from torch import Tensor, nn

from lib.paths import PROJECT_ROOT
from lib.utils.torch_files import NotATorchFileError, load_weights_file

PRETRAINED_DIR = PROJECT_ROOT / "pretrained_models"
CHECKPOINT_WRAPPER_KEYS = ("model", "state_dict", "net")
TIMM_BLOCK_LAYERS = ("norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2")
# left behind by pre-training, never used by the tracker
IGNORED_KEYS = ("cls_token", "dist_token", "mask_token")
IGNORED_PREFIXES = ("head.", "head_dist.", "fc_norm.", "decoder")


class PretrainedLoadError(ValueError):
    """A checkpoint does not fit the backbone; the message names the file and every offending key."""


@dataclass
class LoadReport:
    source: str
    loaded: list[str] = field(default_factory=list)        # backbone parameter names set from the file
    ignored: list[str] = field(default_factory=list)       # checkpoint keys skipped on purpose
    resized: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)  # pos embeds

    def __str__(self) -> str:
        resized = ", ".join(f"{k} {list(a)}->{list(b)}" for k, a, b in ((k, *v) for k, v in self.resized.items()))
        return (f"loaded {len(self.loaded)} tensors from {self.source}; ignored {len(self.ignored)} "
                f"({', '.join(self.ignored) or 'none'}); resized {resized or 'none'}")


def resolve_pretrained_path(path: str | os.PathLike) -> Path:
    """An existing path as given, else the name inside ``pretrained_models/``; missing -> error naming both."""
    path = Path(path).expanduser()
    candidates = [path] if path.is_absolute() else [path, PRETRAINED_DIR / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = " or ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"pretrained weights not found: {tried}; put the file in {PRETRAINED_DIR}/ "
                            f"(see pretrained_models/README.md) or give an absolute path")


def read_checkpoint(path: Path) -> Mapping:
    """torch.load without arbitrary pickles (argparse.Namespace is allowed: MAE / DeiT store their args)."""
    try:
        return load_weights_file(path, allowed_globals=[argparse.Namespace], kind="pretrained weights file")
    except NotATorchFileError as err:
        raise PretrainedLoadError(str(err)) from None


def unwrap_state_dict(checkpoint: Mapping, source: str) -> dict[str, Tensor]:
    """The tensor dict itself, or the one under 'model' / 'state_dict' / 'net'; a DDP 'module.' prefix is dropped."""
    if not isinstance(checkpoint, Mapping):
        raise PretrainedLoadError(f"{source}: expected a state dict (a mapping), got {type(checkpoint).__name__}")
    for key in CHECKPOINT_WRAPPER_KEYS:
        if isinstance(checkpoint.get(key), Mapping):
            checkpoint = checkpoint[key]
            break
    state = {}
    for key, value in checkpoint.items():
        if not isinstance(value, Tensor):
            raise PretrainedLoadError(f"{source}: entry {key!r} is a {type(value).__name__}, not a tensor; expected "
                                      f"a state dict or a dict holding one under {CHECKPOINT_WRAPPER_KEYS}")
        state[key[len("module."):] if key.startswith("module.") else key] = value
    return state


def timm_key_map(depth: int) -> dict[str, str]:
    """timm ViT name -> OneStreamViT name for every directly copied tensor (the names coincide by design)."""
    names = ["patch_embed.proj.weight", "patch_embed.proj.bias", "norm.weight", "norm.bias"]
    names += [f"blocks.{i}.{layer}.{kind}" for i in range(depth) for layer in TIMM_BLOCK_LAYERS
              for kind in ("weight", "bias")]
    return {name: name for name in names}


def is_ignored(key: str) -> bool:
    return key in IGNORED_KEYS or key.startswith(IGNORED_PREFIXES)


def square_side(num_tokens: int) -> int | None:
    side = math.isqrt(num_tokens)
    return side if side * side == num_tokens else None


def timm_pos_grid(pos_embed: Tensor, source: str) -> tuple[int, tuple[int, int]]:
    """(prefix tokens, source grid) of a timm ``pos_embed`` (1, P + side^2, C), P in {0, 1 (cls), 2 (cls+dist)}."""
    for prefix in (0, 1, 2):
        side = square_side(pos_embed.shape[1] - prefix) if pos_embed.shape[1] > prefix else None
        if side:
            return prefix, (side, side)
    raise PretrainedLoadError(f"{source}: pos_embed {list(pos_embed.shape)} is not (1, [1-2 prefix +] side^2, C)")


def resample_pos_embed(pos_embed: Tensor, new_grid: tuple[int, int], key: str, source: str,
                       prefix: int = 0, old_grid: tuple[int, int] | None = None) -> Tensor:
    """(1, prefix + H'W', C) -> (1, HW, C): prefix positions dropped, bicubic resample when the grid differs."""
    pos_embed = pos_embed[:, prefix:]
    if old_grid is None:
        if pos_embed.shape[1] == math.prod(new_grid):
            return pos_embed  # same token count as ours: same grid
        side = square_side(pos_embed.shape[1])
        if side is None:
            raise PretrainedLoadError(f"{source}: {key} {list(pos_embed.shape)} has a non-square token grid that "
                                      f"differs from the model's {new_grid[0]}x{new_grid[1]}; cannot resample")
        old_grid = (side, side)
    return resample_abs_pos_embed(pos_embed, new_size=list(new_grid), old_size=list(old_grid), num_prefix_tokens=0)


def deeper_block(key: str, depth: int) -> bool:
    """Is ``key`` a parameter of a block at index ``depth`` or beyond (timm and our names: ``blocks.<i>.``)?"""
    parts = key.split(".")
    return len(parts) > 2 and parts[0] == "blocks" and parts[1].isdigit() and int(parts[1]) >= depth


def map_state_dict(backbone: nn.Module, state: Mapping[str, Tensor], source: str, report: LoadReport,
                   first_blocks: bool = False) -> tuple[dict[str, Tensor], list[str]]:
    """Checkpoint tensors under backbone names (pos embeds resampled); also the keys nothing maps.
    ``first_blocks``: a deeper checkpoint's extra blocks are skipped (reported as ignored)."""
    depth = len(backbone.blocks)
    key_map = timm_key_map(depth)
    grids = {"pos_embed_z": backbone.template_grid, "pos_embed_x": backbone.search_grid}
    mapped, unexpected = {}, []
    if "pos_embed" in state and any(k in state for k in grids):
        raise PretrainedLoadError(f"{source}: holds both a timm 'pos_embed' and our 'pos_embed_z'/'pos_embed_x'")
    for key, value in state.items():
        if key in key_map:
            mapped[key_map[key]] = value
        elif key == "pos_embed":  # timm: one grid (+ cls) -> both of ours
            if value.dim() != 3:
                raise PretrainedLoadError(f"{source}: pos_embed has shape {list(value.shape)}, expected (1, N, C)")
            prefix, old_grid = timm_pos_grid(value, source)
            for name, grid in grids.items():
                mapped[name] = resample_pos_embed(value, grid, key, source, prefix, old_grid)
                report.resized[name] = (tuple(value.shape), tuple(mapped[name].shape))
        elif key in grids:  # our own backbone: resample only when the grid differs
            if value.dim() != 3:
                raise PretrainedLoadError(f"{source}: {key} has shape {list(value.shape)}, expected (1, N, C)")
            mapped[key] = resample_pos_embed(value, grids[key], key, source)
            if mapped[key].shape != value.shape:
                report.resized[key] = (tuple(value.shape), tuple(mapped[key].shape))
        elif is_ignored(key) or (first_blocks and deeper_block(key, depth)):
            report.ignored.append(key)
        else:
            unexpected.append(key)
    return mapped, unexpected


def load_pretrained_vit(backbone: nn.Module, path_or_state_dict: str | os.PathLike | Mapping,
                        allow_missing: Iterable[str] = (), first_blocks: bool = False) -> LoadReport:
    """Load a timm-named ViT checkpoint (MAE, DeiT, timm) or a ``OneStreamViT`` state dict into ``backbone``.

    ``allow_missing``: fnmatch patterns of backbone tensors the file may leave at their initial values (e.g. a
    halting variant's new ``blocks.*.halt.*`` parameters); everything else must be loaded. ``first_blocks``: a
    shallower backbone takes the checkpoint's first blocks (a compact student from a 12-block ViT). Raises
    ``PretrainedLoadError`` listing every unexpected key, missing parameter and shape mismatch (with the file),
    ``FileNotFoundError`` naming the path when the file does not exist.
    """
    if isinstance(path_or_state_dict, Mapping):
        source, checkpoint = "<state dict>", path_or_state_dict
    else:
        path = resolve_pretrained_path(path_or_state_dict)
        source, checkpoint = str(path), read_checkpoint(path)
    state = unwrap_state_dict(checkpoint, source)
    report = LoadReport(source)
    mapped, unexpected = map_state_dict(backbone, state, source, report, first_blocks)

    own = backbone.state_dict()
    allow_missing = list(allow_missing)
    missing = [k for k in own if k not in mapped and not any(fnmatch.fnmatchcase(k, p) for p in allow_missing)]
    unexpected += [k for k in mapped if k not in own]
    mismatched = [f"{k}: checkpoint {list(v.shape)} vs model {list(own[k].shape)}"
                  for k, v in mapped.items() if k in own and v.shape != own[k].shape]
    problems = []
    if unexpected:
        problems.append(f"unexpected keys (not in the key map, not ignorable): {', '.join(sorted(unexpected))}")
    if missing:
        problems.append(f"backbone parameters not in the checkpoint: {', '.join(missing)}")
    if mismatched:
        problems.append(f"shape mismatches: {'; '.join(mismatched)}")
    if problems:
        raise PretrainedLoadError(f"cannot load {source} into {type(backbone).__name__}: " + " | ".join(problems))

    backbone.load_state_dict(mapped, strict=False)  # completeness was checked above, with better messages
    report.loaded = sorted(mapped)
    return report

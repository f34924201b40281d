"""A-ViT's two halting regularisers (``avltrack_spec.md`` §2.3 item 7; A-ViT ``engine_act.py``).

* ponder loss: the mean ponder cost of the tokens (blocks run + remainder at halting, ACT's cost), which pushes
  every token to halt earlier;
* distribution prior: KL(target || q), where q is how the halting score spreads over the blocks (mean over the
  tokens of a sample, then over the samples; the reference's ``h[1:]`` slices the batch axis instead), normalised
  to sum one and clamped to [0.01, 0.99] as A-ViT does, and the target is a Gaussian over the blocks centred on the
  wanted depth (sigma 1). It shapes where tokens halt instead of only how early.

Target normalisation (differs from A-ViT, on purpose): A-ViT evaluates the Gaussian pdf at block indices 0..L-1
around ``target_depth`` and scales it so its first ``target_depth`` entries sum to 0.98, which leaves the whole
vector summing to about 3.3 (not a distribution), then averages the KL terms over the L blocks. Here the target is
the Gaussian at blocks 1..L (block l = a depth of l blocks, so ``target_depth`` is the depth where halting should
peak), normalised to sum one, and the KL is the plain sum: 0 exactly when q equals the target. A-ViT's
``target_depth`` t (0-based) is our t + 1.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def ponder_loss(ponder: torch.Tensor) -> torch.Tensor:
    """Mean ponder cost over samples and tokens; ``ponder`` (B, N) from the backbone's ``halting`` outputs."""
    return ponder.float().mean()


def halting_target(num_blocks: int, target_depth: float, device: torch.device | None = None) -> torch.Tensor:
    """(L,) Gaussian over blocks 1..L centred on ``target_depth`` (sigma 1), summing to one."""
    if not 1 <= target_depth <= num_blocks:
        raise ValueError(f"TRAIN.HALT_TARGET_DEPTH must be within the backbone's blocks 1..{num_blocks}, got "
                         f"{target_depth}")
    blocks = torch.arange(1, num_blocks + 1, dtype=torch.float32, device=device)
    return torch.softmax(-0.5 * (blocks - target_depth) ** 2, dim=0)  # exp(-(l - mu)^2 / 2), normalised


def distribution_prior_loss(layer_halt: torch.Tensor, target_depth: float) -> torch.Tensor:
    """KL(target || halting distribution); ``layer_halt`` (B, L) is the mean halting score over the tokens of
    each sample at each block (the backbone's ``halting`` outputs)."""
    per_block = layer_halt.float().mean(dim=0)
    per_block = (per_block / per_block.sum().clamp(min=1e-12)).clamp(0.01, 0.99)
    target = halting_target(per_block.shape[0], target_depth, per_block.device)
    return F.kl_div(per_block.log(), target, reduction="sum")

"""CenterNet focal loss on score-map logits, computed in fp32.

Working from logits with log-sigmoid keeps every term finite: the reference clamps sigmoid outputs to
[1e-4, 1 - 1e-4], and under fp16 autocast 1 - 1e-4 rounds to 1, so log(1 - p) becomes -inf on a confident cell.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _focal_terms(logits: torch.Tensor, target: torch.Tensor, alpha: float, beta: float
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss per cell, positive-cell indicator), both (B, ..., H, W) in fp32."""
    logits, target = logits.float(), target.float()
    log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)
    p = log_p.exp()
    positive = target.eq(1).float()
    pos_loss = -(log_p * (1 - p).pow(alpha) * positive)
    neg_loss = -(log_not_p * p.pow(alpha) * (1 - target).pow(beta) * (1 - positive))
    return pos_loss + neg_loss, positive


def focal_loss_with_logits(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0
                           ) -> torch.Tensor:
    """Mean over positive cells of the penalty-reduced focal loss (CenterNet, alpha=2, beta=4).

    logits, target: (B, ..., H, W); target is a Gaussian heat map with exactly 1 at each object's centre cell.
    """
    loss, positive = _focal_terms(logits, target, alpha, beta)
    return loss.sum() / positive.sum().clamp(min=1.0)


def focal_loss_per_sample(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0
                          ) -> torch.Tensor:
    """(B,) the focal loss of each sample alone (its loss over its positive cells); the batch loss above equals
    their mean when every sample has one positive cell."""
    loss, positive = _focal_terms(logits, target, alpha, beta)
    return loss.flatten(1).sum(dim=1) / positive.flatten(1).sum(dim=1).clamp(min=1.0)

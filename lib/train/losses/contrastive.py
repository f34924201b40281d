"""NT-Xent (SimCLR's normalised temperature-scaled cross-entropy) between two sets of paired unit vectors."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.5,
            valid: torch.Tensor | None = None) -> torch.Tensor:
    """``a``, ``b`` (N, D) L2-normalised; row i of ``a`` and row i of ``b`` are a positive pair, and each of the 2N
    rows has the other 2N - 2 as negatives. The cross-entropy of each row's partner among the others, averaged over
    the 2N rows (as the reference: summed, divided by 2N). ``valid`` (N,) keeps only some pairs (e.g. frames with a
    sentence). Fewer than two pairs: 0, still connected to ``a`` and ``b`` so that every parameter behind them gets
    a (zero) gradient, which DDP requires."""
    if valid is not None:
        a, b = a[valid], b[valid]
    n = a.shape[0]
    if n < 2:
        return (a.sum() + b.sum()) * 0.0
    z = torch.cat([a, b]).float()
    logits = (z @ z.T) / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))  # not itself
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, partner)

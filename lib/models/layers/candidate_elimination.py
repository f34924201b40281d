"""Candidate elimination (OSTrack): drop the search tokens the template centre attends to least.

The sequence is [template tokens (fixed count), remaining search tokens]. ``SearchTokenEliminator`` holds, for one
forward pass, the original (global) positions of the search tokens still in the sequence; each CE block calls it
between its attention and MLP halves, and at the end ``restore`` scatters the kept tokens back into a full,
original-order (B, Nx, C) grid with zeros where tokens were dropped.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def template_centre_rows(grid: tuple[int, int]) -> list[int]:
    """Token indices of the template centre: the middle one of each odd side, the middle two of each even side."""
    height, width = grid
    rows = range((height - 1) // 2, height // 2 + 1)
    cols = range((width - 1) // 2, width // 2 + 1)
    return [r * width + c for r in rows for c in cols]


def template_centre_mask(grid: tuple[int, int], batch: int = 1, device: torch.device | None = None) -> Tensor:
    """(B, H*W) bool mask of ``template_centre_rows`` (1, 2 or 4 tokens), the default CE template mask."""
    mask = torch.zeros(grid[0] * grid[1], dtype=torch.bool, device=device)
    mask[template_centre_rows(grid)] = True
    return mask.expand(batch, -1)


def num_kept(keep_ratio: float, num_tokens: int) -> int:
    """ceil(keep_ratio * num_tokens), at least 1; rounding first so 0.7 * 10 keeps 7, not 8 (float error)."""
    return max(1, math.ceil(round(keep_ratio * num_tokens, 9)))


class SearchTokenEliminator:
    """Per-forward state of candidate elimination.

    The search tokens are scored by the attention they receive from selected template tokens (query rows),
    averaged over those rows and over heads: by default the template centre (``centre_rows``, the same for every
    sample); else ``template_mask`` (B, Nz) bool selects rows per sample. Only the union of the selected rows is
    ever computed by the blocks (``query_rows``). Kept tokens are ordered by score, best first.
    """

    def __init__(self, num_template: int, num_search: int, batch: int, device: torch.device,
                 template_mask: Tensor | None = None, centre_rows: list[int] | None = None) -> None:
        self.num_template = num_template
        self.num_search = num_search
        self.row_weights: Tensor | None = None  # None: every sample averages the same rows equally
        if template_mask is None:
            if not centre_rows:
                raise ValueError("candidate elimination needs a template mask or the template centre rows")
            self.query_rows = torch.tensor(centre_rows, device=device)
        else:
            self.query_rows, self.row_weights = self._rows_from_mask(template_mask.to(device), batch)
        self.kept_index = torch.arange(num_search, device=device).expand(batch, -1)  # global search positions
        self.removed_indexes: list[Tensor] = []

    def _rows_from_mask(self, mask: Tensor, batch: int) -> tuple[Tensor, Tensor]:
        if mask.dtype != torch.bool or mask.shape != (batch, self.num_template):
            raise ValueError(f"ce_template_mask must be a ({batch}, {self.num_template}) bool tensor, got "
                             f"{tuple(mask.shape)} {mask.dtype}")
        counts = mask.sum(dim=1)
        if bool((counts == 0).any()):
            empty = torch.nonzero(counts == 0).flatten().tolist()
            raise ValueError(f"ce_template_mask selects no template token for batch item(s) {empty}")
        rows = torch.nonzero(mask.any(dim=0)).flatten()
        return rows, mask[:, rows].float() / counts[:, None].float()

    @property
    def num_remaining(self) -> int:
        return int(self.kept_index.shape[1])  # int(): a traced shape (ONNX export) is a tensor; CE's counts are fixed

    def scores(self, attention: Tensor, num_tokens: int) -> Tensor:
        """(B, L) attention to each remaining search token, summed over heads and the selected template rows.

        Sums, not means: the constant factor does not change the ranking. ``attention`` is either the rows asked
        for, (B, heads, R, N), or a full map (B, heads, N, N).
        """
        if attention.shape[-2] == num_tokens:  # a full map (the rows asked for are template rows, R < N)
            attention = attention[:, :, self.query_rows]
        to_search = attention[..., self.num_template:]
        if self.row_weights is None:
            return to_search.sum(dim=(1, 2))
        return torch.einsum("bhrs,br->bs", to_search, self.row_weights.to(to_search.dtype))

    def eliminate(self, tokens: Tensor, attention: Tensor | None, keep_ratio: float) -> Tensor:
        """Keep the ceil(keep_ratio * L) best-scored search tokens; record the global positions of the others."""
        if attention is None:
            raise RuntimeError("candidate elimination got no attention rows from the block; a block must return "
                               "attention when given query_rows")
        keep = num_kept(keep_ratio, self.num_remaining)
        order = self.scores(attention, tokens.shape[1]).argsort(dim=1, descending=True)
        kept_local = order[:, :keep]
        self.removed_indexes.append(self.kept_index.gather(1, order[:, keep:]))
        self.kept_index = self.kept_index.gather(1, kept_local)
        kept = tokens[:, self.num_template:].gather(1, kept_local.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))
        return torch.cat([tokens[:, :self.num_template], kept], dim=1)

    def restore(self, tokens: Tensor) -> Tensor:
        """(B, Nz + L, C) -> (B, Nz + Nx, C): kept search tokens back at their positions, zeros elsewhere."""
        batch, _, dim = tokens.shape
        search = tokens.new_zeros(batch, self.num_search, dim).scatter(
            1, self.kept_index.unsqueeze(-1).expand(-1, -1, dim), tokens[:, self.num_template:])
        return torch.cat([tokens[:, :self.num_template], search], dim=1)

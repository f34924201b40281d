"""Centre head: score, size and offset maps on the search feature grid, and box decoding from them.

The score branch returns logits (the loss works in logit space); its last bias starts at the focal-loss prior
log(0.1 / 0.9) = -2.19, so the first steps are not dominated by the many background cells.
"""
from __future__ import annotations

import math

import torch
from torch import nn

SCORE_PRIOR = 0.1


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


def branch(in_channels: int, channels: int, out_channels: int) -> nn.Sequential:
    """Four conv-BN-ReLU layers halving the width (channels, /2, /4, /8), then a 1x1 output conv."""
    widths = [in_channels, channels, channels // 2, channels // 4, channels // 8]
    layers = [conv_bn_relu(a, b) for a, b in zip(widths[:-1], widths[1:])]
    return nn.Sequential(*layers, nn.Conv2d(widths[-1], out_channels, 1))


class CenterHead(nn.Module):
    def __init__(self, in_channels: int, channels: int = 256):
        super().__init__()
        if channels % 8 or channels < 8:
            raise ValueError(f"centre head channels must be a positive multiple of 8, got {channels}")
        self.score = branch(in_channels, channels, 1)
        self.size = branch(in_channels, channels, 2)
        self.offset = branch(in_channels, channels, 2)
        nn.init.constant_(self.score[-1].bias, math.log(SCORE_PRIOR / (1 - SCORE_PRIOR)))

    def forward(self, feat: torch.Tensor) -> dict[str, torch.Tensor]:
        """feat (B, C, F, F) -> score logits (B, 1, F, F), size in (0, 1) (B, 2, F, F), offset (B, 2, F, F)."""
        return {"score_logits": self.score(feat), "size_map": torch.sigmoid(self.size(feat)),
                "offset_map": self.offset(feat)}


def boxes_at_cells(size_map: torch.Tensor, offset_map: torch.Tensor, cell_index: torch.Tensor) -> torch.Tensor:
    """Normalised cx, cy, w, h (B, 4) read at flat cell indices (B,) of the F x F grid."""
    batch, _, height, width = size_map.shape
    gather_index = cell_index.view(batch, 1, 1).expand(batch, 2, 1)
    size = size_map.flatten(2).gather(2, gather_index).squeeze(-1)
    offset = offset_map.flatten(2).gather(2, gather_index).squeeze(-1)
    cx = ((cell_index % width).to(size.dtype) + offset[:, 0]) / width
    cy = (torch.div(cell_index, width, rounding_mode="floor").to(size.dtype) + offset[:, 1]) / height
    return torch.stack([cx, cy, size[:, 0], size[:, 1]], dim=1)


def decode_boxes(score_map: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor) -> torch.Tensor:
    """The box at the best-scoring cell: normalised cx, cy, w, h (B, 4). ``score_map`` may be windowed."""
    return boxes_at_cells(size_map, offset_map, score_map.flatten(1).argmax(dim=1))

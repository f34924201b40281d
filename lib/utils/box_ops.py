"""Box conversions and overlap measures on tensors (..., 4). Normalised or pixel units alike."""
from __future__ import annotations

import torch


def cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def xywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    x, y, w, h = b.unbind(-1)
    return torch.stack([x, y, x + w, y + h], dim=-1)


def xyxy_to_xywh(b: torch.Tensor) -> torch.Tensor:
    x0, y0, x1, y1 = b.unbind(-1)
    return torch.stack([x0, y0, x1 - x0, y1 - y0], dim=-1)


def cxcywh_to_xywh(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, w, h], dim=-1)


def iou_and_giou(a_xyxy: torch.Tensor, b_xyxy: torch.Tensor, eps: float = 1e-7) -> tuple[torch.Tensor, torch.Tensor]:
    """Element-wise IoU and generalised IoU of paired boxes (..., 4) x0, y0, x1, y1.

    Degenerate predictions (x1 < x0) are clamped to zero area instead of raising, so a bad box gives a large but
    finite loss and a gradient, rather than the reference's silent zero loss.
    """
    a_area = (a_xyxy[..., 2] - a_xyxy[..., 0]).clamp(min=0) * (a_xyxy[..., 3] - a_xyxy[..., 1]).clamp(min=0)
    b_area = (b_xyxy[..., 2] - b_xyxy[..., 0]).clamp(min=0) * (b_xyxy[..., 3] - b_xyxy[..., 1]).clamp(min=0)
    lt = torch.maximum(a_xyxy[..., :2], b_xyxy[..., :2])
    rb = torch.minimum(a_xyxy[..., 2:], b_xyxy[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = a_area + b_area - inter
    iou = inter / (union + eps)
    hull = (torch.maximum(a_xyxy[..., 2:], b_xyxy[..., 2:]) - torch.minimum(a_xyxy[..., :2], b_xyxy[..., :2]))
    hull_area = hull.clamp(min=0).prod(-1)
    giou = iou - (hull_area - union) / (hull_area + eps)
    return iou, giou

"""GIoU and L1 losses on normalised boxes, plus the mean IoU for logging."""
from __future__ import annotations

import torch

from lib.utils.box_ops import iou_and_giou


def giou_l1_per_sample(pred_xyxy: torch.Tensor, gt_xyxy: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(GIoU loss, L1 loss, IoU) of each box pair, (N,) each, in fp32 (MLKD gates its terms per sample)."""
    pred_xyxy, gt_xyxy = pred_xyxy.float(), gt_xyxy.float()
    iou, giou = iou_and_giou(pred_xyxy, gt_xyxy)
    return 1 - giou, (pred_xyxy - gt_xyxy).abs().mean(dim=1), iou.detach()


def giou_l1_losses(pred_xyxy: torch.Tensor, gt_xyxy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(GIoU loss, L1 loss, mean IoU) over paired boxes (N, 4): the means of ``giou_l1_per_sample``."""
    giou, l1, iou = giou_l1_per_sample(pred_xyxy, gt_xyxy)
    return giou.mean(), l1.mean(), iou.mean()

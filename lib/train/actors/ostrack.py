"""OSTrack's objective: focal loss on the score map + GIoU and L1 on the decoded box."""
from __future__ import annotations

import math

import torch

from lib.models.heads import boxes_at_cells
from lib.train.actors.base import BaseActor
from lib.train.losses import focal_loss_with_logits, giou_l1_losses
from lib.utils.box_ops import cxcywh_to_xyxy, iou_and_giou, xywh_to_xyxy


def ce_keep_rate(epoch: int, start_epoch: int, warm_epochs: int, final_keep: float) -> float:
    """Candidate-elimination keep rate: 1 (no elimination) until ``start_epoch``, then a cosine ramp down to
    ``final_keep`` over ``warm_epochs`` epochs (OSTrack's warm-up; elimination is unstable on an untrained net)."""
    if epoch < start_epoch:
        return 1.0
    if warm_epochs <= 0 or epoch >= start_epoch + warm_epochs:
        return final_keep
    progress = (epoch - start_epoch) / warm_epochs
    return final_keep + (1.0 - final_keep) * 0.5 * (1.0 + math.cos(math.pi * progress))


class OSTrackActor(BaseActor):
    def keep_rate(self) -> float | None:
        ratios = self.cfg.MODEL.BACKBONE.CE_KEEP_RATIO
        if not ratios:
            return None
        train = self.cfg.TRAIN
        return ce_keep_rate(self.epoch, train.CE_START_EPOCH, train.CE_WARM_EPOCH, float(ratios[0]))

    def __call__(self, batch: dict) -> tuple[torch.Tensor, dict]:
        # processing gives (B, frames, ...); the one-stream model takes one template and one search frame
        out = self.net(batch["template_images"][:, 0], batch["search_images"][:, 0], ce_keep_rate=self.keep_rate())
        return self.compute_losses(out, batch["search_anno"][:, 0], batch["search_heatmap"][:, 0])

    def trained_boxes(self, out: dict, gt_xywh: torch.Tensor) -> torch.Tensor:
        """(B, 4) cx, cy, w, h the box losses are computed on."""
        if self.cfg.TRAIN.BOX_AT_GT_CELL:
            # read the box where the target centre is, so the box branches learn from the first step on,
            # before the score map can point at the right cell
            side = out["size_map"].shape[-1]
            centre = gt_xywh[:, :2] + gt_xywh[:, 2:] / 2
            cell = (centre * side).floor().long().clamp(0, side - 1)
            pred = boxes_at_cells(out["size_map"], out["offset_map"], cell[:, 1] * side + cell[:, 0])
        else:
            pred = out["pred_boxes"][:, 0]
        if not torch.isfinite(pred).all():
            raise FloatingPointError("network produced non-finite boxes")
        return pred

    def compute_losses(self, out: dict, gt_xywh: torch.Tensor, gt_heatmap: torch.Tensor) -> tuple[torch.Tensor, dict]:
        train = self.cfg.TRAIN
        pred = self.trained_boxes(out, gt_xywh)
        giou, l1, iou = giou_l1_losses(cxcywh_to_xyxy(pred), xywh_to_xyxy(gt_xywh))
        focal = focal_loss_with_logits(out["score_logits"][:, 0], gt_heatmap)
        loss = train.GIOU_WEIGHT * giou + train.L1_WEIGHT * l1 + train.FOCAL_WEIGHT * focal
        stats = {"Loss/total": loss.detach(), "Loss/giou": giou.detach(), "Loss/l1": l1.detach(),
                 "Loss/focal": focal.detach(), "IoU": iou}
        if train.BOX_AT_GT_CELL:  # what tracking will see: the box at the best-scoring cell
            with torch.no_grad():
                argmax_iou, _ = iou_and_giou(cxcywh_to_xyxy(out["pred_boxes"][:, 0].float()), xywh_to_xyxy(gt_xywh))
            stats["IoU/argmax"] = argmax_iou.mean()
        return loss, stats

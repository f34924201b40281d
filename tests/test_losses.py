import math

import pytest
import torch

from lib.train.actors.ostrack import ce_keep_rate
from lib.train.losses import focal_loss_with_logits, giou_l1_losses
from lib.utils.box_ops import cxcywh_to_xyxy, iou_and_giou, xywh_to_xyxy, xyxy_to_xywh


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_focal_loss_matches_hand_computation():
    logits = torch.tensor([[[2.0, -1.0], [0.5, -3.0]]])       # (1, 2, 2)
    target = torch.tensor([[[1.0, 0.5], [0.0, 0.25]]])
    p = [sigmoid(v) for v in (2.0, -1.0, 0.5, -3.0)]
    pos = -math.log(p[0]) * (1 - p[0]) ** 2
    neg = (-math.log(1 - p[1]) * p[1] ** 2 * 0.5 ** 4 - math.log(1 - p[2]) * p[2] ** 2 * 1.0
           - math.log(1 - p[3]) * p[3] ** 2 * 0.75 ** 4)
    assert focal_loss_with_logits(logits, target).item() == pytest.approx(pos + neg, rel=1e-6)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_focal_loss_finite_for_confident_cells_under_low_precision(dtype):
    # logits this large make sigmoid round to exactly 1 (or 0) in fp16/bf16: the reference's log(1 - p) = -inf
    logits = torch.tensor([[[30.0, -30.0], [25.0, 12.0]]], requires_grad=True)
    target = torch.tensor([[[1.0, 0.0], [0.0, 0.3]]])
    with torch.autocast("cpu", dtype=dtype):
        loss = focal_loss_with_logits(logits.to(dtype), target)
    loss.backward()
    assert torch.isfinite(loss) and loss.dtype == torch.float32
    assert torch.isfinite(logits.grad).all()
    assert loss.item() > 10  # the confident wrong cell at (1, 0) must be punished, not ignored


def test_giou_and_l1_on_hand_made_boxes():
    pred, gt = torch.tensor([[0.0, 0.0, 2.0, 2.0]]), torch.tensor([[1.0, 1.0, 3.0, 3.0]])
    giou_loss, l1, iou = giou_l1_losses(pred, gt)
    assert iou.item() == pytest.approx(1 / 7, rel=1e-5)
    assert giou_loss.item() == pytest.approx(1 - (1 / 7 - 2 / 9), rel=1e-5)
    assert l1.item() == pytest.approx(1.0)
    same_loss, same_l1, same_iou = giou_l1_losses(gt, gt)
    assert same_loss.item() == pytest.approx(0, abs=1e-6) and same_iou.item() == pytest.approx(1, abs=1e-6)


def test_degenerate_prediction_gives_finite_loss_and_gradient():
    pred = torch.tensor([[0.5, 0.5, 0.2, 0.1]], requires_grad=True)  # x1 < x0: inverted box
    giou_loss, l1, iou = giou_l1_losses(pred, torch.tensor([[0.1, 0.1, 0.4, 0.4]]))
    (giou_loss + l1).backward()  # the reference replaced a failing GIoU by a zero loss and no gradient
    assert torch.isfinite(giou_loss) and giou_loss.item() >= 1 and iou.item() == 0
    assert pred.grad.abs().sum() > 0


def test_box_conversions_round_trip():
    b = torch.tensor([[0.5, 0.4, 0.2, 0.1]])
    assert torch.allclose(cxcywh_to_xyxy(b), torch.tensor([[0.4, 0.35, 0.6, 0.45]]))
    xywh = torch.tensor([[3.0, 4.0, 5.0, 6.0]])
    assert torch.equal(xyxy_to_xywh(xywh_to_xyxy(xywh)), xywh)
    iou, giou = iou_and_giou(xywh_to_xyxy(xywh), xywh_to_xyxy(xywh + torch.tensor([[10.0, 0, 0, 0]])))
    assert iou.item() == 0 and giou.item() < 0


def test_ce_keep_rate_schedule():
    assert ce_keep_rate(0, 20, 80, 0.7) == 1.0 and ce_keep_rate(19, 20, 80, 0.7) == 1.0
    assert ce_keep_rate(20, 20, 80, 0.7) == pytest.approx(1.0)
    assert ce_keep_rate(60, 20, 80, 0.7) == pytest.approx(0.85)
    assert ce_keep_rate(100, 20, 80, 0.7) == 0.7 and ce_keep_rate(250, 20, 80, 0.7) == 0.7

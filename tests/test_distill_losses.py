"""MLKD's distillation terms (lib/train/losses/distill.py): each zero when the student equals the teacher and
positive otherwise, per sample; the response gate per sample, per batch and off; a hand-computed response KL."""
from __future__ import annotations

import math

import pytest
import torch

from lib.train.losses import attention_loss, hint_loss, response_gate, response_loss, spatial_loss


def outputs(seed: int, batch: int = 3, side: int = 4) -> dict:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, 1, side, side, generator=g)
    return {"score_logits": logits, "score_map": torch.sigmoid(logits),
            "size_map": torch.rand(batch, 2, side, side, generator=g),
            "offset_map": torch.rand(batch, 2, side, side, generator=g)}


def attention(seed: int, batch: int = 3, heads: int = 2, n: int = 20) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, heads, n, n, generator=g).softmax(dim=-1)


def test_every_term_is_zero_for_a_perfect_student_and_positive_otherwise():
    g = torch.Generator().manual_seed(0)
    tokens = torch.randn(3, 16, 8, generator=g)
    other = torch.randn(3, 16, 8, generator=g)
    teacher, student = outputs(1), outputs(2)
    cases = {
        "hint": (hint_loss(tokens, tokens), hint_loss(other, tokens)),
        # spatial compares channel-mean maps: a student of another width with the same layout is perfect
        "spatial": (spatial_loss(tokens.repeat(1, 1, 2), tokens), spatial_loss(other, tokens)),
        "response": (response_loss(teacher, teacher, tau=4.0), response_loss(student, teacher, tau=4.0)),
        "attention": (attention_loss(attention(3), attention(3), 4), attention_loss(attention(4), attention(3), 4)),
    }
    for name, (perfect, imperfect) in cases.items():
        assert perfect.shape == imperfect.shape == (3,), name
        torch.testing.assert_close(perfect, torch.zeros(3), atol=1e-6, rtol=0, msg=name)
        assert bool((imperfect > 1e-4).all()), name


def test_response_kl_by_hand():
    """Two cells, tau 2: p = softmax(logits / 2); KL(p_t || p_s) * 4; maps equal, so no L1 term."""
    teacher, student = outputs(0, batch=1, side=1), outputs(0, batch=1, side=1)
    for out, logits in ((teacher, [2.0, 0.0]), (student, [0.0, 0.0])):
        out["score_logits"] = torch.tensor(logits).view(1, 1, 1, 2)
        out["score_map"] = torch.sigmoid(out["score_logits"])
        out["size_map"] = out["offset_map"] = torch.zeros(1, 2, 1, 2)
    p_t = [math.exp(1) / (math.exp(1) + 1), 1 / (math.exp(1) + 1)]
    expected = 4 * sum(p * math.log(p / 0.5) for p in p_t)
    assert response_loss(student, teacher, tau=2.0).item() == pytest.approx(expected, rel=1e-5)


def test_response_only_gets_gradient_where_the_gate_is_open():
    teacher, student = outputs(1), outputs(2)
    student["score_logits"].requires_grad_(True)
    gate = response_gate(torch.tensor([1.0, 0.2, 0.5]), torch.tensor([0.5, 0.5, 0.5]), "sample")
    assert gate.tolist() == [1.0, 0.0, 1.0]  # worse than (or as good as) the teacher: distil
    (gate * response_loss(student, teacher, tau=4.0)).sum().backward()
    grad = student["score_logits"].grad.flatten(1).abs().sum(dim=1)
    assert grad[1] == 0 and grad[0] > 0 and grad[2] > 0


def test_gate_modes():
    student, teacher = torch.tensor([1.0, 0.2, 0.3]), torch.tensor([0.5, 0.5, 0.5])
    assert response_gate(student, teacher, "batch").tolist() == [1.0, 1.0, 1.0]  # mean 0.5 >= 0.5
    assert response_gate(student - 0.1, teacher, "batch").tolist() == [0.0, 0.0, 0.0]
    assert response_gate(student, teacher, "off").tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="'always'.*sample, batch, off"):
        response_gate(student, teacher, "always")


def test_per_sample_ground_truth_losses_average_to_the_batch_losses():
    from lib.train.losses import focal_loss_per_sample, focal_loss_with_logits, giou_l1_losses, giou_l1_per_sample
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 1, 4, 4, generator=g)
    target = torch.rand(3, 1, 4, 4, generator=g) * 0.9
    target[0, 0, 1, 2] = target[1, 0, 3, 3] = target[2, 0, 0, 0] = 1.0  # one centre cell each
    per = focal_loss_per_sample(logits, target)
    assert per.shape == (3,) and bool((per > 0).all())
    torch.testing.assert_close(per.mean(), focal_loss_with_logits(logits, target))
    torch.testing.assert_close(focal_loss_per_sample(logits[1:2], target[1:2])[0], per[1])  # each sample alone
    pred = torch.tensor([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.4, 0.6]])
    gt = torch.tensor([[0.1, 0.1, 0.5, 0.5], [0.3, 0.1, 0.6, 0.5]])
    giou, l1, iou = giou_l1_per_sample(pred, gt)
    assert giou[0].item() == pytest.approx(0.0, abs=1e-5) and iou[0].item() == pytest.approx(1.0)
    assert l1[0].item() == 0.0
    assert giou[1] > 0 and l1[1] > 0
    batch = giou_l1_losses(pred, gt)
    for mine, theirs in zip((giou, l1, iou), batch):
        torch.testing.assert_close(mine.mean(), theirs)

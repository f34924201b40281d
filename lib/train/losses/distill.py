"""MLKD's distillation terms (``mlkd_spec.md`` §6.c): one per student kind, each zero when the student's output
equals the teacher's and positive otherwise, each returned per sample (B,) so the actor can gate and reduce.

* ``hint``: MSE between the student's search tokens (projected to the teacher's width by the student's adapter)
  and the teacher's;
* ``spatial``: the channel-mean map of the search tokens (take them before a final LayerNorm, which zeroes every
  token's channel mean), normalised per sample (so the two networks' feature scales do not matter), through four
  directional differences (right, down and both diagonals); MSE between the
  teacher's and the student's difference maps (MLKD's "Spa", on a properly reshaped token grid);
* ``response``: KL(teacher || student) of the score logits under a spatial softmax at temperature tau, times tau^2
  (the reference's KD ran over the batch axis), plus L1 between the size and offset maps weighted by the teacher's
  score map;
* ``attention``: KL(teacher || student) of the head-averaged attention rows of the search queries, per row;
  the grids match (students take the teacher's crop sizes and patch size).

``response_gate`` says which samples get the response term: those where the student does worse than the teacher on
the ground truth (``sample``), all of a batch where it does on average (``batch``, MLKD's), or all (``off``).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

DISTILL_KINDS = ("hint", "spatial", "response", "attention")
GATE_MODES = ("sample", "batch", "off")


def hint_loss(student_tokens: Tensor, teacher_tokens: Tensor) -> Tensor:
    """(B, N, C) projected student tokens vs (B, N, C) teacher tokens -> (B,) mean squared difference."""
    return (student_tokens - teacher_tokens).pow(2).flatten(1).mean(dim=1)


def _direction_maps(tokens: Tensor) -> Tensor:
    """(B, N, C) search tokens on a square grid -> (B, 4, side-1, side-1) directional differences of the per-sample
    normalised channel-mean map."""
    side = math.isqrt(tokens.shape[1])
    grid = tokens.mean(dim=2).view(-1, side, side)
    grid = grid - grid.mean(dim=(1, 2), keepdim=True)
    grid = grid / (grid.flatten(1).norm(dim=1) + 1e-3)[:, None, None]  # eps: a flat map stays small, no blow-up
    core = grid[:, :-1, :-1]
    return torch.stack([grid[:, :-1, 1:] - core, grid[:, 1:, :-1] - core, grid[:, 1:, 1:] - core,
                        grid[:, 1:, :-1] - grid[:, :-1, 1:]], dim=1)


def spatial_loss(student_tokens: Tensor, teacher_tokens: Tensor) -> Tensor:
    """(B, N, Cs) and (B, N, Ct) search tokens (widths may differ) -> (B,) MSE of their directional maps."""
    return (_direction_maps(student_tokens) - _direction_maps(teacher_tokens)).pow(2).flatten(1).sum(dim=1)


def response_loss(student: dict, teacher: dict, tau: float) -> Tensor:
    """Score-map KL (spatial softmax at ``tau``, times tau^2) plus score-weighted L1 of the size and offset maps;
    ``student`` / ``teacher`` hold ``score_logits`` (B, 1, H, W), ``size_map`` and ``offset_map`` (B, 2, H, W)."""
    s_logits, t_logits = student["score_logits"].flatten(1), teacher["score_logits"].flatten(1)
    log_p_s = F.log_softmax(s_logits / tau, dim=1)
    log_p_t = F.log_softmax(t_logits / tau, dim=1)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1) * tau ** 2
    weight = teacher["score_map"].flatten(1)
    weight = weight / weight.sum(dim=1, keepdim=True).clamp(min=1e-6)
    l1 = sum((student[k] - teacher[k]).abs().sum(dim=1).flatten(1) for k in ("size_map", "offset_map"))
    return kl + (weight * l1).sum(dim=1)


def attention_loss(student_attention: Tensor, teacher_attention: Tensor, num_template: int) -> Tensor:
    """(B, heads, N, N) attention maps of one block each (head counts may differ) -> (B,) KL(teacher || student)
    of the head-averaged rows of the search queries, averaged over those rows."""
    p_s = student_attention.mean(dim=1)[:, num_template:]
    p_t = teacher_attention.mean(dim=1)[:, num_template:]
    kl = (p_t * (p_t.clamp(min=1e-12).log() - p_s.clamp(min=1e-12).log())).sum(dim=-1)
    return kl.mean(dim=1)


def response_gate(student_gt: Tensor, teacher_gt: Tensor, mode: str) -> Tensor:
    """(B,) 1.0 where the response term applies: the student's ground-truth loss is at least the teacher's, per
    sample (``sample``) or on the batch mean (``batch``); everywhere with ``off``."""
    if mode == "sample":
        return (student_gt >= teacher_gt).to(student_gt.dtype)
    if mode == "batch":
        return (student_gt.mean() >= teacher_gt.mean()).to(student_gt.dtype).expand_as(student_gt)
    if mode == "off":
        return torch.ones_like(student_gt)
    raise ValueError(f"response gate {mode!r}: expected one of {', '.join(GATE_MODES)}")

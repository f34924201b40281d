"""MLKD's mutual-learning room (``mlkd_spec.md`` §3, §6.d): each step the students elect the best of them, and
every other student learns from the elected one's detached outputs as well as from the teacher.

Election criteria (``elect_scores``), higher is better:

* ``psr``: the score map's peak-to-second-peak ratio, done as MLKD meant it: per sample, the highest cell over the
  highest other local maximum (3x3 non-maximum suppression, the top peak's 3x3 neighbourhood excluded), then the
  batch mean (MLKD's version compared sorted raw values, mostly neighbours of the same peak);
* ``iou``: the mean IoU of the student's boxes with the ground truth;
* ``loss``: minus the student's ground-truth loss.

``elect`` makes every rank elect the same student: the score vector is averaged over ranks before the argmax (ties
go to the lowest index, as in MLKD). The actor that runs the room comes with the ``mlkd`` family.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lib.train.admin.distributed import all_reduce_mean
from lib.train.losses.distill import response_loss

ELECTION_CRITERIA = ("psr", "iou", "loss")


def peak_to_second_peak(score_map: Tensor, eps: float = 1e-6) -> Tensor:
    """(B, 1, H, W) scores in [0, 1] -> (B,) top peak / (second local maximum + eps); a map with one peak only
    divides by eps."""
    batch, _, height, width = score_map.shape
    flat = score_map.flatten(1)
    top_value, top = flat.max(dim=1)
    local_max = score_map.eq(F.max_pool2d(score_map, 3, stride=1, padding=1)).flatten(1)
    rows = torch.arange(height, device=score_map.device).repeat_interleave(width)
    cols = torch.arange(width, device=score_map.device).repeat(height)
    near_top = ((rows[None] - (top // width)[:, None]).abs() <= 1) & ((cols[None] - (top % width)[:, None]).abs() <= 1)
    second = torch.where(local_max & ~near_top, flat, torch.zeros_like(flat)).max(dim=1).values
    return top_value / (second + eps)


def elect_scores(criterion: str, outs: list[dict], ious: list[Tensor] | None = None,
                 gt_losses: list[Tensor] | None = None) -> Tensor:
    """(K,) how good each student is on this batch by ``criterion`` (higher is better; no gradient)."""
    with torch.no_grad():
        if criterion == "psr":
            return torch.stack([peak_to_second_peak(out["score_map"].float()).mean() for out in outs])
        if criterion == "iou":
            return torch.stack([iou.float().mean() for iou in ious])
        if criterion == "loss":
            return torch.stack([-loss.float().mean() for loss in gt_losses])
    raise ValueError(f"election criterion {criterion!r}: expected one of {', '.join(ELECTION_CRITERIA)}")


def elect(scores: Tensor) -> int:
    """The index of the best student, the same on every rank: scores averaged over ranks, then the first maximum."""
    scores = all_reduce_mean(scores.detach().float().clone())
    return int(torch.argmax(scores))


def peer_loss(student: dict, elected: dict, tau: float) -> Tensor:
    """(B,) what a student learns from the elected one: the response term towards its detached outputs."""
    target = {k: elected[k].detach() for k in ("score_logits", "score_map", "size_map", "offset_map")}
    return response_loss(student, target, tau)

"""MLKD's mutual-learning room (``mlkd_spec.md`` §3, §6.d): each step the students elect the best of them, and
every other student learns from the elected one's detached outputs as well as from the teacher.

Election criteria (``elect_scores``), higher is better:

* ``psr``: the score map's peak-to-second-peak ratio, done as MLKD meant it: per sample, the highest cell over the
  highest other local maximum (3x3 non-maximum suppression, the top peak's 3x3 neighbourhood excluded), then the
  batch mean (MLKD's version compared sorted raw values, mostly neighbours of the same peak);
* ``iou``: the mean IoU of the student's boxes with the ground truth;
* ``loss``: minus the student's ground-truth loss.

``elect`` makes every rank elect the same student: the score vector is averaged over ranks before the argmax (ties
go to the lowest index, as in MLKD). ``MLKDActor`` runs the room, the teacher and the students' own terms.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lib.train.actors.ostrack import OSTrackActor
from lib.train.admin.distributed import all_reduce_mean
from lib.train.losses import focal_loss_per_sample, giou_l1_per_sample
from lib.train.losses.distill import attention_loss, hint_loss, response_gate, response_loss, spatial_loss
from lib.utils.box_ops import cxcywh_to_xyxy, xywh_to_xyxy

ELECTION_CRITERIA = ("psr", "iou", "loss")


def peak_to_second_peak(score_map: Tensor, eps: float = 1e-6) -> Tensor:
    """(B, 1, H, W) scores in [0, 1] -> (B,) top peak / (second local maximum + eps); a map with one peak only
    divides by eps."""
    _, _, height, width = score_map.shape
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


class MLKDActor(OSTrackActor):
    """One step of MLKD: the teacher once (no gradient), every student once (one forward of the pool), then per
    student k: its ground-truth loss + its distillation term (the response term gated per ``MLKD.GATE``) + with
    ``MLKD.MUTUAL.ENABLED`` and k not elected, the peer term (gated per ``MLKD.MUTUAL.GATE``: by default only on
    the samples where the elected student's ground-truth loss is not higher than k's). The students' parameters
    are disjoint and every target is detached, so one backward of the sum gives each student its own gradient.
    Stats per student under ``S<k>/``; ``S<k>/elected`` averages to the share of steps it was elected."""

    def __init__(self, net, cfg):
        super().__init__(net, cfg)
        from lib.models.mlkd import build_teacher
        from lib.models.mlkd.students import LAST_BLOCK_KINDS
        teacher = cfg.MLKD.TEACHER
        pool = net.module if isinstance(net, torch.nn.parallel.DistributedDataParallel) else net
        self.kinds = pool.kinds
        blocks = []
        if set(self.kinds) & set(LAST_BLOCK_KINDS):
            from lib.config import load_config
            blocks = [load_config(teacher.SCRIPT, teacher.CONFIG).MODEL.BACKBONE.DEPTH - 1]
        self.teacher = build_teacher(teacher.SCRIPT, teacher.CONFIG, teacher.CHECKPOINT or None,
                                     teacher.ENHANCER or None, blocks=blocks)
        self.num_template = pool.students[0].backbone.num_template_tokens
        grids = {name: (net.backbone.num_template_tokens, net.backbone.num_search_tokens)
                 for name, net in (("teacher", self.teacher.tracker), ("students", pool.students[0]))}
        if grids["teacher"] != grids["students"]:
            raise ValueError(f"MLKD.TEACHER {teacher.SCRIPT}/{teacher.CONFIG} has (template, search) token grids of "
                             f"{grids['teacher']} tokens, the students {grids['students']}: give the students the "
                             f"teacher's crop sizes and patch size, so their token maps line up")

    def extra_modules(self) -> list[torch.nn.Module]:
        return [self.teacher]

    def ground_truth_terms(self, out: dict, gt_xywh: Tensor, gt_heatmap: Tensor) -> tuple[Tensor, Tensor]:
        """(B,) ground-truth loss (OSTrack's weighted focal + GIoU + L1) and (B,) IoU of each sample."""
        train = self.cfg.TRAIN
        giou, l1, iou = giou_l1_per_sample(cxcywh_to_xyxy(self.trained_boxes(out, gt_xywh)), xywh_to_xyxy(gt_xywh))
        focal = focal_loss_per_sample(out["score_logits"][:, 0], gt_heatmap)
        return train.GIOU_WEIGHT * giou + train.L1_WEIGHT * l1 + train.FOCAL_WEIGHT * focal, iou

    def distill_term(self, kind: str, out: dict, teacher: dict, gate: Tensor) -> Tensor:
        """(B,) student ``kind``'s distillation term against the teacher's outputs."""
        if kind == "hint":
            return hint_loss(out["hint_tokens"], teacher["backbone"]["search_tokens"])
        if kind == "spatial":  # the last block's search tokens, before the final LayerNorm
            (student_tokens,) = out["backbone"]["block_tokens"].values()
            (teacher_tokens,) = teacher["backbone"]["block_tokens"].values()
            return spatial_loss(student_tokens[:, self.num_template:], teacher_tokens[:, self.num_template:])
        if kind == "response":
            return gate * response_loss(out, teacher, self.cfg.MLKD.TAU)
        (student_attention,) = out["backbone"]["block_attention"].values()
        (teacher_attention,) = teacher["backbone"]["block_attention"].values()
        return attention_loss(student_attention, teacher_attention, self.num_template)

    def __call__(self, batch: dict) -> tuple[Tensor, dict]:
        mlkd = self.cfg.MLKD
        template, search = batch["template_images"][:, 0], batch["search_images"][:, 0]
        gt, heatmap = batch["search_anno"][:, 0], batch["search_heatmap"][:, 0]
        if "search_teacher_images" in batch:  # cut from the cached enhanced frames (MLKD.TEACHER.FRAME_CACHE)
            teacher = self.teacher(batch["template_teacher_images"][:, 0], batch["search_teacher_images"][:, 0],
                                   enhanced=True)
        else:
            teacher = self.teacher(template, search)
        teacher_gt, teacher_iou = self.ground_truth_terms(teacher, gt, heatmap)
        outs = self.net(template, search)
        stats: dict = {"Teacher/Loss/gt": teacher_gt.mean(), "Teacher/IoU": teacher_iou.mean()}
        losses, gt_losses, ious = [], [], []
        for k, (out, kind) in enumerate(zip(outs, self.kinds)):
            gt_loss, iou = self.ground_truth_terms(out, gt, heatmap)
            gate = response_gate(gt_loss.detach(), teacher_gt, mlkd.GATE)
            distill = self.distill_term(kind, out, teacher, gate)
            losses.append(gt_loss.mean() + mlkd.STUDENTS.DISTILL_WEIGHT[k] * distill.mean())
            gt_losses.append(gt_loss.detach())
            ious.append(iou)
            stats.update({f"S{k}/Loss/gt": gt_loss.detach().mean(), f"S{k}/Loss/{kind}": distill.detach().mean(),
                          f"S{k}/IoU": iou.mean()})
            if kind == "response":
                stats[f"S{k}/gate_open"] = gate.mean()
        if mlkd.MUTUAL.ENABLED and len(outs) > 1:
            elected = elect(elect_scores(mlkd.MUTUAL.ELECT, outs, ious=ious, gt_losses=gt_losses))
            for k, out in enumerate(outs):
                stats[f"S{k}/elected"] = torch.tensor(float(k == elected))
                if k != elected:  # like the teacher's response term: only where the elected one does better
                    gate = response_gate(gt_losses[k], gt_losses[elected], mlkd.MUTUAL.GATE)
                    peer = gate * peer_loss(out, outs[elected], mlkd.TAU)
                    losses[k] = losses[k] + mlkd.MUTUAL.WEIGHT * peer.mean()
                    stats[f"S{k}/Loss/peer"] = peer.detach().mean()
                    stats[f"S{k}/peer_gate_open"] = gate.mean()
        loss = torch.stack(losses).sum()
        stats["Loss/total"] = loss.detach()
        stats["IoU"] = torch.stack([iou.mean() for iou in ious]).mean()
        return loss, stats

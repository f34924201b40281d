"""MLKD's students: several compact one-stream trackers trained side by side (``mlkd_spec.md`` §6.c).

``StudentPool`` is the network the trainer optimises: a ``ModuleList`` of ordinary ``ostrack``-family trackers
(each its own width, depth and head) run in one forward, since DDP allows one forward per backward, plus what
each student's distillation term needs (``lib/train/losses/distill.py``):

* ``hint``: an adapter (Linear + LayerNorm) from the student's width to the teacher's, output ``hint_tokens``;
* ``attention`` and ``spatial``: the attention and tokens of its last block (``backbone.block_attention`` /
  ``block_tokens``; the spatial map needs tokens before the final LayerNorm, which leaves every token's channel
  mean at zero);
* ``response`` uses what every tracker outputs (score / size / offset maps).

Every student is a plain ``OSTrack``: ``student_state_dict(k)`` is a checkpoint the test-time loader of the
``ostrack`` family takes as it is (MLKD-Track).
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

from torch import Tensor, nn

from lib.models.ostrack import OSTrack, build_ostrack
from lib.train.losses.distill import DISTILL_KINDS

LAST_BLOCK_KINDS = ("attention", "spatial")  # kinds that read the last block's attention or pre-norm tokens


class StudentPool(nn.Module):
    def __init__(self, students: Sequence[OSTrack], kinds: Sequence[str], teacher_dim: int,
                 backbone_multipliers: Sequence[float] | None = None,
                 pretrain_files: Sequence[str] | None = None) -> None:
        super().__init__()
        if len(students) != len(kinds) or not students:
            raise ValueError(f"{len(students)} students for {len(kinds)} distillation kinds: one kind per student")
        bad = [k for k in kinds if k not in DISTILL_KINDS]
        if bad:
            raise ValueError(f"unknown distillation kinds {bad}; expected {', '.join(DISTILL_KINDS)}")
        self.students = nn.ModuleList(students)
        self.kinds = tuple(kinds)
        self.backbone_multipliers = tuple(backbone_multipliers or [1.0] * len(students))
        self.pretrain_files = tuple(pretrain_files or [""] * len(students))
        self.adapters = nn.ModuleDict({
            str(k): nn.Sequential(nn.Linear(s.backbone.embed_dim, teacher_dim), nn.LayerNorm(teacher_dim, eps=1e-6))
            for k, (s, kind) in enumerate(zip(students, kinds)) if kind == "hint"})

    def forward(self, template: Tensor, search: Tensor) -> list[dict]:
        outs = []
        for k, (student, kind) in enumerate(zip(self.students, self.kinds)):
            last = [len(student.backbone.blocks) - 1] if kind in LAST_BLOCK_KINDS else False
            out = student(template, search, return_intermediates=last)
            if kind == "hint":
                out["hint_tokens"] = self.adapters[str(k)](out["backbone"]["search_tokens"])
            outs.append(out)
        return outs

    def load_pretrained(self) -> None:
        """Each student's backbone from its ``pretrain_files`` entry ('' = random init): a timm / DeiT / MAE ViT of
        the student's width, of which a shallower student takes the first blocks."""
        from lib.models.backbones.pretrained import load_pretrained_vit
        for student, file in zip(self.students, self.pretrain_files):
            if file:
                load_pretrained_vit(student.backbone, file, first_blocks=True)

    def clip_groups(self) -> list[list[nn.Parameter]]:
        """One gradient-clipping group per student (with its adapter): the trainer clips each on its own, as MLKD
        clipped each student's gradient, so one student's large gradient never shrinks another's step."""
        return [list(student.parameters()) + (list(self.adapters[str(k)].parameters()) if str(k) in self.adapters
                                              else []) for k, student in enumerate(self.students)]

    def lr_parts(self) -> dict[str, float]:
        """Parameter-name prefixes with their own LR multiplier (``lib.train.optim.parameter_groups``): each
        student's backbone."""
        return {f"students.{k}.backbone": m for k, m in enumerate(self.backbone_multipliers)}

    def student_state_dict(self, k: int) -> dict:
        """Student ``k``'s weights as a plain ``ostrack``-family network (no adapter)."""
        return self.students[k].state_dict()


def student_config(cfg, spec: dict):
    """A copy of the one-stream config ``cfg`` with the backbone of ``spec`` (``EMBED_DIM``, ``DEPTH``,
    ``NUM_HEADS``): the config an exported student is tested with."""
    out = copy.deepcopy(cfg)
    for key in ("EMBED_DIM", "DEPTH", "NUM_HEADS"):
        out.MODEL.BACKBONE[key] = spec[key]
    return out


def build_student_pool(cfg, specs: Sequence[dict], teacher_dim: int) -> StudentPool:
    """Students from a one-stream config and one spec per student: ``EMBED_DIM``, ``DEPTH``, ``NUM_HEADS``,
    ``KIND`` (hint, spatial, response or attention), optionally ``BACKBONE_MULTIPLIER`` and ``PRETRAIN_FILE``."""
    return StudentPool([build_ostrack(student_config(cfg, spec)) for spec in specs],
                       [spec["KIND"] for spec in specs], teacher_dim,
                       [spec.get("BACKBONE_MULTIPLIER", 1.0) for spec in specs],
                       [spec.get("PRETRAIN_FILE", "") for spec in specs])


def student_specs(cfg) -> list[dict]:
    """One spec per student from ``MLKD.STUDENTS`` (parallel lists)."""
    students = cfg.MLKD.STUDENTS
    return [{key: students[key][k] for key in students} for k in range(len(students.KIND))]


def build_mlkd(cfg) -> StudentPool:
    """The network the ``mlkd`` family trains: the student pool of ``MLKD.STUDENTS``, hint adapters sized for the
    teacher of ``MLKD.TEACHER``."""
    from lib.config import load_config
    teacher = cfg.MLKD.TEACHER
    teacher_dim = load_config(teacher.SCRIPT, teacher.CONFIG).MODEL.BACKBONE.EMBED_DIM
    return build_student_pool(cfg, student_specs(cfg), teacher_dim)


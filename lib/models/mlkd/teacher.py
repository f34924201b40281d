"""MLKD's teacher: a frozen low-light enhancer in front of a trained tracker of ours (``mlkd_spec.md`` §1, §6.b).

Both crops (template and search) go through ``FrozenEnhancer`` (DarkLighter; none for a day teacher on bright
data), then through the tracker with candidate elimination off (``ce_keep_rate=1``: every search token stays, so
token maps line up with a student's) and, when asked, the tokens and attention of chosen blocks. The teacher is
never trained: no parameter takes a gradient, it stays in eval mode whatever ``train()`` says, and it runs under
``torch.no_grad``. An actor holds it beside its ``net`` (``BaseActor.extra_modules``), so the trainer moves it to
the device but never optimises, wraps in DDP or checkpoints it.

Outputs are the tracker's: ``score_logits``, ``score_map``, ``size_map``, ``offset_map``, ``pred_boxes``, and under
``backbone`` the search tokens and, for ``blocks``, ``block_tokens`` / ``block_attention`` (dicts by block index).
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lib.models.enhancer import FrozenEnhancer


class Teacher(nn.Module):
    def __init__(self, tracker: nn.Module, enhancer: FrozenEnhancer | None = None, blocks: Sequence[int] = ()):
        super().__init__()
        self.tracker = tracker.eval().requires_grad_(False)
        self.enhancer = enhancer
        self.blocks = tuple(int(b) for b in blocks)
        self.tracker.backbone.intermediate_blocks(self.blocks)  # an unknown block is an error now, not mid-training
        self.training = False

    def train(self, mode: bool = True) -> "Teacher":
        return self  # always eval: a teacher is fixed

    @torch.no_grad()
    def forward(self, template: Tensor, search: Tensor, enhanced: bool = False, **text) -> dict:
        """Normalised crops (B, 3, H, W) in (``enhanced``: already enhanced, cut from cached enhanced frames);
        ``text`` (``text_ids`` / ``text_mask`` / ``text_valid``) for a language tracker."""
        if self.enhancer is not None and not enhanced:
            template, search = self.enhancer(template), self.enhancer(search)
        return self.tracker(template, search, ce_keep_rate=1.0, return_intermediates=self.blocks, **text)


def build_teacher(script: str, config: str, checkpoint: str | os.PathLike | None = None,
                  enhancer_weights: str | os.PathLike | None = None, blocks: Sequence[int] = ()) -> Teacher:
    """A teacher from a trained tracker of ours (family ``script``, e.g. ostrack or avltrack, its ``config`` and
    checkpoint: default epoch TEST.EPOCH under the output root, as ``tracking/test.py`` finds it) and, with
    ``enhancer_weights``, DarkLighter in front (a path, or a name under ``pretrained_models/``)."""
    from lib.config import load_config
    from lib.models import build_network
    from lib.test.tracker.build import load_tracker_weights, resolve_checkpoint
    cfg = load_config(script, config)
    tracker = build_network(cfg, load_pretrained=False)
    load_tracker_weights(tracker, resolve_checkpoint(script, config, checkpoint), script, config)
    enhancer = FrozenEnhancer.from_file(enhancer_weights) if enhancer_weights else None
    return Teacher(tracker, enhancer, blocks)

"""OSTrack: a one-stream ViT over [template, search] tokens, then a centre head on the search tokens."""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from lib.models.heads import CenterHead, decode_boxes


class OSTrack(nn.Module):
    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, template: torch.Tensor, search: torch.Tensor, ce_template_mask: torch.Tensor | None = None,
                ce_keep_rate: float | None = None, return_intermediates: bool | Iterable[int] = False) -> dict:
        feats = self.backbone(template, search, ce_template_mask=ce_template_mask, ce_keep_rate=ce_keep_rate,
                              return_intermediates=return_intermediates)
        return self.predict(feats)

    def predict(self, feats: dict) -> dict:
        """The head on the backbone's search tokens: score logits and map, size and offset maps, decoded boxes."""
        tokens = feats["search_tokens"]                       # (B, Nx, C), original token order
        batch, num_tokens, channels = tokens.shape
        side = math.isqrt(num_tokens)
        feat = tokens.transpose(1, 2).reshape(batch, channels, side, side)
        out = self.head(feat)
        out["score_map"] = torch.sigmoid(out["score_logits"])
        out["pred_boxes"] = decode_boxes(out["score_map"], out["size_map"], out["offset_map"]).unsqueeze(1)
        out["backbone"] = feats
        return out


def build_backbone(cfg, vit_class=None, **extra):
    """The one-stream ViT of ``cfg.MODEL.BACKBONE`` at the training crop sizes (every one-stream family uses it);
    ``vit_class`` a subclass of ``OneStreamViT`` taking ``extra`` keyword arguments too (e.g. ``HaltingViT``)."""
    from lib.models.backbones import OneStreamViT  # local import: the backbone module is heavy to read, not to load
    bb = cfg.MODEL.BACKBONE
    return (vit_class or OneStreamViT)(
        template_size=cfg.DATA.TEMPLATE.SIZE, search_size=cfg.DATA.SEARCH.SIZE, patch_size=bb.PATCH_SIZE,
        embed_dim=bb.EMBED_DIM, depth=bb.DEPTH, num_heads=bb.NUM_HEADS, mlp_ratio=bb.MLP_RATIO,
        drop_path_rate=bb.DROP_PATH_RATE, ce_loc=tuple(bb.CE_LOC), ce_keep_ratio=tuple(bb.CE_KEEP_RATIO), **extra)


def build_ostrack(cfg) -> OSTrack:
    return OSTrack(build_backbone(cfg), CenterHead(cfg.MODEL.BACKBONE.EMBED_DIM, cfg.MODEL.HEAD.NUM_CHANNELS))

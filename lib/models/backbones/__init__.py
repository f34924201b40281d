"""Backbones: the one-stream ViT, its A-ViT token-halting variant, and loading timm-named pretrained weights."""
from lib.models.backbones.pretrained import PretrainedLoadError, load_pretrained_vit, resolve_pretrained_path
from lib.models.backbones.vit_halting import HaltingViT
from lib.models.backbones.vit_onestream import OneStreamViT, token_grid

__all__ = ["HaltingViT", "OneStreamViT", "PretrainedLoadError", "load_pretrained_vit", "resolve_pretrained_path",
           "token_grid"]

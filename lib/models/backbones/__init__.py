"""Backbones: the one-stream ViT and loading timm-named pretrained weights into it."""
from lib.models.backbones.pretrained import PretrainedLoadError, load_pretrained_vit, resolve_pretrained_path
from lib.models.backbones.vit_onestream import OneStreamViT, token_grid

__all__ = ["OneStreamViT", "PretrainedLoadError", "load_pretrained_vit", "resolve_pretrained_path", "token_grid"]

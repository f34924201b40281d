"""Build a network from a config: ``cfg.MODEL.NETWORK`` names the family's builder."""
from __future__ import annotations

from pathlib import Path

from lib.paths import PROJECT_ROOT


def _builders() -> dict:
    from lib.models.ostrack import build_ostrack
    return {"ostrack": build_ostrack}


def pretrained_path(name: str) -> Path:
    """A file name in pretrained_models/, or an absolute path; missing is an error saying where to put it."""
    path = Path(name) if Path(name).is_absolute() else PROJECT_ROOT / "pretrained_models" / name
    if not path.is_file():
        raise FileNotFoundError(f"pretrained weights not found: {path}. Put the file in "
                                f"{PROJECT_ROOT / 'pretrained_models'} (see its README) or set MODEL.PRETRAIN_FILE "
                                f"to an absolute path; use MODEL.PRETRAIN_FILE: '' to train from scratch")
    return path


def build_network(cfg, load_pretrained: bool = True):
    builders = _builders()
    name = cfg.MODEL.NETWORK
    if name not in builders:
        raise KeyError(f"unknown MODEL.NETWORK {name!r}; known: {', '.join(sorted(builders))}")
    net = builders[name](cfg)
    if load_pretrained and cfg.MODEL.PRETRAIN_FILE:
        from lib.models.backbones.pretrained import load_pretrained_vit
        load_pretrained_vit(net.backbone, pretrained_path(cfg.MODEL.PRETRAIN_FILE))
    return net

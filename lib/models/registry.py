"""Build a network from a config: ``cfg.MODEL.NETWORK`` names the family's builder."""
from __future__ import annotations


def _builders() -> dict:
    from lib.models.ostrack import build_ostrack
    return {"ostrack": build_ostrack}


def build_network(cfg, load_pretrained: bool = True):
    builders = _builders()
    name = cfg.MODEL.NETWORK
    if name not in builders:
        raise KeyError(f"unknown MODEL.NETWORK {name!r}; known: {', '.join(sorted(builders))}")
    net = builders[name](cfg)
    if load_pretrained and cfg.MODEL.PRETRAIN_FILE:
        from lib.models.backbones.pretrained import load_pretrained_vit
        load_pretrained_vit(net.backbone, cfg.MODEL.PRETRAIN_FILE)  # a name in pretrained_models/ or a path
    return net

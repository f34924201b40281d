"""Build a network from a config: ``cfg.MODEL.NETWORK`` names the family (``lib/families.py``) whose builder runs."""
from __future__ import annotations

from lib.families import load_part


def build_network(cfg, load_pretrained: bool = True):
    try:
        builder = load_part(cfg.MODEL.NETWORK, "network")
    except KeyError as err:
        raise KeyError(f"MODEL.NETWORK: {err.args[0]}") from None
    net = builder(cfg)
    if load_pretrained and hasattr(net, "load_pretrained"):  # a network of several backbones (MLKD's students)
        net.load_pretrained()
    elif load_pretrained and cfg.MODEL.PRETRAIN_FILE:
        from lib.models.backbones.pretrained import load_pretrained_vit
        load_pretrained_vit(net.backbone, cfg.MODEL.PRETRAIN_FILE)  # a name in pretrained_models/ or a path
    return net

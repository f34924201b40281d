"""Tracker families: adding one is one entry in :data:`FAMILIES`.

A family ``NAME`` is trained with ``tracking/train.py --script NAME``, tested with ``tracking/test.py NAME``, keeps
its defaults in ``lib/config/<NAME>/config.py`` and its trained models in ``experiments/<NAME>/*.yaml``. Its entry
names, as ``"module:attribute"``, the three parts the shared machinery needs:

* ``network``: ``build(cfg) -> nn.Module`` (``MODEL.NETWORK`` of a config names the family whose builder runs);
* ``actor``: ``Actor(net, cfg)``, the training objective (``lib.train.actors.base.BaseActor``);
* ``tracker``: ``Tracker(net, cfg, device)``, the test-time tracker (``initialize`` / ``track``).

The parts are imported only when used, so the test side never imports the training code and reading a config
imports no model.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    network: str
    actor: str
    tracker: str


FAMILIES: dict[str, Family] = {
    "ostrack": Family(network="lib.models.ostrack:build_ostrack",
                      actor="lib.train.actors.ostrack:OSTrackActor",
                      tracker="lib.test.tracker.ostrack:OSTrackTracker"),
    "avltrack": Family(network="lib.models.avltrack:build_avltrack",
                       actor="lib.train.actors.avltrack:AVLTrackActor",
                       tracker="lib.test.tracker.avltrack:AVLTrackTracker"),
    "mlkd": Family(network="lib.models.mlkd.students:build_mlkd",
                   actor="lib.train.actors.mlkd:MLKDActor",
                   tracker="lib.test.tracker.mlkd:MLKDStudentTracker"),
}


def family_names() -> list[str]:
    return sorted(FAMILIES)


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise KeyError(f"unknown tracker family {name!r}; known: {', '.join(family_names())} (lib/families.py)")
    return FAMILIES[name]


def load_part(name: str, part: str):
    """The ``part`` ('network', 'actor' or 'tracker') of family ``name``, imported now."""
    module, _, attribute = getattr(get_family(name), part).partition(":")
    return getattr(importlib.import_module(module), attribute)

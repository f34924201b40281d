"""lib/families.py: one entry per tracker family, and every part it names resolves to what the machinery calls."""
from __future__ import annotations

import inspect

import pytest

from lib.config import load_config
from lib.families import FAMILIES, family_names, load_part
from lib.models import build_network
from lib.paths import PROJECT_ROOT
from lib.train.actors import BaseActor, build_actor


@pytest.mark.parametrize("name", family_names())
def test_every_family_has_all_its_parts(name):
    assert callable(load_part(name, "network"))
    assert inspect.isclass(load_part(name, "actor")) and issubclass(load_part(name, "actor"), BaseActor)
    tracker = load_part(name, "tracker")
    assert inspect.isclass(tracker) and callable(getattr(tracker, "initialize")) and callable(tracker.track)
    cfg = load_config(name)  # defaults exist and name this family's builder
    assert cfg.MODEL.NETWORK == name
    assert sorted((PROJECT_ROOT / "experiments" / name).glob("*.yaml"))


def test_a_family_is_built_through_its_entry(monkeypatch):
    cfg = load_config("ostrack", "synth_tiny")
    net = build_network(cfg, load_pretrained=False)
    actor = build_actor("ostrack", net, cfg)
    assert type(net) is load_part("ostrack", "network")(cfg).__class__ and isinstance(actor, BaseActor)


def test_unknown_family_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown tracker family 'nope'.*ostrack"):
        load_part("nope", "actor")
    cfg = load_config("ostrack", "synth_tiny")
    cfg.MODEL.NETWORK = "nope"
    with pytest.raises(KeyError, match="MODEL.NETWORK: unknown tracker family 'nope'"):
        build_network(cfg)
    assert set(FAMILIES) == set(family_names())

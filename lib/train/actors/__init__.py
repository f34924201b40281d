"""Training objectives, one per tracker family; ``build_actor(script, net, cfg)`` picks the family's actor
(``lib/families.py``)."""
from lib.families import load_part
from lib.train.actors.base import BaseActor


def build_actor(script: str, net, cfg) -> BaseActor:
    try:
        actor = load_part(script, "actor")
    except KeyError as err:
        raise KeyError(f"--script: {err.args[0]}") from None
    return actor(net, cfg)


__all__ = ["BaseActor", "build_actor"]

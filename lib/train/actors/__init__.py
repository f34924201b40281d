"""Training objectives, one per tracker family; ``build_actor(script, net, cfg)`` picks one by script name."""
from lib.train.actors.base import BaseActor
from lib.train.actors.ostrack import OSTrackActor

ACTORS = {"ostrack": OSTrackActor}


def build_actor(script: str, net, cfg) -> BaseActor:
    if script not in ACTORS:
        raise KeyError(f"no actor for script {script!r}; known: {', '.join(sorted(ACTORS))}")
    return ACTORS[script](net, cfg)


__all__ = ["ACTORS", "BaseActor", "OSTrackActor", "build_actor"]

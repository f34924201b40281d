"""Low-light enhancers a night teacher looks through (MLKD): DarkLighter and its frozen, normalised wrapper."""
from lib.models.enhancer.darklighter import DarkLighter, FrozenEnhancer, load_darklighter

__all__ = ["DarkLighter", "FrozenEnhancer", "load_darklighter"]

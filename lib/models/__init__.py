from lib.models.registry import build_network

__all__ = ["build_network"]

"""The ViT MLP (timm names ``fc1``, ``fc2``) built on our ``Linear`` so inference gets the prepacked path."""
from __future__ import annotations

from torch import Tensor, nn

from lib.models.layers.linear import Linear


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = Linear(dim, hidden_dim)
        self.act = nn.GELU()  # exact (erf) GELU, as the MAE / DeiT weights were trained with
        self.fc2 = Linear(hidden_dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))

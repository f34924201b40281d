"""The pre-norm transformer block and the contract every swappable block follows.

Block contract (what ``OneStreamViT`` relies on, and all it relies on)::

    block(tokens, attn_mask=None, *, query_rows=None, return_attention=False, token_filter=None)
        -> (tokens, attention or None)

* ``attn_mask``: SDPA convention (bool True = may attend, or additive float), broadcast to (B, heads, N, N);
* ``query_rows`` / ``return_attention``: which attention probabilities to hand back (see ``Attention``);
* ``token_filter(tokens, attention) -> tokens``: called between the attention and MLP halves, so a filter that
  drops tokens (candidate elimination) also saves the MLP on them. A block that cannot split itself may call it
  after its MLP instead; it must call it exactly once when given.

A block builder ``block_fn(dim, num_heads, mlp_ratio, drop_path, index) -> nn.Module`` makes one block; a halting
variant (A-ViT) supplies its own builder and may return extra outputs through its own attributes.
"""
from __future__ import annotations

from typing import Callable, Protocol

from timm.layers import DropPath
from torch import Tensor, nn

from lib.models.layers.attention import Attention
from lib.models.layers.mlp import Mlp

TokenFilter = Callable[[Tensor, Tensor], Tensor]


class BlockFn(Protocol):
    def __call__(self, dim: int, num_heads: int, mlp_ratio: float, drop_path: float, index: int) -> nn.Module: ...


class Block(nn.Module):
    """timm-named ViT block: x + attn(norm1(x)), then x + mlp(norm2(x)); LayerNorm eps 1e-6 as in ViT/MAE."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, drop_path: float = 0.0,
                 qkv_bias: bool = True) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, *, query_rows: Tensor | None = None,
                return_attention: bool = False, token_filter: TokenFilter | None = None
                ) -> tuple[Tensor, Tensor | None]:
        update, attention = self.attn(self.norm1(x), attn_mask, query_rows, return_attention)
        x = x + self.drop_path(update)
        if token_filter is not None:
            x = token_filter(x, attention)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x, attention


def standard_block(dim: int, num_heads: int, mlp_ratio: float, drop_path: float, index: int) -> Block:
    """The default ``block_fn``."""
    return Block(dim, num_heads, mlp_ratio=mlp_ratio, drop_path=drop_path)

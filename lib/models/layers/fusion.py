"""Language into the vision token stream: token-level cross-attention from vision tokens to the sentence's tokens.

Vision tokens (template and search alike) are the queries, the projected text tokens the keys and values, batch
first, with the sentence's padding mask on the keys. The attended text is added to each vision token through a
per-channel gain (LayerScale), so the module starts close to the identity and learns how much language to let in.
A sample whose sentence is missing (``text_valid`` False) passes through unchanged, so one model tracks with or
without a sentence.

``top_k`` turns on the sparse variant (the paper's "dynamic sparse learning"): each vision token attends only to
its k highest-scoring words, the others get zero weight. The reference builds such a module but never runs it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lib.models.layers.linear import Linear


class LanguageCrossAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int, top_k: int = 0, init_gain: float = 0.1) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"fusion width {dim} is not divisible by its {num_heads} heads")
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0 (0 = dense attention), got {top_k}")
        self.num_heads, self.head_dim, self.top_k = num_heads, dim // num_heads, int(top_k)
        self.norm_query = nn.LayerNorm(dim, eps=1e-6)
        self.query = Linear(dim, dim)
        self.key_value = Linear(dim, 2 * dim)
        self.proj = Linear(dim, dim)
        self.gain = nn.Parameter(torch.full((dim,), float(init_gain)))

    def _heads(self, t: Tensor) -> Tensor:
        batch, length, _ = t.shape
        return t.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, L, d)

    def forward(self, vision: Tensor, text: Tensor, text_mask: Tensor, text_valid: Tensor) -> Tensor:
        """vision (B, N, C), text (B, L, C) already projected and normed, text_mask (B, L) 1 = word, text_valid (B,)
        -> vision (B, N, C) with the attended words added where the sentence is valid."""
        q = self._heads(self.query(self.norm_query(vision)))
        k, v = (self._heads(t) for t in self.key_value(text).chunk(2, dim=-1))
        keys = text_mask.bool()[:, None, None, :]                                    # (B, 1, 1, L)
        if self.top_k:
            logits = (q @ k.transpose(-2, -1)) * self.head_dim ** -0.5               # (B, H, N, L)
            logits = logits.masked_fill(~keys, float("-inf"))
            k_eff = min(self.top_k, logits.shape[-1])
            threshold = logits.topk(k_eff, dim=-1).values[..., -1:]                  # k-th best score per query
            attended = logits.masked_fill(logits < threshold, float("-inf")).softmax(dim=-1) @ v
        else:
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keys)
        batch, _, num, _ = attended.shape
        update = self.proj(attended.transpose(1, 2).reshape(batch, num, self.num_heads * self.head_dim)) * self.gain
        return vision + update * text_valid.to(update.dtype)[:, None, None]

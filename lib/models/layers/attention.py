"""Multi-head self-attention with a fast path (SDPA) and an explicit path that returns the attention map.

The fast path never materialises the (N x N) map. When a caller needs attention probabilities it asks for
them explicitly: either for a few query rows (candidate elimination needs only the template-centre rows) or for
the whole map (distillation / analysis). Parameter names follow timm's ViT (``qkv``, ``proj``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import flop_registry, register_flop_formula, sdpa_backward_flop_count, sdpa_flop_count

from lib.models.layers.linear import Linear


def additive_mask(attn_mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """SDPA's mask convention (bool: True = may attend; float: added to the logits) as an additive float mask."""
    if attn_mask is None or attn_mask.dtype != torch.bool:
        return attn_mask
    return torch.zeros(attn_mask.shape, dtype=dtype, device=attn_mask.device).masked_fill_(~attn_mask, float("-inf"))


def attention_probs(q: Tensor, k: Tensor, scale: float, attn_mask: Tensor | None = None) -> Tensor:
    """softmax(q k^T * scale + mask) over the keys; q (..., R, d), k (..., N, d) -> (..., R, N)."""
    logits = torch.matmul(q * scale, k.transpose(-2, -1))
    mask = additive_mask(attn_mask, logits.dtype)
    if mask is not None:
        logits = logits + mask
    return logits.softmax(dim=-1)


class Attention(nn.Module):
    """Fused-qkv multi-head self-attention.

    ``forward(x, attn_mask, query_rows, return_attention) -> (out, attention)``:
      * default: SDPA, ``attention`` is None;
      * ``query_rows`` (1-D long tensor of token indices): SDPA for the output, plus the probabilities of those
        query rows only, (B, heads, R, N);
      * ``return_attention``: the explicit softmax(QK^T/sqrt(d))V path, ``attention`` is the full
        (B, heads, N, N) map (and serves any ``query_rows`` request as well).
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embed dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = Linear(dim, dim)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, query_rows: Tensor | None = None,
                return_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        batch, num_tokens, dim = x.shape
        # (B, N, 3, H, d) -> (3, B, H, N, d): views only; SDPA reads the strided q/k/v without copies.
        q, k, v = self.qkv(x).view(batch, num_tokens, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        attention = None
        if return_attention:
            attention = attention_probs(q, k, self.scale, attn_mask)
            out = torch.matmul(attention, v)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
            if query_rows is not None:
                row_mask = attn_mask
                if attn_mask is not None and attn_mask.dim() >= 2 and attn_mask.shape[-2] > 1:
                    row_mask = attn_mask[..., query_rows, :]  # else a per-key mask that broadcasts over rows
                attention = attention_probs(q[:, :, query_rows], k, self.scale, row_mask)
        # (B, H, N, d) -> (B, N, H*d); a view when the kernel already wrote (B, N, H, d) memory.
        out = out.transpose(1, 2).reshape(batch, num_tokens, dim)
        return self.proj(out), attention


# FlopCounterMode knows the CUDA SDPA kernels but not the CPU one, so attention would go uncounted on CPU.
_CPU_SDPA = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
if _CPU_SDPA.default not in flop_registry:
    @register_flop_formula(_CPU_SDPA)
    def _cpu_sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query_shape, key_shape, value_shape)

    @register_flop_formula(torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward)
    def _cpu_sdpa_backward_flops(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None,
                                 **kwargs) -> int:
        return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)

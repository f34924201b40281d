"""One-stream ViT (OSTrack): template and search tokens go through one transformer together.

Parameter names follow timm's VisionTransformer (``patch_embed.proj``, ``blocks.{i}.{norm1,attn.qkv,attn.proj,
norm2,mlp.fc1,mlp.fc2}``, ``norm``) so MAE / DeiT / timm checkpoints map one to one (``pretrained.py``); the single
``pos_embed`` of those checkpoints becomes two here, ``pos_embed_z`` (template grid) and ``pos_embed_x`` (search
grid). There is no cls token, so every parameter takes part in every forward (DDP needs no
find_unused_parameters).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from timm.layers import PatchEmbed, resample_abs_pos_embed, trunc_normal_
from torch import Tensor, nn

from lib.models.layers.block import BlockFn, standard_block
from lib.models.layers.candidate_elimination import SearchTokenEliminator, num_kept, template_centre_rows

Size = int | Sequence[int]
TokenHook = Callable[[int, Tensor], Tensor]  # (block index, tokens) -> tokens; index -1 = after the embedding


def _pair(size: Size) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, (int, float)) else (int(size[0]), int(size[1]))


def token_grid(size: Size, patch_size: int, what: str) -> tuple[int, int]:
    """(H / patch, W / patch); a side that is not a multiple of the patch is an error naming it."""
    height, width = _pair(size)
    if height <= 0 or width <= 0 or height % patch_size or width % patch_size:
        raise ValueError(f"{what} size {height}x{width} is not a positive multiple of the patch size {patch_size}")
    return height // patch_size, width // patch_size


def patchify(image: Tensor, patch_size: int) -> Tensor:
    """(B, 3, H, W) -> (B, H/p * W/p, 3 p p): row-major patches, each flattened like a conv kernel (c, y, x)."""
    batch, channels, height, width = image.shape
    grid_h, grid_w = height // patch_size, width // patch_size
    patches = image.reshape(batch, channels, grid_h, patch_size, grid_w, patch_size)
    return patches.permute(0, 2, 4, 1, 3, 5).reshape(batch, grid_h * grid_w, channels * patch_size * patch_size)


def init_vit_weights(module: nn.Module) -> None:
    """timm-ViT style: truncated normal (std .02) linear weights, zero biases, LayerNorm ones / zeros."""
    if isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class OneStreamViT(nn.Module):
    """Joint template/search ViT with optional candidate elimination (CE) of background search tokens.

    ``forward(z, x, ce_template_mask=None, ce_keep_rate=None, return_intermediates=False)`` returns a dict:
      * ``tokens`` (B, Nz + Nx, C), normed, original order; with CE the dropped search positions are zeros;
      * ``template_tokens`` (B, Nz, C), ``search_tokens`` (B, Nx, C): views of ``tokens``;
      * ``removed_indexes``: per CE block that ran, (B, dropped) long tensor of search positions (0..Nx-1);
      * ``kept_search_index`` (B, L) search positions still in the sequence at the end, in sequence order (CE
        orders kept tokens by score; without CE it is 0..Nx-1);
      * with ``return_intermediates`` (True: every block; or the indices of the blocks wanted, e.g. ``[5, 11]``:
        only those pay for the explicit attention map): dicts keyed by block index: ``block_tokens`` (its output
        sequence (B, Nz + L_i, C), before the final norm, in sequence order), ``block_search_index`` ((B, L_i)
        search positions of that sequence) and ``block_attention`` ((B, heads, N_i, N_i) over its input).

    Inputs whose token grid differs from the one the model was built for get bicubically resampled position
    embeddings on the fly (build the model at the test sizes to avoid that per-call cost).

    ``token_hook(index, tokens) -> tokens`` (optional) runs on the token sequence after the embedding (index -1)
    and after each block (its index), before the next one: the way other modalities enter the stream (the language
    fusion of AVLTrack) without a second copy of this loop. With candidate elimination it sees the kept tokens.
    """

    def __init__(self, template_size: Size = 128, search_size: Size = 256, patch_size: int = 16,
                 embed_dim: int = 768, depth: int = 12, num_heads: int = 12, mlp_ratio: float = 4.0,
                 drop_path_rate: float = 0.1, ce_loc: Sequence[int] = (), ce_keep_ratio: Sequence[float] = (),
                 block_fn: BlockFn | None = None) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.template_grid = token_grid(template_size, patch_size, "template")
        self.search_grid = token_grid(search_size, patch_size, "search")
        self.ce_keep_ratio = self._check_ce(ce_loc, ce_keep_ratio, depth)

        # img_size=None: one embedder for both image sizes (the size check is ours, with a clearer message)
        self.patch_embed = PatchEmbed(img_size=None, patch_size=patch_size, in_chans=3, embed_dim=embed_dim,
                                      strict_img_size=False)
        self.pos_embed_z = nn.Parameter(torch.zeros(1, math.prod(self.template_grid), embed_dim))
        self.pos_embed_x = nn.Parameter(torch.zeros(1, math.prod(self.search_grid), embed_dim))
        block_fn = block_fn or standard_block
        drop_paths = torch.linspace(0, drop_path_rate, depth).tolist() if depth > 1 else [drop_path_rate] * depth
        self.blocks = nn.ModuleList(block_fn(embed_dim, num_heads, mlp_ratio, drop_paths[i], i) for i in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.num_heads = num_heads
        self._embed_dim = embed_dim

        trunc_normal_(self.pos_embed_z, std=0.02)
        trunc_normal_(self.pos_embed_x, std=0.02)
        self.apply(init_vit_weights)

    @staticmethod
    def _check_ce(ce_loc: Sequence[int], ce_keep_ratio: Sequence[float], depth: int) -> dict[int, float]:
        ce_loc, ce_keep_ratio = list(ce_loc or ()), list(ce_keep_ratio or ())
        if len(ce_loc) != len(ce_keep_ratio):
            raise ValueError(f"ce_loc {ce_loc} and ce_keep_ratio {ce_keep_ratio} must have the same length")
        bad_loc = [i for i in ce_loc if not 0 <= i < depth]
        if bad_loc or len(set(ce_loc)) != len(ce_loc):
            raise ValueError(f"ce_loc {ce_loc} must hold distinct block indices in [0, {depth})")
        bad_ratio = [r for r in ce_keep_ratio if not 0 < r <= 1]
        if bad_ratio:
            raise ValueError(f"ce_keep_ratio values must be in (0, 1], got {bad_ratio}")
        return {int(i): float(r) for i, r in zip(ce_loc, ce_keep_ratio)}

    # -- sizes ----------------------------------------------------------------------------------------------------
    @property
    def embed_dim(self) -> int:
        return self._embed_dim

    @property
    def num_template_tokens(self) -> int:
        return math.prod(self.template_grid)

    @property
    def num_search_tokens(self) -> int:
        return math.prod(self.search_grid)

    @property
    def search_feat_size(self) -> int | tuple[int, int]:
        """Hs / patch (an int for square search regions, else (H, W))."""
        height, width = self.search_grid
        return height if height == width else (height, width)

    # -- forward --------------------------------------------------------------------------------------------------
    def position_embedding(self, pos_embed: Tensor, model_grid: tuple[int, int], grid: tuple[int, int]) -> Tensor:
        if grid == model_grid:
            return pos_embed
        # another input size than built for: resample (bicubic) to this grid
        return resample_abs_pos_embed(pos_embed, new_size=list(grid), old_size=list(model_grid), num_prefix_tokens=0)

    def embed(self, z: Tensor, x: Tensor) -> tuple[Tensor, tuple[int, int], tuple[int, int]]:
        """[template, search] tokens with position embeddings, (B, Nz + Nx, C); also both token grids.

        ``patch_embed.proj`` is applied as one GEMM over the patches of both images (same result as timm's
        strided conv, ~2x faster on CPU at these sizes and a single call for both images).
        """
        grid_z = token_grid(z.shape[-2:], self.patch_size, "template")
        grid_x = token_grid(x.shape[-2:], self.patch_size, "search")
        patches = torch.cat([patchify(z, self.patch_size), patchify(x, self.patch_size)], dim=1)
        proj = self.patch_embed.proj
        tokens = F.linear(patches, proj.weight.flatten(1), proj.bias)
        pos = torch.cat([self.position_embedding(self.pos_embed_z, self.template_grid, grid_z),
                         self.position_embedding(self.pos_embed_x, self.search_grid, grid_x)], dim=1)
        return tokens + pos, grid_z, grid_x

    def forward(self, z: Tensor, x: Tensor, ce_template_mask: Tensor | None = None,
                ce_keep_rate: float | None = None, return_intermediates: bool | Iterable[int] = False,
                token_hook: TokenHook | None = None) -> dict:
        wanted = self.intermediate_blocks(return_intermediates)
        tokens, grid_z, grid_x = self.embed(z, x)
        num_template, num_search = math.prod(grid_z), math.prod(grid_x)
        if token_hook is not None:
            tokens = token_hook(-1, tokens)

        eliminator = None
        if self.ce_keep_ratio and (ce_keep_rate is None or ce_keep_rate < 1):
            eliminator = SearchTokenEliminator(num_template, num_search, z.shape[0], z.device,
                                               ce_template_mask, centre_rows=template_centre_rows(grid_z))

        block_tokens, block_attention, block_search_index = {}, {}, {}
        for index, block in enumerate(self.blocks):
            token_filter, query_rows = self._elimination_at(index, eliminator, ce_keep_rate)
            tokens, attention = block(tokens, query_rows=query_rows, return_attention=index in wanted,
                                      token_filter=token_filter)
            if token_hook is not None:
                tokens = token_hook(index, tokens)
            if index in wanted:
                block_tokens[index] = tokens
                block_attention[index] = attention
                block_search_index[index] = self._kept_index(eliminator, tokens[:, num_template:])

        kept_search_index = self._kept_index(eliminator, tokens[:, num_template:])
        tokens = self.norm(tokens)
        if eliminator is not None:
            tokens = eliminator.restore(tokens)
        out = {"tokens": tokens, "template_tokens": tokens[:, :num_template], "search_tokens": tokens[:, num_template:],
               "removed_indexes": eliminator.removed_indexes if eliminator is not None else [],
               "kept_search_index": kept_search_index}
        if wanted:
            out.update(block_tokens=block_tokens, block_attention=block_attention,
                       block_search_index=block_search_index)
        return out

    def intermediate_blocks(self, which: bool | Iterable[int]) -> frozenset[int]:
        """The block indices a ``return_intermediates`` value asks for (True: all; False / empty: none)."""
        if isinstance(which, bool):
            return frozenset(range(len(self.blocks))) if which else frozenset()
        wanted = frozenset(int(i) for i in which)
        bad = sorted(i for i in wanted if not 0 <= i < len(self.blocks))
        if bad:
            raise ValueError(f"return_intermediates: blocks {bad} do not exist (this backbone has blocks "
                             f"0..{len(self.blocks) - 1})")
        return wanted

    def _elimination_at(self, index: int, eliminator: SearchTokenEliminator | None, ce_keep_rate: float | None
                        ) -> tuple[partial | None, Tensor | None]:
        """(token filter, attention rows it needs) for block ``index``, or (None, None) if it drops nothing."""
        keep = self.ce_keep_ratio.get(index)
        if eliminator is None or keep is None:
            return None, None
        keep = keep if ce_keep_rate is None else ce_keep_rate  # the warm-up schedule overrides every CE block
        if num_kept(keep, eliminator.num_remaining) >= eliminator.num_remaining:
            return None, None
        return partial(eliminator.eliminate, keep_ratio=keep), eliminator.query_rows

    @staticmethod
    def _kept_index(eliminator: SearchTokenEliminator | None, search: Tensor) -> Tensor:
        """(B, L) search positions in the sequence; ``search`` is the search part of the tokens without CE."""
        if eliminator is not None:
            return eliminator.kept_index
        return torch.arange(search.shape[1], device=search.device).expand(search.shape[0], -1)

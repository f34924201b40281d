"""A-ViT token halting on the one-stream ViT (issue 10; ``shared/reference/avltrack_spec.md`` §2.3).

After block l, every token still running gets a halting score ``h_l = sigmoid(gate_scale * y_l[..., 0] -
gate_bias)`` from channel 0 of its block output ``y_l`` (``h = 1`` after the last block). Its cumulative score ``c``
adds them up: the block where ``c`` reaches ``1 - eps`` is the token's last, and there it contributes its remainder
``R = 1 - (its earlier scores)`` instead of ``h_l``. The output is ``norm(sum over blocks of weight * y_l)``: per
token a mix of its block outputs whose weights sum to one. A halted token leaves the attention as a key and what
later blocks compute for it is discarded, so it gets no gradient from the blocks after its last one.

Three paths compute the same outputs (to float rounding):

* masked (autograd on: training, any batch): every block runs on all tokens; halted tokens are removed as keys
  through the ``attn_mask`` the blocks accept and their state is frozen (``torch.where``);
* pruned (autograd off: tracking, validation): halted tokens are gathered away, so later blocks run on fewer
  tokens. Each sample keeps its own tokens; a batch is padded to its longest sample, the padding masked as keys
  (at batch 1, what a tracker runs, there is never padding). Outputs go back to the original token order;
* exported (ONNX export, batch 1): the pruned path written as a graph, the running rows picked by ``nonzero``, so
  the runtime follows the data-dependent token count (``_blocks_exported``).

The language fusion of AVLTrack re-enters through ``token_hook(index, tokens)``, on the running state passed to
the next block (as in the reference), never on the weighted sum; with pruning it sees the running tokens only.

Differences from the reference (AbaViT / A-ViT): out of place (no ``.data`` writes) and batched; halted tokens
really dropped at inference (the reference masks them, computing every token); no cls token; the per-block halting
score averaged over tokens (the reference's ``h[1:]`` slices the batch axis); the ponder and prior losses really
applied (``lib/train/losses/halting.py``; the reference builds them and never adds them).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from lib.models.backbones.vit_onestream import OneStreamViT, TokenHook
from lib.models.layers.linear import packed_linear


@dataclass
class HaltingState:
    """Per token (B, N): cumulative score (no gradient), remainder, running flag, blocks run, ponder cost; per block
    the mean halting score over tokens (B,)."""
    cumulative: Tensor
    remainder: Tensor
    running: Tensor
    depth: Tensor
    ponder: Tensor
    layer_halt: list[Tensor]

    @classmethod
    def start(cls, batch: int, num_tokens: int, device: torch.device) -> "HaltingState":
        zeros = torch.zeros(batch, num_tokens, device=device)
        return cls(cumulative=zeros, remainder=torch.ones_like(zeros),
                   running=torch.ones(batch, num_tokens, dtype=torch.bool, device=device), depth=zeros,
                   ponder=zeros, layer_halt=[])

    def step(self, scores: Tensor, last: bool, eps: float) -> Tensor:
        """Account for one block given its halting scores (B, N) (any value for tokens not running); returns the
        weight (B, N) of each token's output of this block in its final mix (0 for tokens already halted)."""
        running = self.running
        h = running.float() if last else torch.where(running, scores.float(), 0.0)  # 0 once halted
        self.layer_halt.append(h.mean(dim=1))
        cumulative = self.cumulative + h.detach()  # only compared: no gradient needed
        halts = running if last else running & (cumulative >= 1 - eps)
        weight = torch.where(halts, self.remainder, h)
        self.depth = self.depth + running
        # ACT / A-ViT ponder cost: blocks run + remainder at halting (gradient through the remainder only)
        self.ponder = torch.where(halts, self.depth + self.remainder, self.ponder)
        self.remainder = torch.where(halts, self.remainder, self.remainder - h)
        self.cumulative, self.running = cumulative, running & ~halts
        return weight

    def outputs(self, num_blocks: int) -> dict:
        layer_halt = torch.stack(self.layer_halt, dim=1)
        if layer_halt.shape[1] < num_blocks:  # every token halted early: the blocks left ran for no token
            layer_halt = F.pad(layer_halt, (0, num_blocks - layer_halt.shape[1]))
        return {"depth": self.depth, "ponder": self.ponder, "layer_halt": layer_halt}


def full_depth_outputs(batch: int, num_tokens: int, num_blocks: int, device: torch.device) -> dict:
    """The halting outputs of a full-depth pass: every token runs every block, all its weight on the last one."""
    depth = torch.full((batch, num_tokens), float(num_blocks), device=device)
    last = torch.full((batch,), num_blocks - 1, device=device)
    return {"depth": depth, "ponder": depth + 1, "layer_halt": F.one_hot(last, num_blocks).float()}


def key_mask(live: Tensor | None) -> Tensor | None:
    """SDPA boolean mask (B, 1, 1, n): the live rows may be attended to. A sample without live rows keeps all its
    keys (its outputs are all discarded; an all-masked row would be NaN)."""
    if live is None:
        return None
    return (live | ~live.any(dim=1, keepdim=True))[:, None, None, :]


def spread_depths(mean: int, depth: int, count: int, generator: torch.Generator | None = None) -> Tensor:
    """(count,) halting depths for benchmarks of the pruned path (:meth:`HaltingViT.force_depth`): uniform over
    mean - k .. mean + k, k as wide as 1..``depth`` allows, so tokens halt spread over the blocks."""
    if not 1 <= mean <= depth:
        raise ValueError(f"mean depth {mean} outside 1..{depth} (the backbone's blocks)")
    k = min(mean - 1, depth - mean)
    return torch.randint(mean - k, mean + k + 1, (count,), generator=generator)


class HaltingViT(OneStreamViT):
    """``OneStreamViT`` whose tokens halt (A-ViT). Same parameters (a one-stream checkpoint loads strictly), same
    ``forward`` contract, plus ``out["halting"]``: ``depth`` (B, N) blocks each token ran, ``ponder`` (B, N) its
    ponder cost, ``layer_halt`` (B, L) mean halting score over tokens at each block (0 for halted tokens).

    Switches (attributes, so a tracker sets them once):
      * ``halting``: False = full depth (every token runs every block; the output is the last block's), the
        ``TEST.HALTING false`` setting;
      * ``prune``: None = pruned path when autograd is off, masked otherwise; True / False force one;
      * ``forced_depth``: None, or (N,) / (B, N) blocks per token in 1..L replacing the learned scores (benchmarks
        of the pruned path at chosen depths; see :meth:`force_depth`);
      * ``pack_linear`` / ``bucket``: what the pruned path does about the prepacked Linear, which packs its weights
        once per row count: ``pack_linear`` False runs plain GEMMs there, ``bucket`` k > 1 pads each pruned sequence
        to a multiple of k tokens so few row counts occur (``tracking/bench_halting.py`` measures both).
    """

    def __init__(self, *args, gate_scale: float = 10.0, gate_bias: float = 30.0, eps: float = 0.01, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.ce_keep_ratio:
            raise ValueError(f"token halting (MODEL.HALTING.ENABLED) cannot be combined with candidate elimination "
                             f"(MODEL.BACKBONE.CE_LOC {sorted(self.ce_keep_ratio)}): set CE_LOC and CE_KEEP_RATIO "
                             f"to []")
        if not 0 < eps < 1:
            raise ValueError(f"MODEL.HALTING.EPS must be in (0, 1), got {eps}")
        self.gate_scale, self.gate_bias, self.eps = float(gate_scale), float(gate_bias), float(eps)
        self.halting = True
        self.prune: bool | None = None
        self.forced_depth: Tensor | None = None
        self.pack_linear = False
        self.bucket = 0

    def force_depth(self, depth: Tensor | None) -> None:
        """Make tokens halt after ``depth`` blocks ((N,) or (B, N), values in 1..L), or None for the learned gate."""
        if depth is not None:
            depth = torch.as_tensor(depth, dtype=torch.long)
            bad = (depth < 1) | (depth > len(self.blocks))
            if depth.dim() not in (1, 2) or bool(bad.any()):
                raise ValueError(f"forced depths must be (N,) or (B, N) values in 1..{len(self.blocks)}, got shape "
                                 f"{tuple(depth.shape)} with values {depth.min().item()}..{depth.max().item()}")
        self.forced_depth = depth

    def forward(self, z: Tensor, x: Tensor, ce_template_mask: Tensor | None = None,
                ce_keep_rate: float | None = None, return_intermediates: bool | Iterable[int] = False,
                token_hook: TokenHook | None = None) -> dict:
        if not self.halting:
            out = super().forward(z, x, return_intermediates=return_intermediates, token_hook=token_hook)
            batch, num_tokens = out["tokens"].shape[:2]
            out["halting"] = full_depth_outputs(batch, num_tokens, len(self.blocks), out["tokens"].device)
            return out
        if return_intermediates:
            raise ValueError("HaltingViT: per-block tokens and attention (return_intermediates) exist only for a "
                             "full-depth pass; set backbone.halting = False (TEST.HALTING false) first")
        tokens, grid_z, _ = self.embed(z, x)
        num_template = math.prod(grid_z)
        if token_hook is not None:
            tokens = token_hook(-1, tokens)
        prune = not torch.is_grad_enabled() if self.prune is None else self.prune
        if torch.onnx.is_in_onnx_export():
            mixed, state = self._blocks_exported(tokens, token_hook)
        else:
            with packed_linear(False) if prune and not self.pack_linear else nullcontext():
                mixed, state = self._blocks(tokens, token_hook, prune)
        tokens = self.norm(mixed)
        search = tokens[:, num_template:]
        return {"tokens": tokens, "template_tokens": tokens[:, :num_template], "search_tokens": search,
                "removed_indexes": [], "kept_search_index": self._kept_index(None, search),
                "halting": state.outputs(len(self.blocks))}

    # -- the block loop -------------------------------------------------------------------------------------------
    def _blocks(self, tokens: Tensor, token_hook: TokenHook | None, prune: bool) -> tuple[Tensor, HaltingState]:
        """(halting-weighted sum of block outputs (B, N, C) in token order, final state).

        ``seq`` holds the rows that go through the next block: all N tokens (masked path) or the gathered running
        ones (pruned path), ``rows`` (B, n) their token positions (None = all, in order), ``live`` (B, n) which rows
        still run (None = all; the others are masked as keys and their outputs discarded)."""
        batch, num_tokens, dim = tokens.shape
        state = HaltingState.start(batch, num_tokens, tokens.device)
        mixed = torch.zeros(batch, num_tokens, dim, device=tokens.device, dtype=torch.float32)
        seq, rows, live = tokens, None, None
        last_index = len(self.blocks) - 1
        for index, block in enumerate(self.blocks):
            out, _ = block(seq, key_mask(live))
            weight = state.step(self._scatter(self._scores(out, index, rows), rows, num_tokens),
                                index == last_index, self.eps)
            mixed = self._add_weighted(mixed, weight, out, rows)
            running = state.running if rows is None else state.running.gather(1, rows)
            if index == last_index or (not torch.is_grad_enabled() and not bool(running.any())):
                break  # with autograd on every block runs, so every parameter gets a gradient (DDP)
            if prune:
                seq, rows, running = self._compact(out, rows, running)
            else:
                seq = torch.where(running[..., None], out, seq)  # halted tokens keep their state
            live = None if bool(running.all()) else running
            if token_hook is not None:
                seq = token_hook(index, seq)
        return mixed, state

    def _blocks_exported(self, tokens: Tensor, token_hook: TokenHook | None) -> tuple[Tensor, HaltingState]:
        """The pruned path as a graph (ONNX export, ``lib/deploy``), batch 1: the running rows are picked with
        ``nonzero`` (a data-dependent token count the runtime handles), every block runs (on no rows once every
        token has halted: an empty block adds nothing) and nothing is read back into Python. Each row's weighted
        sum travels with it; a token's sum leaves with it when it halts, and the halted sums are put back in token
        order once at the end (a gather: scattering every block costs more than a block in onnxruntime)."""
        batch, num_tokens, _ = tokens.shape
        if batch != 1:
            raise ValueError(f"the exported halting path runs one frame at a time (batch 1), got batch {batch}")
        state = HaltingState.start(batch, num_tokens, tokens.device)
        seq, rows = tokens, torch.arange(num_tokens, device=tokens.device)[None]
        mixed = torch.zeros_like(tokens, dtype=torch.float32)  # the weighted sum of each row of ``seq``
        halted_sums, halted_rows = [], []
        for index, block in enumerate(self.blocks):
            out, _ = block(seq)
            weight = state.step(self._scatter(self._scores(out, index, rows), rows, num_tokens),
                                index == len(self.blocks) - 1, self.eps)
            mixed = torch.addcmul(mixed, weight.gather(1, rows)[..., None], out.float())
            running = state.running.gather(1, rows)[0]
            halts = (~running).nonzero()[:, 0]
            halted_sums.append(mixed.index_select(1, halts))
            halted_rows.append(rows.index_select(1, halts))
            keep = running.nonzero()[:, 0]  # rows still running, in token order
            seq, rows, mixed = out.index_select(1, keep), rows.index_select(1, keep), mixed.index_select(1, keep)
            if token_hook is not None and index < len(self.blocks) - 1:
                seq = token_hook(index, seq)
        order = torch.cat(halted_rows, dim=1)[0].argsort()  # every token halts exactly once: a permutation
        return torch.cat(halted_sums, dim=1).index_select(1, order), state

    def _scores(self, out: Tensor, index: int, rows: Tensor | None) -> Tensor:
        """Halting scores (B, n) of the rows of ``out``: the gate, or 1 at the forced depth."""
        if self.forced_depth is None:
            return torch.sigmoid(self.gate_scale * out[..., 0].float() - self.gate_bias)
        depth = self.forced_depth.to(out.device).expand(out.shape[0], -1)
        if rows is not None:
            depth = depth.gather(1, rows)
        return (depth == index + 1).float()

    @staticmethod
    def _scatter(values: Tensor, rows: Tensor | None, num_tokens: int) -> Tensor:
        """(B, n) values of the rows -> (B, N) by token position (positions not in ``rows``: 0)."""
        if rows is None:
            return values
        return values.new_zeros(values.shape[0], num_tokens).scatter(1, rows, values)

    @staticmethod
    def _add_weighted(mixed: Tensor, weight: Tensor, out: Tensor, rows: Tensor | None) -> Tensor:
        """``mixed`` (B, N, C) plus this block's term: each row's output times its token's weight, by position."""
        if rows is None:
            return torch.addcmul(mixed, weight[..., None], out)
        term = weight.gather(1, rows)[..., None] * out  # rows are distinct: adding by position is a scatter
        return mixed.scatter_add(1, rows[..., None].expand(-1, -1, out.shape[-1]), term.to(mixed.dtype))

    def _compact(self, out: Tensor, rows: Tensor | None, running: Tensor) -> tuple[Tensor, Tensor | None, Tensor]:
        """Keep the running rows (in token order), padded per sample to the batch's longest (and to a multiple of
        ``bucket``); returns (rows' outputs, their positions, which of them run)."""
        count = out.shape[1]
        keep = int(running.sum(dim=1).max())
        if self.bucket > 1:
            keep = min(count, -(-keep // self.bucket) * self.bucket)
        if keep == count:
            return out, rows, running
        # running rows first, each group in its order; a stable sort of 0 (running) / 1 (halted)
        order = torch.sort((~running).to(torch.uint8), dim=1, stable=True).indices[:, :keep]
        rows = order if rows is None else rows.gather(1, order)
        return out.gather(1, order[..., None].expand(-1, -1, out.shape[-1])), rows, running.gather(1, order)

"""``nn.Linear`` with a faster CPU inference path: MKL-prepacked weights.

At the backbone's shapes (a few hundred tokens x 768..3072 features) MKL spends a sizeable share of every GEMM
re-packing the weight matrix; packing it once and reusing it (what torch.compile's CPU freezing does, through
the same ``torch.ops.mkl`` ops) makes batch-1 CPU inference ~15 % faster. The path is taken only when it cannot
change training: autograd off (``torch.inference_mode`` / ``torch.no_grad``), float32 on CPU, no CPU autocast,
eager mode. The parameters, their names and the results are those of ``nn.Linear`` (equal up to rounding).

MKL picks the packed layout for a given row count (a pack made for 4096 rows runs 320 rows slower than no pack
at all), so a copy is made per row count seen, keeping the last ``MAX_PACKS_PER_LAYER``; a layer of the
backbone sees one row count at batch 1 (with candidate elimination too). The copies live next to the module
(not in the state dict) and are rebuilt whenever the weight changes (its storage or version counter moves).
Each costs about 2.5x the weight's memory (ViT-B: 0.87 GB next to 0.34 GB of linear weights);
``set_packed_linear(False)`` turns the path off, ``release_packed_weights(model)`` frees the copies.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import flop_registry, register_flop_formula

_mkl_ops = getattr(torch.ops, "mkl", None)
MKL_PACKING_AVAILABLE = bool(torch.backends.mkl.is_available() and _mkl_ops is not None
                             and hasattr(_mkl_ops, "_mkl_linear") and hasattr(_mkl_ops, "_mkl_reorder_linear_weight"))
_packed_linear_enabled = MKL_PACKING_AVAILABLE
MAX_PACKS_PER_LAYER = 2


def set_packed_linear(enabled: bool) -> bool:
    """Turn the prepacked inference path on or off process-wide; returns the previous setting."""
    global _packed_linear_enabled
    previous = _packed_linear_enabled
    _packed_linear_enabled = bool(enabled) and MKL_PACKING_AVAILABLE
    return previous


@contextmanager
def packed_linear(enabled: bool):
    """The prepacked Linear path on or off inside a ``with`` block (a process-wide switch, restored on exit)."""
    previous = set_packed_linear(enabled)
    try:
        yield
    finally:
        set_packed_linear(previous)


def packed_linear_enabled() -> bool:
    return _packed_linear_enabled


def release_packed_weights(model: nn.Module) -> None:
    """Drop every cached packed weight under ``model`` (e.g. after validation inside a CPU training run)."""
    for module in model.modules():
        if isinstance(module, Linear):
            module._packs = {}


class Linear(nn.Linear):
    """Drop-in ``nn.Linear`` (``weight``, ``bias``) with the prepacked path described in the module docstring."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._packs: dict[int, tuple[tuple[int, int], Tensor]] = {}  # rows -> ((data_ptr, version), pack)

    def forward(self, x: Tensor) -> Tensor:
        if self._use_packed(x):
            return self._packed_forward(x)
        return F.linear(x, self.weight, self.bias)

    def _use_packed(self, x: Tensor) -> bool:
        return (_packed_linear_enabled and not torch.is_grad_enabled() and x.device.type == "cpu"
                and x.dtype == torch.float32 and self.weight.dtype == torch.float32 and x.numel() > 0
                and not torch.is_autocast_enabled("cpu")  # autocast would have run this linear in bf16
                and not torch.jit.is_scripting() and not torch.compiler.is_compiling())

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state["_packs"] = {}  # a cache of MKL-layout tensors: never pickled or deep-copied
        return state

    def _packed_weight(self, rows: int) -> Tensor:
        weight = self.weight
        # inference tensors have no version counter (they are only changed inside inference mode, rarely)
        key = (weight.data_ptr(), 0 if weight.is_inference() else weight._version)
        entry = self._packs.pop(rows, None)
        if entry is None or entry[0] != key:
            entry = (key, torch.ops.mkl._mkl_reorder_linear_weight(self.weight.detach(), rows))
        self._packs[rows] = entry  # most recent last
        while len(self._packs) > MAX_PACKS_PER_LAYER:
            del self._packs[next(iter(self._packs))]
        return entry[1]

    def _packed_forward(self, x: Tensor) -> Tensor:
        rows = x.numel() // x.shape[-1]
        x2d = x.reshape(rows, x.shape[-1])
        out = torch.ops.mkl._mkl_linear(x2d, self._packed_weight(rows), self.weight, self.bias, rows)
        return out.view(*x.shape[:-1], self.out_features)


if MKL_PACKING_AVAILABLE and torch.ops.mkl._mkl_linear.default not in flop_registry:
    @register_flop_formula(torch.ops.mkl._mkl_linear)
    def _mkl_linear_flops(x_shape, packed_shape, weight_shape, bias_shape=None, batch_size=None, *args,
                          out_shape=None, **kwargs) -> int:
        """2 M K N, as for addmm, so FlopCounterMode counts the packed path like nn.Linear."""
        return 2 * x_shape[0] * x_shape[1] * weight_shape[0]

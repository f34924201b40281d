"""DarkLighter, the low-light enhancer MLKD's teacher looks through (``shared/reference/mlkd_spec.md`` §5.1, §6.a).

A fully convolutional network at full resolution (74,768 parameters, receptive field 13 px): five 3x3 conv + ReLU
layers with dense pairwise concatenations, then two 3x3 conv + tanh heads giving ``n_iter`` (8) single-channel gain
residuals ``r_k`` and noise maps ``n_k``. The image is refined in ``n_iter`` Retinex-like steps, each map broadcast
over RGB::

    I_0 = x,   I_k = (I_{k-1} - n_k) * (1 + r_k),   k = 1..n_iter

Input: RGB in [0, 1]. ``forward`` returns ``(I_n, gains (B, n, H, W) = 1 + r_k, noise (B, n, H, W) = n_k)``; the
enhanced image is not clamped (the published network can leave [0, 1] slightly). The layer names are the published
ones (``e_conv1..5``, ``e_conv7``, ``e_conv8``; there is no ``e_conv6``), so the released ``Epoch193.pth`` loads
strictly.

``FrozenEnhancer`` puts it in front of a tracker: it takes ImageNet-normalised crops (what our pipeline feeds the
network), de-normalises, enhances, clamps to [0, 1] (the reference does not clamp) and re-normalises; it is frozen,
stays in eval mode whatever ``train()`` says, and runs without autograd.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from lib.train.data.transforms import IMAGENET_MEAN, IMAGENET_STD

WEIGHTS_FILE = "darklighter/Epoch193.pth"  # under pretrained_models/: the published final weights


class DarkLighter(nn.Module):
    def __init__(self, n_feat: int = 32, n_iter: int = 8) -> None:
        super().__init__()
        self.n_iter = n_iter

        def conv(cin: int, cout: int) -> nn.Conv2d:
            return nn.Conv2d(cin, cout, 3, 1, 1, bias=True)

        self.e_conv1 = conv(3, n_feat)
        self.e_conv2 = conv(n_feat, n_feat)
        self.e_conv3 = conv(2 * n_feat, n_feat)
        self.e_conv4 = conv(2 * n_feat, n_feat)
        self.e_conv5 = conv(2 * n_feat, n_feat)
        self.e_conv7 = conv(2 * n_feat, n_iter)  # gain residuals r_k
        self.e_conv8 = conv(2 * n_feat, n_iter)  # noise maps n_k

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        relu = torch.relu
        x1 = relu(self.e_conv1(x))
        x2 = relu(self.e_conv2(x1))
        x3 = relu(self.e_conv3(torch.cat([x1, x2], 1)))
        x4 = relu(self.e_conv4(torch.cat([x2, x3], 1)))
        x5 = relu(self.e_conv5(torch.cat([x3, x4], 1)))
        last = torch.cat([x4, x5], 1)
        gains = 1 + torch.tanh(self.e_conv7(last))
        noise = torch.tanh(self.e_conv8(last))
        image = x
        for k in range(self.n_iter):
            image = (image - noise[:, k:k + 1]) * gains[:, k:k + 1]
        return image, gains, noise


def load_darklighter(path: str | os.PathLike = WEIGHTS_FILE) -> DarkLighter:
    """DarkLighter with the weights of ``path`` (a file, or a name under ``pretrained_models/``), loaded strictly."""
    from lib.models.backbones.pretrained import resolve_pretrained_path
    from lib.utils.torch_files import load_weights_file, weights_mismatch
    try:
        file = resolve_pretrained_path(path)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"DarkLighter weights: {err} (the published final weights are Epoch193.pth of the "
                                f"DarkLighter repository; default place: pretrained_models/{WEIGHTS_FILE})") from None
    state = load_weights_file(file, kind="DarkLighter state dict")
    model = DarkLighter()
    mismatch = weights_mismatch(model, state)
    if mismatch:
        raise ValueError(f"{file} is not a DarkLighter state dict: {mismatch}")
    model.load_state_dict(state)
    return model


class FrozenEnhancer(nn.Module):
    """Normalised crops in, normalised enhanced crops out: de-normalise, enhance, clamp to [0, 1], re-normalise.
    Frozen (no gradient, eval mode for good: ``train()`` changes nothing) and run without autograd."""

    def __init__(self, enhancer: nn.Module, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> None:
        super().__init__()
        # channels-last: oneDNN's CPU convolutions run DarkLighter 1.6x faster so (tracking/bench_enhancer.py)
        self.enhancer = enhancer.eval().requires_grad_(False).to(memory_format=torch.channels_last)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.training = False

    def train(self, mode: bool = True) -> "FrozenEnhancer":
        return self  # always eval: the enhancer is a fixed part of the teacher

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        return ((self.enhance_rgb(x * self.std + self.mean) - self.mean) / self.std).contiguous()

    @torch.no_grad()
    def enhance_rgb(self, rgb: Tensor) -> Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> enhanced, clamped to [0, 1] (channels-last memory)."""
        enhanced = self.enhancer(rgb.contiguous(memory_format=torch.channels_last))
        enhanced = enhanced[0] if isinstance(enhanced, (tuple, list)) else enhanced
        return enhanced.clamp(0.0, 1.0)

    @torch.no_grad()
    def enhance_image(self, image: np.ndarray) -> np.ndarray:
        """One (H, W, 3) uint8 RGB frame -> the enhanced frame, uint8 RGB (the frame cache, pictures)."""
        rgb = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float().div_(255)
        return self.enhance_rgb(rgb.to(self.mean.device))[0].permute(1, 2, 0).mul_(255).round_().byte().cpu().numpy()

    @classmethod
    def from_file(cls, path: str | os.PathLike | Path = WEIGHTS_FILE) -> "FrozenEnhancer":
        return cls(load_darklighter(path))

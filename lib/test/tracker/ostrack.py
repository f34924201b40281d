"""The one-stream tracker at test time.

Frame 0: crop the template (``TEST.TEMPLATE_FACTOR`` x sqrt(wh) around the box, resized to ``TEMPLATE_SIZE``);
it is kept for the whole sequence. Each later frame: crop the search region around the last box, run the
network, multiply the score map by a Hann window (a prior against jumps), decode the box at the best cell, map
it back to the image through the exact inverse of the crop, and clip it to the image.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from lib.models.heads import decode_boxes
from lib.train.data.transforms import normalize_image
from lib.utils.crop import sample_target

CLIP_MARGIN = 10  # px of the box kept inside the image, so a box at the border can still be re-cropped


def hann_window(size: int) -> torch.Tensor:
    """(size, size) raised-cosine window, zero-free: 0.5 (1 - cos(2 pi k / (size + 1))), k = 1..size."""
    k = torch.arange(1, size + 1, dtype=torch.float32)
    w = 0.5 * (1 - torch.cos(2 * math.pi * k / (size + 1)))
    return w[:, None] * w[None, :]


def clip_box(box: np.ndarray, height: int, width: int, margin: int = CLIP_MARGIN) -> np.ndarray:
    """x, y, w, h clipped so that at least ``margin`` px of it (or all of a smaller image) stays in the image."""
    margin_x, margin_y = min(margin, width), min(margin, height)
    x0 = min(max(box[0], 0.0), width - margin_x)
    y0 = min(max(box[1], 0.0), height - margin_y)
    x1 = max(min(box[0] + box[2], float(width)), margin_x)
    y1 = max(min(box[1] + box[3], float(height)), margin_y)
    return np.array([x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0)])


class OSTrackTracker:
    def __init__(self, net: torch.nn.Module, cfg, device: str | torch.device = "cpu"):
        self.net = net.to(device).eval()
        self.device = torch.device(device)
        self.test = cfg.TEST
        patch = cfg.MODEL.BACKBONE.PATCH_SIZE
        self.window = hann_window(self.test.SEARCH_SIZE // patch).to(self.device)
        self.template: torch.Tensor | None = None
        self.state: np.ndarray | None = None
        self.sentence: str | None = None
        self.enhancer: torch.nn.Module | None = None  # a low-light enhancer on every crop (MLKD's teacher)
        self.runner = self.net  # what runs the network each frame: the PyTorch module, or an onnxruntime session

    def use_enhancer(self, enhancer: torch.nn.Module) -> None:
        """Enhance every crop before the network sees it (the template once, at ``initialize``)."""
        self.enhancer = enhancer.to(self.device)

    @torch.inference_mode()
    def _to_input(self, crop: np.ndarray) -> torch.Tensor:
        x = normalize_image(crop).unsqueeze(0).to(self.device)
        return x if self.enhancer is None else self.enhancer(x)

    def use_network(self, runner) -> None:
        """Run each frame's network with ``runner`` (called as the module is, e.g. ``lib.deploy.OnnxNetwork``);
        ``self.net`` stays for what is not per frame (a language tracker's sentence encoding)."""
        self.runner = runner

    def encode_sentence(self, sentence: str | None) -> None:
        """Called once per sequence (language trackers encode the text here, never per frame)."""
        self.sentence = sentence

    def network(self, template: torch.Tensor, search: torch.Tensor) -> dict:
        """One forward of the network on a template and a search crop (language trackers add the sentence)."""
        return self.runner(template, search)

    def initialize(self, image: np.ndarray, box, sentence: str | None = None) -> None:
        crop, _, _ = sample_target(image, box, self.test.TEMPLATE_FACTOR, self.test.TEMPLATE_SIZE)
        self.template = self._to_input(crop)
        self.state = np.asarray(box, dtype=np.float64)
        self.encode_sentence(sentence)

    @torch.inference_mode()
    def track(self, image: np.ndarray) -> dict:
        if self.state is None:
            raise RuntimeError("track() called before initialize()")
        size = self.test.SEARCH_SIZE
        crop, _, transform = sample_target(image, self.state, self.test.SEARCH_FACTOR, size)
        out = self.network(self.template, self._to_input(crop))
        windowed = out["score_map"][:, 0] * self.window
        cx, cy, w, h = (decode_boxes(windowed.unsqueeze(1), out["size_map"], out["offset_map"])[0] * size).tolist()
        box_in_image = transform.box_to_image(np.array([cx - w / 2, cy - h / 2, w, h]))
        self.state = clip_box(box_in_image, image.shape[0], image.shape[1])
        return {"box": self.state.tolist(), "score": float(out["score_map"].max())}

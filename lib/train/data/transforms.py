"""Training augmentation and the image -> tensor conversion shared with the tracker.

Joint augmentations (grayscale, horizontal flip) roll once per training pair, so template and search agree; the
brightness factor rolls per crop. All randomness comes from an explicit ``numpy.random.Generator``.

The flip is language-aware: a mirrored image turns "the car on the left" into a lie, so the words
left/right, leftmost/rightmost, leftward(s)/rightward(s) are swapped as whole words, keeping their case
("Left" -> "Right", "left-hand" -> "right-hand"; "leftover" is not a whole word and stays). The verb "left"
("the man who left") is swapped too: telling it apart needs a parser, and it is rare in tracking sentences.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_LEFT_RIGHT = re.compile(r"\b(left|right)(most|wards?)?\b", re.IGNORECASE)
_MIRROR = {"left": "right", "right": "left"}


def _with_case_of(template: str, word: str) -> str:
    """``word`` in the case pattern of ``template``: ALL CAPS, Capitalised, or lower."""
    if template.isupper():
        return word.upper()
    if template[0].isupper():
        return word[0].upper() + word[1:].lower()
    return word.lower()


def swap_left_right(sentence: str | None) -> str | None:
    """Swap left <-> right (and their -most/-ward/-wards forms) as whole words, preserving case."""
    if not sentence:
        return sentence

    def mirror(match: re.Match) -> str:
        stem, suffix = match.group(1), match.group(2) or ""
        return _with_case_of(match.group(0), _MIRROR[stem.lower()] + suffix)

    return _LEFT_RIGHT.sub(mirror, sentence)


def flip_box(box_xywh: torch.Tensor, width: float) -> torch.Tensor:
    """Mirror boxes ``(..., 4)`` in an image of ``width`` (continuous coordinates): x -> W - x - w."""
    flipped = box_xywh.clone()
    flipped[..., 0] = width - box_xywh[..., 0] - box_xywh[..., 2]
    return flipped


def flip_horizontal(image: np.ndarray, box_xywh: torch.Tensor, sentence: str | None = None
                    ) -> tuple[np.ndarray, torch.Tensor, str | None]:
    """Mirror image, box and sentence together."""
    return np.ascontiguousarray(image[:, ::-1]), flip_box(box_xywh, image.shape[1]), swap_left_right(sentence)


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """RGB uint8 -> its luminance repeated in 3 channels (the network always sees 3 channels)."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return np.repeat(gray[:, :, None], 3, axis=2)


# per-channel (C, 1, 1) constants for normalising a CHW float32 array in place
_INV_STD = (1.0 / np.asarray(IMAGENET_STD, dtype=np.float32)).reshape(3, 1, 1)
_MEAN_OVER_STD = (np.asarray(IMAGENET_MEAN, dtype=np.float32) * _INV_STD.reshape(3)).reshape(3, 1, 1)


def normalize_image(image: np.ndarray, brightness: float = 1.0) -> torch.Tensor:
    """HxWx3 RGB uint8 -> 3xHxW float32, times ``brightness`` (clipped to [0, 1]), ImageNet-normalised.

    Computed with numpy: torch's multi-threaded elementwise ops are ~100x slower than this on a busy 2-core
    machine (thread hand-offs), and this also runs in the main process at test time and with num_workers=0.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    pixels = np.ascontiguousarray(image.transpose(2, 0, 1)).astype(np.float32)
    gain = brightness / 255.0
    if brightness > 1.0:
        pixels *= brightness
        np.minimum(pixels, 255.0, out=pixels)
        gain = 1.0 / 255.0
    pixels *= _INV_STD * np.float32(gain)
    pixels -= _MEAN_OVER_STD
    return torch.from_numpy(pixels)


@dataclass(frozen=True)
class PairRoll:
    """The joint decisions for one training pair."""
    grayscale: bool = False
    flip: bool = False


@dataclass(frozen=True)
class PairAugmentation:
    grayscale_prob: float = 0.05
    flip_prob: float = 0.5
    brightness_jitter: float = 0.2

    def roll(self, rng: np.random.Generator) -> PairRoll:
        """Always draws two numbers, so later draws do not depend on the outcome."""
        gray_draw, flip_draw = rng.random(2)
        return PairRoll(grayscale=bool(gray_draw < self.grayscale_prob), flip=bool(flip_draw < self.flip_prob))

    def brightness(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(max(0.0, 1.0 - self.brightness_jitter), 1.0 + self.brightness_jitter))

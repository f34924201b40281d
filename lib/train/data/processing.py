"""Turn a sampled pair (full frames + boxes + sentence) into network inputs and targets.

For each frame: jitter the box (size and centre), cut a square crop around the jittered centre, map the true box
into the crop, augment (joint grayscale/flip, per-crop brightness), normalise. The search crops also get the
centre-head heat map. A pair whose crops are useless returns None and the sampler draws again.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch

from lib.train.data.transforms import PairAugmentation, PairRoll, normalize_image, swap_left_right, to_grayscale
from lib.utils.crop import MIN_CROP_SIDE, check_box, crop_square
from lib.utils.heatmap import gaussian_heatmap

if TYPE_CHECKING:
    from lib.models.language.tokenizer import TextTokenizer

MODES = ("template", "search")


def _per_mode(value, name: str) -> dict:
    """Accept one value for both modes or a {'template': ..., 'search': ...} dict."""
    if isinstance(value, dict):
        missing = [m for m in MODES if m not in value]
        if missing:
            raise ValueError(f"{name} needs values for {missing}, got {value}")
        return {m: value[m] for m in MODES}
    return {m: value for m in MODES}


class TrackingProcessing:
    def __init__(self, search_area_factor=None, output_sz=None, center_jitter=None, scale_jitter=None,
                 feat_stride: int = 16, tokenizer: "TextTokenizer | None" = None, augment: bool = True,
                 max_text_len: int = 40, augmentation: PairAugmentation | None = None):
        self.search_area_factor = _per_mode(search_area_factor or {"template": 2.0, "search": 4.0},
                                            "search_area_factor")
        self.output_sz = _per_mode(output_sz or {"template": 128, "search": 256}, "output_sz")
        self.center_jitter = _per_mode(center_jitter if center_jitter is not None
                                       else {"template": 0, "search": 3}, "center_jitter")
        self.scale_jitter = _per_mode(scale_jitter if scale_jitter is not None
                                      else {"template": 0, "search": 0.25}, "scale_jitter")
        if feat_stride < 1 or self.output_sz["search"] // feat_stride < 1:
            raise ValueError(f"feat_stride {feat_stride} does not fit search size {self.output_sz['search']}")
        self.feat_stride = int(feat_stride)
        self.feat_sz = self.output_sz["search"] // self.feat_stride
        if tokenizer is not None and tokenizer.max_len != max_text_len:
            raise ValueError(f"tokenizer.max_len {tokenizer.max_len} differs from max_text_len {max_text_len}")
        self.tokenizer = tokenizer
        self.max_text_len = max_text_len
        self.augment = augment
        self.augmentation = augmentation or PairAugmentation()

    def _jitter(self, box: tuple[float, ...], mode: str, rng: np.random.Generator) -> tuple[float, float, float]:
        """Jittered centre (cx, cy) and crop side. Always draws 4 numbers (stable random stream)."""
        x, y, w, h = box
        size_noise, centre_noise = rng.standard_normal(2), rng.random(2) - 0.5
        jittered_w = w * math.exp(size_noise[0] * self.scale_jitter[mode])
        jittered_h = h * math.exp(size_noise[1] * self.scale_jitter[mode])
        extent = math.sqrt(jittered_w * jittered_h)
        cx = x + w / 2 + centre_noise[0] * extent * self.center_jitter[mode]
        cy = y + h / 2 + centre_noise[1] * extent * self.center_jitter[mode]
        return cx, cy, extent * self.search_area_factor[mode]

    def _crops(self, images, boxes, mode: str, roll: PairRoll, rng: np.random.Generator,
               twins=None) -> dict | None:
        """``twins``: the same frames enhanced (MLKD's teacher), cut with the same geometry, flip and grayscale,
        without the brightness jitter (the teacher sees the clean enhanced view)."""
        # per-pair geometry in numpy float64 and Python floats: as torch ops these few-element tensors cost more in
        # dispatch than the whole warp
        size = int(self.output_sz[mode])
        pixels, masks, norm_boxes, twin_pixels = [], [], [], []
        for i, (image, box) in enumerate(zip(images, boxes)):
            # the sampler passes only visible frames: a NaN or empty box here is a bug upstream
            box = check_box(box, f"{mode} box {i} (visible frames must have finite, positive-size boxes)")
            cx, cy, side = self._jitter(box, mode, rng)
            if not side >= MIN_CROP_SIDE:
                return None
            crop, mask, transform = crop_square(image, (cx, cy), side, size)
            if mode == "search" and (mask.all() or self._downsampled(mask).all()):
                return None  # nothing but padding for the network to look at
            x, y, w, h = transform.box_to_crop(np.asarray(box)).tolist()
            if not (0 <= (x + w / 2) / size < 1 and 0 <= (y + h / 2) / size < 1):
                return None  # the target centre is not in the crop: no centre-head target
            if twins is not None:
                twin, _, _ = crop_square(twins[i], (cx, cy), side, size)
                twin = to_grayscale(twin) if roll.grayscale else twin
                twin_pixels.append(normalize_image(twin[:, ::-1] if roll.flip else twin, 1.0).numpy())
            if roll.grayscale:
                crop = to_grayscale(crop)
            if roll.flip:
                crop, mask, x = crop[:, ::-1], mask[:, ::-1], size - x - w  # flip_box, on floats
            brightness = self.augmentation.brightness(rng) if self.augment else 1.0
            pixels.append(normalize_image(crop, brightness).numpy())
            masks.append(mask)
            # the part of the box inside the crop: targets stay in [0, 1] like the box head's outputs
            x0, y0 = min(max(x / size, 0.0), 1.0), min(max(y / size, 0.0), 1.0)
            x1, y1 = min(max((x + w) / size, 0.0), 1.0), min(max((y + h) / size, 0.0), 1.0)
            norm_boxes.append((x0, y0, x1 - x0, y1 - y0))
        out = {f"{mode}_images": torch.from_numpy(np.stack(pixels)),
               f"{mode}_anno": torch.from_numpy(np.array(norm_boxes, dtype=np.float32)),
               f"{mode}_masks": torch.from_numpy(np.stack(masks))}
        if twins is not None:
            out[f"{mode}_teacher_images"] = torch.from_numpy(np.stack(twin_pixels))
        return out

    def _downsampled(self, mask: np.ndarray) -> np.ndarray:
        """The mask seen by the backbone: one value per feature cell, taken at the cell centre."""
        s = self.feat_stride
        return mask[s // 2::s, s // 2::s][: mask.shape[0] // s, : mask.shape[1] // s]

    def __call__(self, data: dict, rng: np.random.Generator) -> dict | None:
        roll = self.augmentation.roll(rng) if self.augment else PairRoll()
        out: dict = {}
        for mode in MODES:
            crops = self._crops(data[f"{mode}_images"], data[f"{mode}_anno"], mode, roll, rng,
                                data.get(f"{mode}_teacher_images"))
            if crops is None:
                return None
            out.update(crops)
        out["search_heatmap"] = gaussian_heatmap(out["search_anno"], self.feat_sz)
        if self.tokenizer is not None:
            sentence = data.get("language")
            text = self.tokenizer(swap_left_right(sentence) if roll.flip else sentence)
            out.update(text_ids=text["ids"], text_mask=text["mask"], text_valid=torch.tensor(text["valid"]))
        return out

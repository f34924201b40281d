"""Square crops around a target, shared by training (processing) and test-time tracking.

Geometry is continuous: pixel ``i`` spans ``[i, i + 1)``, so a box ``x, y, w, h`` covers ``[x, x + w)``. A crop
of side ``s`` (image pixels, not rounded) centred on ``(cx, cy)`` and resized to ``output_sz`` is the affine map
``x' = a * x + b`` with ``a = output_sz / s`` and ``b = -a * (cx - s / 2)`` (same for y). One ``cv2.warpAffine``
does crop, resize and zero padding at once, with exact sub-pixel geometry, and costs only ``output_sz**2``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, TypeVar

import cv2
import numpy as np
import torch

MIN_CROP_SIDE = 1.0  # image pixels; smaller crops would magnify a sub-pixel region (degenerate box)

BoxLike = TypeVar("BoxLike", np.ndarray, torch.Tensor)


@dataclass(frozen=True)
class CropTransform:
    """Image -> crop pixel coordinates: ``crop = scale * image + offset`` (continuous coordinates)."""
    scale: float                   # crop pixels per image pixel (output_sz / side)
    offset: tuple[float, float]    # (bx, by)

    def box_to_crop(self, box_xywh: BoxLike | Sequence[float]) -> BoxLike:
        """Box(es) ``(..., 4)`` x, y, w, h in image pixels -> crop pixels (same type; lists become arrays)."""
        return _apply(box_xywh, self.scale, self.offset[0], self.offset[1])

    def box_to_image(self, box_xywh: BoxLike | Sequence[float]) -> BoxLike:
        """Exact inverse of :meth:`box_to_crop` (the tracker maps its predictions back with it)."""
        inv = 1.0 / self.scale
        return _apply(box_xywh, inv, -self.offset[0] * inv, -self.offset[1] * inv)

    def warp_matrix(self) -> np.ndarray:
        """2x3 matrix for ``cv2.warpAffine``, which works in pixel-centre coordinates (pixel i is at i, not i+0.5):
        ``u + 0.5 = a (x + 0.5) + b``  =>  translation ``b + 0.5 a - 0.5``."""
        a = self.scale
        tx, ty = (o + 0.5 * a - 0.5 for o in self.offset)
        return np.array([[a, 0.0, tx], [0.0, a, ty]], dtype=np.float64)


def _apply(box, scale: float, bx: float, by: float):
    """x' = scale * x + bx, y' = scale * y + by, w' = scale * w, h' = scale * h, computed in float64."""
    is_tensor = isinstance(box, torch.Tensor)
    arr = box.detach().cpu().double().numpy() if is_tensor else np.asarray(box, dtype=np.float64)
    if arr.shape[-1:] != (4,):
        raise ValueError(f"boxes must have shape (..., 4) (x, y, w, h), got {arr.shape}")
    out = arr * scale
    out[..., 0] += bx
    out[..., 1] += by
    if is_tensor:
        return torch.from_numpy(out).to(dtype=box.dtype if box.is_floating_point() else torch.float64,
                                        device=box.device)
    return out


def crop_transform(center_xy: Sequence[float], side: float, output_sz: int) -> CropTransform:
    """The map taking the square of ``side`` image pixels centred on ``center_xy`` onto ``[0, output_sz)^2``."""
    cx, cy = (float(c) for c in center_xy)
    side = float(side)
    if not (math.isfinite(cx) and math.isfinite(cy)):
        raise ValueError(f"crop centre must be finite, got ({cx}, {cy})")
    if not (math.isfinite(side) and side >= MIN_CROP_SIDE):
        raise ValueError(f"crop side {side} px is below the minimum {MIN_CROP_SIDE} px (centre ({cx:.2f}, {cy:.2f}))")
    if int(output_sz) != output_sz or output_sz < 1:
        raise ValueError(f"output_sz must be a positive integer, got {output_sz}")
    scale = output_sz / side
    return CropTransform(scale=scale, offset=(-scale * (cx - side / 2), -scale * (cy - side / 2)))


def padding_mask(transform: CropTransform, image_hw: tuple[int, int], output_sz: int) -> np.ndarray:
    """(output_sz, output_sz) bool, True where the crop pixel's centre falls outside the image."""
    height, width = image_hw
    centres = np.arange(output_sz, dtype=np.float64) + 0.5
    x_img = (centres - transform.offset[0]) / transform.scale
    y_img = (centres - transform.offset[1]) / transform.scale
    outside_x = (x_img < 0) | (x_img >= width)
    outside_y = (y_img < 0) | (y_img >= height)
    return outside_y[:, None] | outside_x[None, :]


def crop_square(image: np.ndarray, center_xy: Sequence[float], side: float, output_sz: int
                ) -> tuple[np.ndarray, np.ndarray, CropTransform]:
    """Crop a ``side`` x ``side`` square centred on ``center_xy``, resized to ``output_sz``, zero padded.

    Returns (crop HxW[xC] same dtype as ``image``, padding mask bool, CropTransform).
    """
    transform = crop_transform(center_xy, side, output_sz)
    crop = cv2.warpAffine(image, transform.warp_matrix(), (int(output_sz), int(output_sz)),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop, padding_mask(transform, image.shape[:2], int(output_sz)), transform


def check_box(box_xywh: Sequence[float] | np.ndarray | torch.Tensor, what: str = "box") -> tuple[float, ...]:
    """x, y, w, h as floats; an error naming the values unless all are finite and w, h > 0."""
    values = tuple(float(v) for v in (box_xywh.tolist() if hasattr(box_xywh, "tolist") else box_xywh))
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] <= 0 or values[3] <= 0:
        raise ValueError(f"{what} must be 4 finite values x, y, w, h with w, h > 0, got {values}")
    return values


def sample_target(image: np.ndarray, box_xywh: Sequence[float] | np.ndarray | torch.Tensor, area_factor: float,
                  output_sz: int) -> tuple[np.ndarray, np.ndarray, CropTransform]:
    """Test-time crop: side ``sqrt(w * h) * area_factor`` centred on the box centre."""
    x, y, w, h = check_box(box_xywh)
    return crop_square(image, (x + w / 2, y + h / 2), math.sqrt(w * h) * area_factor, output_sz)

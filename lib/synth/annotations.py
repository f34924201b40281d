"""Per-frame ground truth of the target: the visible-in-image box, absence and how much of it is seen.

Visibility is measured on the rasterized shape: the fraction of its pixels that fall inside the image and
are not under an occluder. The box is the shape's extent clipped to the image (a partially occluded target
keeps its full box, as annotators draw it); a frame is absent when too little of the target is seen.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .constants import ABSENT_MAX_VISIBLE
from .shapes import rasterize_mask

if TYPE_CHECKING:
    from .scene import Scene


@dataclass
class Annotation:
    boxes: np.ndarray  # (n, 4) x, y, w, h of the visible-in-image box, 2 decimals; zeros when absent
    absent: np.ndarray  # (n,) bool
    full_boxes: np.ndarray  # (n, 4) x, y, w, h of the whole shape, not clipped to the image
    in_view: np.ndarray  # (n,) fraction of the target's pixels inside the image
    occluded: np.ndarray  # (n,) fraction of its in-image pixels under an occluder
    visible: np.ndarray  # (n,) fraction of its pixels that are seen


def annotate(scene: "Scene") -> Annotation:
    width, height = scene.frame_size
    n = scene.n_frames
    boxes = np.zeros((n, 4))
    full = np.zeros((n, 4))
    in_view, occluded, visible = np.zeros(n), np.zeros(n), np.zeros(n)
    absent = np.zeros(n, bool)
    target = scene.target
    for t in range(n):
        pts = target.points(t).astype(np.float64)
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
        full[t] = (x0, y0, x1 - x0, y1 - y0)
        mask, mx, my = rasterize_mask(target.class_name, pts)
        total = int(np.count_nonzero(mask))
        ix0, iy0 = max(mx, 0), max(my, 0)
        ix1, iy1 = min(mx + mask.shape[1], width), min(my + mask.shape[0], height)
        if total and ix1 > ix0 and iy1 > iy0:
            inside = mask[iy0 - my:iy1 - my, ix0 - mx:ix1 - mx].astype(bool)
            cam_x, cam_y = scene.camera[t]
            cover = scene.occluders.mask[cam_y + iy0:cam_y + iy1, cam_x + ix0:cam_x + ix1]
            n_inside = int(np.count_nonzero(inside))
            n_hidden = int(np.count_nonzero(inside & cover))
            in_view[t] = n_inside / total
            occluded[t] = n_hidden / n_inside if n_inside else 0.0
            visible[t] = (n_inside - n_hidden) / total
        # round the corners (not x and w) so that x + w never leaves the image
        bx0, bx1 = np.round(np.clip([x0, x1], 0, width), 2)
        by0, by1 = np.round(np.clip([y0, y1], 0, height), 2)
        box = np.array([bx0, by0, round(bx1 - bx0, 2), round(by1 - by0, 2)])
        if visible[t] < ABSENT_MAX_VISIBLE or box[2] < 1 or box[3] < 1:
            absent[t] = True
        else:
            boxes[t] = box
    return Annotation(boxes=boxes, absent=absent, full_boxes=full, in_view=in_view, occluded=occluded,
                      visible=visible)

"""WebUAV-3M attribute flags of a generated sequence, computed from its scene and annotation.

Order (17 integers): 0 Low_resolution, 1 Partial_occlusion, 2 Full_occlusion, 3 Out_of_view, 4 Fast_motion,
5 Camera_motion, 6 Viewpoint_change, 7 Rotation, 8 Deformation, 9 Background_clutters, 10 Scale_variation,
11 Aspect_ratio_variation, 12 Illumination_variation, 13 Motion_blur (all binary), 14 complexity {0,1,2},
15 size {0 small, 1 medium, 2 large}, 16 length {0 short, 1 medium, 2 long}.

Viewpoint change, deformation and motion blur are never simulated and stay 0. "Present" frames are the
non-absent ones. The thresholds below define the flags.
"""
from __future__ import annotations

import numpy as np

from .annotations import Annotation
from .scene import Scene

NAMES = ("Low_resolution", "Partial_occlusion", "Full_occlusion", "Out_of_view", "Fast_motion",
         "Camera_motion", "Viewpoint_change", "Rotation", "Deformation", "Background_clutters",
         "Scale_variation", "Aspect_ratio_variation", "Illumination_variation", "Motion_blur",
         "complexity", "size", "length")

LOW_RES_AREA = 144.0  # px^2: a present box smaller than 12 x 12 ...
LOW_RES_MIN_FRACTION = 0.2  # ... in at least this fraction of present frames -> Low_resolution
PARTIAL_OCCLUSION_MIN = 0.15  # a present frame with at least this fraction of the in-image target occluded
FULL_OCCLUSION_MIN_IN_VIEW = 0.5  # an absent frame with at least this fraction in the image: hidden, not gone
OUT_OF_VIEW_MAX_INSIDE = 0.5  # a frame with less than this fraction of the target inside the image
FAST_MOTION_REL = 0.25  # centre moves more than this x box size (sqrt(w h)) between consecutive frames ...
FAST_MOTION_MIN_FRAMES = 5  # ... in at least this many frames
CAMERA_MOTION_PX = 0.3  # mean camera drift, px/frame
ROTATION_DEG = 60.0  # range of the target's heading over present frames
CLUTTER_DIST = 2.5  # a distractor's centre within this x target size of the target's centre ...
CLUTTER_MIN_FRACTION = 0.2  # ... in at least this fraction of present frames -> Background_clutters
SCALE_VARIATION = 1.25  # object scale vs frame 1 outside [1/1.25, 1.25] on a present frame
ASPECT_VARIATION = 2.0  # box aspect ratio vs frame 1 outside [1/2, 2] on a present frame
ILLUMINATION_DELTA = 0.2  # cloud-shade light factor on the target varies more than this
COMPLEXITY_BINS = (5, 7)  # number of binary flags set: < 5 -> 0, < 7 -> 1, else 2
SIZE_BINS = (12.0, 20.0)  # median sqrt(area) of present boxes: < 12 small, < 20 medium, else large
LENGTH_BINS = (80, 110)  # frames: <= 80 short, <= 110 medium, else long


def _bin(value: float, edges: tuple, inclusive: bool = False) -> int:
    return sum(value > e if inclusive else value >= e for e in edges)


def compute_attributes(scene: Scene, ann: Annotation) -> list[int]:
    present = ~ann.absent
    target = scene.target
    n = scene.n_frames
    flags = [0] * 17
    w, h = ann.boxes[:, 2], ann.boxes[:, 3]
    area = w * h
    flags[0] = int(np.mean(area[present] < LOW_RES_AREA) >= LOW_RES_MIN_FRACTION)
    flags[1] = int(np.any(present & (ann.occluded >= PARTIAL_OCCLUSION_MIN)))
    flags[2] = int(np.any(ann.absent & (ann.in_view >= FULL_OCCLUSION_MIN_IN_VIEW)))
    flags[3] = int(np.any(ann.in_view < OUT_OF_VIEW_MAX_INSIDE))

    full = ann.full_boxes
    centres = full[:, :2] + full[:, 2:] / 2
    step = np.hypot(*np.diff(centres, axis=0).T)
    size = np.sqrt(full[:, 2] * full[:, 3])
    both_present = present[1:] & present[:-1]
    flags[4] = int(np.sum(both_present & (step > FAST_MOTION_REL * size[1:])) >= FAST_MOTION_MIN_FRAMES)
    drift = np.hypot(*np.diff(scene.camera.astype(np.float64), axis=0).T)
    flags[5] = int(drift.mean() > CAMERA_MOTION_PX) if n > 1 else 0

    heading = np.unwrap(target.path.heading)[present]
    flags[7] = int(np.degrees(heading.max() - heading.min()) > ROTATION_DEG)

    near = np.zeros(n, bool)
    for d in scene.distractors:
        dist = np.hypot(d.path.x - target.path.x, d.path.y - target.path.y)
        near |= dist < CLUTTER_DIST * target.size * target.scale
    flags[9] = int(np.mean(near[present]) >= CLUTTER_MIN_FRACTION)

    rel_scale = target.scale[present] / target.scale[0]
    flags[10] = int(np.any((rel_scale > SCALE_VARIATION) | (rel_scale < 1 / SCALE_VARIATION)))
    aspect = full[:, 2] / full[:, 3]
    rel_aspect = aspect[present] / aspect[0]
    flags[11] = int(np.any((rel_aspect > ASPECT_VARIATION) | (rel_aspect < 1 / ASPECT_VARIATION)))

    if scene.shade is not None:
        xs = np.clip(np.round(target.path.x + scene.camera[:, 0]).astype(int), 0, scene.shade.shape[1] - 1)
        ys = np.clip(np.round(target.path.y + scene.camera[:, 1]).astype(int), 0, scene.shade.shape[0] - 1)
        light = scene.shade[ys, xs][present]
        flags[12] = int(light.max() - light.min() > ILLUMINATION_DELTA)

    flags[14] = _bin(sum(flags[:14]), COMPLEXITY_BINS)
    flags[15] = _bin(float(np.median(np.sqrt(area[present]))), SIZE_BINS)
    flags[16] = _bin(n, LENGTH_BINS, inclusive=True)
    return flags

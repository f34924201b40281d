"""Target classes: each one a distinct top-down drawing built from a few convex polygons.

A shape is defined in local units: x runs along the heading (front at +0.5), y across it (-0.5..0.5); the
units are scaled by the object's length (along) and width (across), rotated to the heading and placed at
the centre. Image coordinates follow the box convention: pixel i covers [i, i+1).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .palette import GLASS, HAIR, shade

_SUBPIXEL_BITS = 4  # cv2 drawing with 1/16 pixel precision
_SUBPIXEL = 1 << _SUBPIXEL_BITS


@dataclass(frozen=True)
class ClassSpec:
    name: str  # the noun the sentence uses
    size_px: tuple[float, float]  # longest side at frame 1, pixels
    aspect: float  # length along the heading / width across it, within [0.5, 2] (box aspect ratios)
    speed_px: tuple[float, float]  # image motion, pixels per frame
    verbs: tuple[str, ...]
    has_lights: bool  # headlights and tail lights at night
    on_water: bool


MIN_SIZE_PX, MAX_SIZE_PX = 8.0, 40.0  # longest side of any object over a whole sequence (scale included)
CLASSES: dict[str, ClassSpec] = {
    "car": ClassSpec("car", (12, 26), 1.9, (1.2, 3.0), ("driving", "moving", "heading"), True, False),
    "van": ClassSpec("van", (14, 28), 1.7, (1.2, 2.8), ("driving", "moving", "heading"), True, False),
    "truck": ClassSpec("truck", (18, 30), 2.0, (1.0, 2.5), ("driving", "moving", "heading"), True, False),
    "bus": ClassSpec("bus", (20, 30), 2.0, (1.0, 2.4), ("driving", "moving", "heading"), True, False),
    "boat": ClassSpec("boat", (14, 28), 2.0, (1.0, 2.6), ("sailing", "moving", "heading"), True, True),
    "person": ClassSpec("person", (8, 11), 0.6, (0.8, 1.6), ("walking", "moving"), False, False),
}
LAND_CLASSES = tuple(name for name, spec in CLASSES.items() if not spec.on_water)


def _rect(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def _chamfered_rect(x0: float, x1: float, y0: float, y1: float, cx: float, cy: float) -> np.ndarray:
    """Rectangle with cut corners: reads as a rounded car body at these sizes."""
    return np.array([[x0 + cx, y0], [x1 - cx, y0], [x1, y0 + cy], [x1, y1 - cy],
                     [x1 - cx, y1], [x0 + cx, y1], [x0, y1 - cy], [x0, y0 + cy]], np.float32)


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 14) -> np.ndarray:
    a = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], 1).astype(np.float32)


# (polygon in local units, colour role); the first polygon is the body, drawn first and used for the shadow
_PARTS: dict[str, list[tuple[np.ndarray, str]]] = {
    "car": [
        (_chamfered_rect(-0.5, 0.5, -0.5, 0.5, 0.12, 0.25), "body"),
        (_rect(-0.30, 0.10, -0.38, 0.38), "roof"),
        (np.array([[0.10, -0.40], [0.27, -0.33], [0.27, 0.33], [0.10, 0.40]], np.float32), "glass"),
        (_rect(-0.40, -0.30, -0.34, 0.34), "glass"),
    ],
    "van": [
        (_chamfered_rect(-0.5, 0.5, -0.5, 0.5, 0.06, 0.15), "body"),
        (_rect(-0.46, 0.28, -0.40, 0.40), "roof"),
        (_rect(0.31, 0.42, -0.42, 0.42), "glass"),
    ],
    "truck": [
        (_rect(-0.5, 0.2, -0.5, 0.5), "body"),
        (_rect(0.25, 0.5, -0.44, 0.44), "cab"),
        (_rect(-0.46, 0.16, -0.06, 0.06), "roof"),
        (_rect(0.41, 0.47, -0.38, 0.38), "glass"),
    ],
    "bus": [
        (_chamfered_rect(-0.5, 0.5, -0.5, 0.5, 0.05, 0.2), "body"),
        (_rect(-0.44, 0.40, 0.30, 0.42), "glass"),
        (_rect(-0.44, 0.40, -0.42, -0.30), "glass"),
        (_rect(0.42, 0.48, -0.40, 0.40), "glass"),
        (_rect(-0.15, 0.10, -0.18, 0.18), "unit"),
    ],
    "boat": [
        (np.array([[-0.5, -0.42], [0.18, -0.5], [0.5, 0.0], [0.18, 0.5], [-0.5, 0.42]], np.float32), "body"),
        (_rect(-0.30, 0.02, -0.28, 0.28), "cabin"),
        (_rect(-0.02, 0.04, -0.24, 0.24), "glass"),
    ],
    "person": [
        (_ellipse(0.0, 0.0, 0.5, 0.5), "body"),
        (_ellipse(0.05, 0.0, 0.36, 0.22, 10), "hair"),
    ],
}
_ALL_POINTS = {name: np.concatenate([p for p, _ in parts]) for name, parts in _PARTS.items()}


def _part_slices(parts: list) -> list[slice]:
    ends = np.cumsum([len(p) for p, _ in parts])
    return [slice(int(end - len(p)), int(end)) for (p, _), end in zip(parts, ends)]


_SLICES = {name: _part_slices(parts) for name, parts in _PARTS.items()}  # rows of each part in _ALL_POINTS


def part_colours(class_name: str, rgb: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """Colour of each part of a class drawn in base colour ``rgb``: the base colour dominates the body."""
    light = sum(rgb) > 600  # white bodies get darker details, others lighter
    roles = {
        "body": rgb,
        "roof": shade(rgb, 0.86 if light else 1.18),
        "cab": shade(rgb, 0.9 if light else 0.8),
        "glass": GLASS,
        "unit": (196, 198, 204) if not light else (150, 152, 158),
        "cabin": (236, 236, 236) if not light else (120, 128, 138),
        "hair": HAIR,
    }
    return [roles[role] for _, role in _PARTS[class_name]]


def dimensions(spec: ClassSpec, size: float) -> tuple[float, float]:
    """(length along heading, width across) of an object whose longest side is ``size`` pixels."""
    if spec.aspect >= 1.0:
        return size, size / spec.aspect
    return size * spec.aspect, size


def placed_points(class_name: str, x: float, y: float, heading: float, length: float,
                  width: float) -> np.ndarray:
    """All outline points of the shape in image coordinates, (k, 2) float32."""
    local = _ALL_POINTS[class_name] * np.array([length, width], np.float32)
    c, s = np.cos(heading), np.sin(heading)
    rot = np.array([[c, s], [-s, c]], np.float32)  # row-vector form of [[c, -s], [s, c]]
    return local @ rot + np.array([x, y], np.float32)


def body_points(class_name: str, points: np.ndarray) -> np.ndarray:
    """The outline of the body (the first part): shadows are cast by it."""
    return points[_SLICES[class_name][0]]


def to_cv(points: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Box-convention float points -> cv2 fixed-point (pixel centres at integers), for shift=_SUBPIXEL_BITS."""
    shifted = (points - np.array(offset, np.float32) - 0.5) * _SUBPIXEL
    return np.round(shifted).astype(np.int32)


def fill_polygon(img: np.ndarray, points: np.ndarray, colour, antialias: bool = True,
                 offset: tuple[float, float] = (0.0, 0.0)) -> None:
    line = cv2.LINE_AA if antialias else cv2.LINE_8
    cv2.fillConvexPoly(img, to_cv(points, offset), colour, lineType=line, shift=_SUBPIXEL_BITS)


def draw_shape(img: np.ndarray, class_name: str, points: np.ndarray, colours) -> None:
    fixed = to_cv(points)  # convert once, then draw part by part
    for part, colour in zip(_SLICES[class_name], colours):
        cv2.fillConvexPoly(img, fixed[part], colour, lineType=cv2.LINE_AA, shift=_SUBPIXEL_BITS)


def rasterize_mask(class_name: str, points: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Binary mask of the shape in its own integer bounding patch: (mask uint8, x0, y0)."""
    x0, y0 = np.floor(points.min(0)).astype(int) - 1
    x1, y1 = np.ceil(points.max(0)).astype(int) + 1
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    fixed = to_cv(points, (x0, y0))
    for part in _SLICES[class_name]:
        cv2.fillConvexPoly(mask, fixed[part], 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    return mask, int(x0), int(y0)

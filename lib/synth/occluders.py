"""Static occluders above the ground plane: tree canopies, roofs (sheds, canopies) and bridge strips.

They live in world (ground) coordinates and are drawn over every moving object, so a target passing under
one is partially or fully hidden. An occluder is a list of drawing primitives; its appearance is decided
when it is made, so drawing it is deterministic and its mask is exactly the pixels it paints.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

CANOPY_GREENS = [(46, 84, 38), (38, 72, 34), (58, 96, 44), (52, 78, 30)]
BRIDGE_DECK = (168, 166, 158)
BRIDGE_RAIL = (96, 96, 100)


@dataclass
class Occluder:
    kind: str  # 'tree', 'roof' or 'bridge'
    # ('poly', rgb, pts) | ('circle', rgb, (x, y), r) | ('line', rgb, p0, p1, thickness)
    primitives: list = field(default_factory=list)


@dataclass
class OccluderLayer:
    rgb: np.ndarray  # (H, W, 3) uint8, world coordinates
    mask: np.ndarray  # (H, W) bool, True where an occluder hides what is below
    occluders: list


def _pt(p) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _draw(img: np.ndarray, occ: Occluder, value=None) -> None:
    """Paint an occluder in its colours, or every primitive in ``value`` (for masks)."""
    for kind, colour, *geometry in occ.primitives:
        colour = colour if value is None else value
        if kind == "poly":
            cv2.fillPoly(img, [np.round(geometry[0]).astype(np.int32)], colour)
        elif kind == "circle":
            cv2.circle(img, _pt(geometry[0]), int(round(geometry[1])), colour, -1)
        elif kind == "line":
            cv2.line(img, _pt(geometry[0]), _pt(geometry[1]), colour, geometry[2])
        else:
            raise ValueError(f"unknown occluder primitive {kind!r}")


def occluder_mask(occ: Occluder, height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    _draw(mask, occ, 1)
    return mask.astype(bool)


def build_layer(occluders: list, height: int, width: int) -> OccluderLayer:
    rgb = np.zeros((height, width, 3), np.uint8)
    mask = np.zeros((height, width), np.uint8)
    for occ in occluders:
        _draw(rgb, occ)
        _draw(mask, occ, 1)
    return OccluderLayer(rgb=rgb, mask=mask.astype(bool), occluders=list(occluders))


def _rect(cx: float, cy: float, length: float, width: float, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    corners = np.array([[-length / 2, -width / 2], [length / 2, -width / 2],
                        [length / 2, width / 2], [-length / 2, width / 2]])
    return corners @ np.array([[c, s], [-s, c]]) + np.array([cx, cy])


def make_tree(rng: np.random.Generator, cx: float, cy: float, radius: float) -> Occluder:
    """A canopy of overlapping crowns; a solid core of 0.8 * radius guarantees it can hide a target."""
    base = CANOPY_GREENS[rng.integers(len(CANOPY_GREENS))]
    prims: list = [("circle", base, (cx, cy), 0.8 * radius)]
    for _ in range(rng.integers(4, 8)):
        a, d = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 0.5) * radius
        r = rng.uniform(0.35, 0.55) * radius
        tone = tuple(int(np.clip(v * rng.uniform(0.85, 1.2), 0, 255)) for v in base)
        prims.append(("circle", tone, (cx + d * np.cos(a), cy + d * np.sin(a)), r))
    light = rng.uniform(0, 2 * np.pi)  # sunlit side of the crown
    for _ in range(rng.integers(2, 5)):
        d = rng.uniform(0.1, 0.45) * radius
        a = light + rng.normal(0, 0.6)
        tone = tuple(int(min(255, v * rng.uniform(1.25, 1.5))) for v in base)
        prims.append(("circle", tone, (cx + d * np.cos(a), cy + d * np.sin(a)), rng.uniform(0.15, 0.3) * radius))
    return Occluder("tree", prims)


def make_roof(rng: np.random.Generator, cx: float, cy: float, length: float, width: float,
              angle: float) -> Occluder:
    """A shed or canopy roof: two slopes in different light with a ridge line."""
    base = np.array([(150, 74, 58), (118, 118, 124), (176, 170, 150), (92, 100, 112)][rng.integers(4)], np.float64)
    c, s = np.cos(angle), np.sin(angle)
    across = np.array([-s, c])
    prims: list = []
    for sign, light in ((1, 1.15), (-1, 0.8)):
        centre = np.array([cx, cy]) + across * sign * width / 4
        prims.append(("poly", tuple(int(min(255, v * light)) for v in base),
                      _rect(centre[0], centre[1], length, width / 2, angle)))
    end = np.array([c, s]) * length / 2
    prims.append(("line", tuple(int(min(255, v * 1.3)) for v in base),
                  np.array([cx, cy]) - end, np.array([cx, cy]) + end, 1))
    return Occluder("roof", prims)


def make_bridge(rng: np.random.Generator, cx: float, cy: float, angle: float, width: float,
                reach: float) -> Occluder:
    """A straight deck of ``width`` running along ``angle`` through (cx, cy) for ``reach`` px each way."""
    c, s = np.cos(angle), np.sin(angle)
    along, across = np.array([c, s]), np.array([-s, c])
    centre = np.array([cx, cy])
    deck = tuple(int(np.clip(v + rng.normal(0, 8), 0, 255)) for v in BRIDGE_DECK)
    prims: list = [("poly", deck, _rect(cx, cy, 2 * reach, width, angle))]
    rail = max(1, int(round(width / 12)))
    for sign in (1, -1):
        edge = centre + across * sign * (width / 2 - rail / 2)
        prims.append(("line", BRIDGE_RAIL, edge - along * reach, edge + along * reach, rail))
    if width >= 12:  # lane marking, dashed
        for start in np.arange(-reach, reach, 12.0):
            prims.append(("line", (220, 220, 214), centre + along * start, centre + along * (start + 6), 1))
    return Occluder("bridge", prims)

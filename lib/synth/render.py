"""Drawing a frame of a scene: slice the ground under the camera, draw the moving objects (with shadows,
boats with wakes), lay the static occluders over them and apply cloud shade. The result is the clean frame
that both the day (plus mild sensor noise) and the night rendering start from, so day/night pairs align.
"""
from __future__ import annotations

from statistics import NormalDist

import cv2
import numpy as np

from .constants import DAY_NOISE_SIGMA
from .scene import Agent, Scene
from .shapes import body_points, draw_shape, fill_polygon

SHADOW_DARKEN = 0.55  # ground under an object's shadow keeps this much light
SHADOW_OFFSET = 0.12  # shadow offset, in object sizes along the sun direction
WAKE = (196, 210, 218)


def gaussian_lut(sigma: float) -> np.ndarray:
    """Byte -> Gaussian value table (256 equiprobable quantiles, float64). Random bytes looked up in it give
    noise several times faster than drawing normals, which matters at ~15k frames per split."""
    return np.array([NormalDist().inv_cdf((i + 0.5) / 256) * sigma for i in range(256)])


_DAY_NOISE = np.round(gaussian_lut(DAY_NOISE_SIGMA)).astype(np.int16)


def random_bytes(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform random bytes; raw 64-bit draws are ~3x faster than Generator.bytes."""
    size = int(np.prod(shape))
    return rng.bit_generator.random_raw(-(-size // 8)).view(np.uint8)[:size].reshape(shape)


def add_day_noise(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = cv2.LUT(random_bytes(rng, frame.shape), _DAY_NOISE)
    return cv2.add(frame, noise, dtype=cv2.CV_8U)  # saturating add of signed noise


def _darken(frame: np.ndarray, pts: np.ndarray, factor: float) -> None:
    height, width = frame.shape[:2]
    x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(pts.max(0)).astype(int) + 1, (width, height))
    if x1 <= x0 or y1 <= y0:
        return
    roi = frame[y0:y1, x0:x1]
    mask = np.zeros(roi.shape[:2], np.uint8)
    fill_polygon(mask, pts, 1, antialias=False, offset=(x0, y0))
    sel = mask.astype(bool)
    roi[sel] = (roi[sel] * factor).astype(np.uint8)


def _in_frame(pts: np.ndarray, width: int, height: int, pad: float = 8) -> bool:
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    return x1 > -pad and y1 > -pad and x0 < width + pad and y0 < height + pad


def _wake(frame: np.ndarray, agent: Agent, t: int) -> None:
    """Two diverging foam lines behind a boat."""
    s = float(agent.scale[t])
    length, width = agent.length * s, agent.width * s
    h = float(agent.path.heading[t])
    along, across = np.array([np.cos(h), np.sin(h)]), np.array([-np.sin(h), np.cos(h)])
    centre = np.array([agent.path.x[t], agent.path.y[t]])
    for side in (-1, 1):
        start = centre - along * length * 0.45 + across * side * width * 0.35
        end = start - along * length * 1.3 + across * side * length * 0.45
        cv2.line(frame, tuple(np.round((start - 0.5) * 16).astype(int)), tuple(np.round((end - 0.5) * 16).astype(int)),
                 WAKE, 1, cv2.LINE_AA, 4)


class Renderer:
    """Renders the clean frames of one scene."""

    def __init__(self, scene: Scene):
        self.scene = scene
        self.width, self.height = scene.frame_size
        # draw order: distractors below the target (the target is never hidden by another vehicle)
        self.agents = list(scene.distractors) + [scene.target]
        self.shade = None
        if scene.shade is not None:
            self.shade = np.repeat((np.clip(scene.shade, 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)
        self.shadow_offset = scene.ground.sun.astype(np.float32)
        self.occluder_rgb = scene.occluders.rgb
        self.occluder_mask = scene.occluders.mask.astype(np.uint8)  # cv2.copyTo: ~50x faster than np.copyto

    def window(self, t: int) -> tuple[slice, slice]:
        cam_x, cam_y = (int(v) for v in self.scene.camera[t])
        return slice(cam_y, cam_y + self.height), slice(cam_x, cam_x + self.width)

    def clean(self, t: int) -> np.ndarray:
        """RGB uint8 frame t without sensor noise."""
        rows, cols = self.window(t)
        frame = self.scene.ground.image[rows, cols].copy()
        for agent in self.agents:
            pts = agent.points(t)
            if not _in_frame(pts, self.width, self.height):
                continue
            if agent.class_name == "boat":
                _wake(frame, agent, t)
            body = body_points(agent.class_name, pts)
            offset = self.shadow_offset * max(1.0, SHADOW_OFFSET * agent.size * float(agent.scale[t]))
            _darken(frame, body + offset, SHADOW_DARKEN)
            draw_shape(frame, agent.class_name, pts, agent.colours)
        frame = cv2.copyTo(self.occluder_rgb[rows, cols], self.occluder_mask[rows, cols], frame)
        if self.shade is not None:
            frame = cv2.multiply(frame, self.shade[rows, cols], scale=1.0 / 255.0)
        return frame

    def day(self, t: int, rng: np.random.Generator) -> np.ndarray:
        return add_day_noise(self.clean(t), rng)

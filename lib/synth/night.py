"""Night rendering of a scene, from the same clean frames as the day images (so pairs are pixel-aligned).

The clean frame is linearised with a gamma and lit by a weak, colour-cast ambient light (moonlight blue,
sodium orange or neutral), pools of street-lamp light around the ground's lamps, and the vehicles' own
headlight cones; lamps, headlights, tail lights and boats' navigation lights also glare. Sensor noise is
Gaussian read noise plus signal-dependent shot noise, both far stronger than by day.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .render import Renderer, gaussian_lut, random_bytes
from .scene import Scene
from .shapes import CLASSES

CASTS = {  # per-channel (RGB) gain of the ambient light
    "moonlight": (0.72, 0.86, 1.25),
    "sodium": (1.25, 0.95, 0.62),
    "neutral": (1.0, 1.0, 1.0),
}
LAMP_COLOURS = {"sodium": (1.0, 0.72, 0.38), "led": (0.92, 0.96, 1.0)}
AMBIENT = (0.10, 0.28)  # fraction of daylight left
GAMMA = (1.3, 1.9)
READ_NOISE = (0.012, 0.025)  # std, in [0, 1] intensity units
SHOT_NOISE = (0.001, 0.003)  # variance per unit of signal
LIT_LAMP_FRACTION = (0.3, 1.0)
DARK_AREA_PROB = 0.2  # no street lamps at all
HEADLIGHT = np.array([1.0, 0.95, 0.82], np.float32)
TAIL_LIGHT = np.array([0.9, 0.08, 0.05], np.float32)
_UNIT_NOISE = gaussian_lut(1.0).astype(np.float32)


@dataclass
class NightStyle:
    cast: str
    ambient: float
    gamma: float
    read_noise: float
    shot_noise: float
    lamp_colour: str
    lamp_radius: float
    lamp_strength: float


def draw_style(rng: np.random.Generator) -> NightStyle:
    return NightStyle(
        cast=str(rng.choice(list(CASTS))), ambient=rng.uniform(*AMBIENT), gamma=rng.uniform(*GAMMA),
        read_noise=rng.uniform(*READ_NOISE), shot_noise=rng.uniform(*SHOT_NOISE),
        lamp_colour=str(rng.choice(list(LAMP_COLOURS))), lamp_radius=rng.uniform(10, 20),
        lamp_strength=rng.uniform(0.6, 1.4))


def _point(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


class NightRenderer:
    """Night frames of one scene; ``rng`` is the sequence's night generator (style and noise)."""

    def __init__(self, scene: Scene, rng: np.random.Generator, renderer: Renderer | None = None):
        self.scene = scene
        self.rng = rng
        self.renderer = renderer or Renderer(scene)
        self.style = style = draw_style(rng)
        self.width, self.height = scene.frame_size
        self.linear = ((np.arange(256) / 255.0) ** style.gamma).astype(np.float32)
        ambient = style.ambient * np.array(CASTS[style.cast], np.float32)
        # world-sized light: ambient everywhere plus pools under the lit street lamps
        world_h, world_w = scene.ground.image.shape[:2]
        pools = np.zeros((world_h, world_w), np.float32)
        cores = np.zeros((world_h, world_w), np.float32)
        lamps = scene.ground.lamps
        if len(lamps) and rng.random() >= DARK_AREA_PROB:
            lit = lamps[rng.random(len(lamps)) < rng.uniform(*LIT_LAMP_FRACTION)]
            for p in lit:
                cv2.circle(pools, _point(p), int(style.lamp_radius), 1.0, -1)
                cv2.circle(cores, _point(p), 1, 1.0, -1)
        pools = cv2.GaussianBlur(pools, (0, 0), style.lamp_radius * 0.6)
        cores = cv2.GaussianBlur(cores, (0, 0), 1.5) * 3.0
        lamp_rgb = np.array(LAMP_COLOURS[style.lamp_colour], np.float32)
        self.illumination = ambient + style.lamp_strength * pools[..., None] * lamp_rgb
        self.glare = np.clip(cores, 0, 1)[..., None] * lamp_rgb

    def _vehicle_lights(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(headlight illumination (H, W), light glare (H, W, 3)) of the moving objects at frame t."""
        cones = np.zeros((self.height, self.width), np.float32)
        glare = np.zeros((self.height, self.width, 3), np.float32)
        for agent in self.renderer.agents:
            if not CLASSES[agent.class_name].has_lights:
                continue
            s = float(agent.scale[t])
            length, width = agent.length * s, agent.width * s
            h = float(agent.path.heading[t])
            along = np.array([np.cos(h), np.sin(h)])
            across = np.array([-along[1], along[0]])
            centre = np.array([agent.path.x[t], agent.path.y[t]])
            front, rear = centre + along * length / 2, centre - along * length / 2
            if agent.class_name == "boat":  # navigation lights: red port, green starboard, white mast
                for pos, colour in ((centre - across * width * 0.4, (1.0, 0.1, 0.1)),
                                    (centre + across * width * 0.4, (0.1, 1.0, 0.2)), (centre, (1.0, 1.0, 1.0))):
                    cv2.circle(glare, _point(pos), 1, colour, -1)
                continue
            cone = np.array([front + across * width * 0.4, front - across * width * 0.4,
                             front + along * length * 2.2 - across * width * 1.3,
                             front + along * length * 2.2 + across * width * 1.3])
            cv2.fillConvexPoly(cones, np.round(cone).astype(np.int32), 0.8)
            for side in (-1, 1):
                cv2.circle(glare, _point(front + across * side * width * 0.32), 1, HEADLIGHT.tolist(), -1)
                cv2.circle(glare, _point(rear + across * side * width * 0.32), 0, TAIL_LIGHT.tolist(), -1)
        cones = cv2.GaussianBlur(cones, (0, 0), 2.5)
        glare = cv2.GaussianBlur(glare, (0, 0), 0.8) * 2.0
        return cones, glare

    def frame(self, t: int, clean: np.ndarray | None = None) -> np.ndarray:
        """Night frame t as RGB uint8; pass the clean frame if it was already rendered.
        (cv2 arithmetic: several times faster than numpy on these float32 frames.)"""
        clean = self.renderer.clean(t) if clean is None else clean
        rows, cols = self.renderer.window(t)
        cones, vehicle_glare = self._vehicle_lights(t)
        hidden = self.scene.occluders.mask[rows, cols]  # lights under a bridge or tree do not shine through
        cones[hidden] = 0.0
        vehicle_glare[hidden] = 0.0
        light = cv2.add(self.illumination[rows, cols], cv2.merge([cones * float(c) for c in HEADLIGHT]))
        out = cv2.multiply(cv2.LUT(clean, self.linear), light)
        out = cv2.add(cv2.add(out, self.glare[rows, cols]), vehicle_glare)
        np.clip(out, 0.0, 1.0, out=out)
        std = cv2.sqrt(cv2.addWeighted(out, self.style.shot_noise, out, 0.0, self.style.read_noise ** 2))
        noise = cv2.LUT(random_bytes(self.rng, out.shape), _UNIT_NOISE)
        out = cv2.add(out, cv2.multiply(std, noise))
        return cv2.convertScaleAbs(np.clip(out, 0.0, 1.0, out=out), alpha=255.0)

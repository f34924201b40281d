"""One sequence's scene: ground, camera drift, target, distractors, occluders and cloud shade.

Everything random about a sequence comes from generators derived from (seed, split, index), so a sequence
does not depend on which worker makes it or in which order; the day and night renderings of a sequence are
drawn from the same scene. Object motion is planned in image coordinates (the camera drift only moves the
ground and what stands on it); static things live in world coordinates on the larger ground texture.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import motion
from .annotations import Annotation, annotate
from .constants import FRAME_H, FRAME_W, MAX_ABSENT_FRACTION, SEQUENCE_LENGTHS, SPLIT_IDS
from .ground import Ground, render_ground
from .occluders import Occluder, OccluderLayer, build_layer, make_bridge, make_roof, make_tree, occluder_mask
from .palette import COLOUR_NAMES, COLOURS, jitter
from .shapes import (CLASSES, LAND_CLASSES, MAX_SIZE_PX, MIN_SIZE_PX, dimensions, part_colours, placed_points,
                     rasterize_mask)

WORLD_MARGIN = 32  # ground beyond the area the camera ever sees (room for occluder placement)
TARGET_CLASS_WEIGHTS = {"car": 0.32, "van": 0.13, "truck": 0.13, "bus": 0.1, "boat": 0.12, "person": 0.2}
MAX_SCALE_CHANGE = 0.35  # scale stays within 1 +- this, relative to frame 1
STATIC_CAMERA_PROB = 0.25
CAMERA_SPEED = (0.3, 1.2)  # px/frame of the drift when the camera moves
DISTRACTOR_COUNTS = (2, 3)
OTHER_CLASS_DISTRACTOR_PROB = 0.35  # one distractor is another class in the target's colour
CONVOY_PROB = 0.3  # the nearest distractor drives alongside the target
# A look-alike twin (same class and colour) crosses the target's path mid-sequence, moving another way: only
# the sentence (which says how the target moves) tells the two apart once they have met.
TWIN_PROB = 0.5
TWIN_CROSSING = (0.3, 0.7)  # crossing frame, as a fraction of the sequence
TWIN_MIN_TURN = 0.5 * np.pi  # the twin's heading at the crossing differs from the target's by at least this
EXIT_PROB = {"train": 0.2, "val": 0.35, "test": 0.35}  # target leaves the view and comes back
# The target starts partly hidden (under a tree, roof or bridge) in some sequences: the first frame's template is
# then a poor picture of it, and the sentence says what to look for (the case language trackers are built for).
START_OCCLUSION_PROB = 0.35
START_VISIBLE = (0.3, 0.65)  # fraction of the target seen in frame 1 when it starts partly hidden
PATH_OCCLUDER_COUNTS = ((0, 1, 2), (0.25, 0.45, 0.3))  # occluders placed on the target's path, probabilities
FULL_OCCLUSION_PROB = 0.6  # a path occluder is big enough to hide the target completely
CLOUD_SHADE_PROB = 0.25
MAX_ATTEMPTS = 20


@dataclass
class Agent:
    """A moving object: the target or a distractor."""
    class_name: str
    colour_name: str
    colours: list  # RGB of each part of the class shape
    size: float  # longest side at frame 1, px
    length: float  # along the heading at scale 1
    width: float  # across the heading at scale 1
    path: motion.Path
    scale: np.ndarray  # (n,)

    def points(self, t: int) -> np.ndarray:
        s = float(self.scale[t])
        return placed_points(self.class_name, float(self.path.x[t]), float(self.path.y[t]),
                             float(self.path.heading[t]), self.length * s, self.width * s)

    @property
    def radius(self) -> float:
        """Half extent at the largest scale (border tests)."""
        return 0.5 * float(np.hypot(self.length, self.width) * self.scale.max())


@dataclass
class Scene:
    name: str
    n_frames: int
    frame_size: tuple[int, int]
    ground: Ground
    camera: np.ndarray  # (n, 2) int, top-left of the view window on the ground
    occluders: OccluderLayer
    shade: np.ndarray | None  # (H, W) float32 light factor of cloud shadows on the ground, or None
    target: Agent
    distractors: list  # the twin, if any, is one of them
    twin: Agent | None = None
    twin_crossing: int = -1  # frame at which the twin passes the target
    start_hidden: bool = False  # an occluder hides part of the target in frame 1


def sequence_rngs(seed: int, split: str, index: int) -> dict[str, np.random.Generator]:
    """Independent generators of one sequence: 'scene' and 'language' (shared by day and night), 'day' and
    'night' (rendering noise and night style)."""
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    names = ("scene", "language", "day", "night")
    children = np.random.SeedSequence([seed, SPLIT_IDS[split], index]).spawn(len(names))
    return {name: np.random.default_rng(ss) for name, ss in zip(names, children)}


def _choose(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.array([weights[k] for k in names], np.float64)
    return names[rng.choice(len(names), p=p / p.sum())]


def _make_agent(rng: np.random.Generator, n: int, class_name: str, colour_name: str, size: float,
                start: tuple[float, float], heading: float, speed: float, exit_plan=None, follow=None,
                max_scale_change: float = MAX_SCALE_CHANGE, through: int = 0) -> Agent:
    """An agent whose path passes ``start`` with ``heading`` at frame ``through`` (frame 0 by default)."""
    spec = CLASSES[class_name]
    length, width = dimensions(spec, size)
    scale = motion.scale_curve(rng, n, rng.uniform(0.05, max_scale_change), MIN_SIZE_PX / size, MAX_SIZE_PX / size)
    radius = 0.5 * float(np.hypot(length, width) * scale.max())
    frame = (FRAME_W, FRAME_H)
    path = motion.simulate_path(rng, n - through, start, heading, speed, radius, frame, exit_plan, follow)
    if through > 0:  # the frames before: the same steering run backwards in time from the same point
        back = motion.simulate_path(rng, through + 1, start, heading + np.pi, speed, radius, frame)
        path = motion.Path(np.concatenate([back.x[:0:-1], path.x]), np.concatenate([back.y[:0:-1], path.y]),
                           np.concatenate([back.heading[:0:-1] + np.pi, path.heading]))
    colours = part_colours(class_name, jitter(COLOURS[colour_name], rng, 8.0))
    return Agent(class_name, colour_name, colours, size, length, width, path, scale)


def _start_point(rng: np.random.Generator, margin: float) -> tuple[float, float]:
    return rng.uniform(margin, FRAME_W - margin), rng.uniform(margin, FRAME_H - margin)


def _place_distractors(rng: np.random.Generator, n: int, target: Agent, on_water: bool) -> list[Agent]:
    count = int(rng.integers(DISTRACTOR_COUNTS[0], DISTRACTOR_COUNTS[1] + 1))
    colours = [c for c in COLOUR_NAMES if c != target.colour_name]
    colours = [colours[i] for i in rng.permutation(len(colours))]
    other_class = (not on_water) and rng.random() < OTHER_CLASS_DISTRACTOR_PROB
    placed: list[tuple[float, float, float]] = [(target.path.x[0], target.path.y[0], target.radius)]
    agents = []
    for k in range(count):
        if other_class and k == count - 1:
            cls = str(rng.choice([c for c in LAND_CLASSES if c != target.class_name]))
            colour = target.colour_name
            size = rng.uniform(*CLASSES[cls].size_px)
        else:
            cls, colour = target.class_name, colours[k]
            size = float(np.clip(target.size * rng.uniform(0.85, 1.15), *CLASSES[cls].size_px))
        spec = CLASSES[cls]
        radius = 0.5 * float(np.hypot(*dimensions(spec, size))) * (1 + MAX_SCALE_CHANGE)
        convoy = k == 0 and rng.random() < CONVOY_PROB
        for _ in range(40):
            if k == 0:  # the nearest one starts close to the target: the sentence relates to it
                dist = target.radius + radius + rng.uniform(0.3, 2.0) * target.size
                a = rng.uniform(0, 2 * np.pi)
                x, y = target.path.x[0] + dist * np.cos(a), target.path.y[0] + dist * np.sin(a)
            else:
                x, y = _start_point(rng, radius + 4)
            inside = radius + 2 < x < FRAME_W - radius - 2 and radius + 2 < y < FRAME_H - radius - 2
            apart = all(np.hypot(x - px, y - py) > radius + pr + 4 for px, py, pr in placed)
            if inside and apart:
                break
        else:
            continue  # no room for this one
        placed.append((x, y, radius))
        if convoy:
            heading, speed, follow = target.path.heading[0], float(np.mean(np.hypot(
                np.diff(target.path.x), np.diff(target.path.y)))) * rng.uniform(0.9, 1.1), target.path
        else:
            heading, speed, follow = rng.uniform(0, 2 * np.pi), rng.uniform(*spec.speed_px), None
        agents.append(_make_agent(rng, n, cls, colour, size, (x, y), heading, speed, follow=follow,
                                  max_scale_change=0.3))
    return agents


def _place_twin(rng: np.random.Generator, n: int, target: Agent, others: list[Agent]) -> tuple[Agent, int] | None:
    """A same-class, same-colour agent that passes the target at a frame in TWIN_CROSSING, heading another way,
    and starts apart from the target; None when no such path is found."""
    for _ in range(10):
        t = int(rng.uniform(*TWIN_CROSSING) * n)
        x, y, h = float(target.path.x[t]), float(target.path.y[t]), float(target.path.heading[t])
        r = 0.5 * target.size
        if not (r < x < FRAME_W - r and r < y < FRAME_H - r):
            continue  # the target is out of view then
        side = rng.uniform(-0.6, 0.6) * target.size  # pass side by side or over each other
        start = (x - np.sin(h) * side, y + np.cos(h) * side)
        heading = h + np.pi + rng.uniform(-1, 1) * (np.pi - TWIN_MIN_TURN)
        size = float(np.clip(target.size * rng.uniform(0.95, 1.05), *CLASSES[target.class_name].size_px))
        speed = rng.uniform(*CLASSES[target.class_name].speed_px)
        twin = _make_agent(rng, n, target.class_name, target.colour_name, size, start, heading, speed,
                           max_scale_change=0.3, through=t)
        apart = all(np.hypot(twin.path.x[0] - a.path.x[0], twin.path.y[0] - a.path.y[0]) > twin.radius + a.radius + 4
                    for a in [target, *others])
        if apart:
            return twin, t
    return None


def _frame1_box_world(target: Agent, camera: np.ndarray, pad: int = 3) -> tuple[int, int, int, int]:
    pts = target.points(0) + camera[0]
    (x0, y0), (x1, y1) = np.floor(pts.min(0)).astype(int) - pad, np.ceil(pts.max(0)).astype(int) + pad
    return x0, y0, x1, y1


def _clear_of_target(occ: Occluder, box: tuple[int, int, int, int], world_h: int, world_w: int) -> bool:
    x0, y0, x1, y1 = box
    return not occluder_mask(occ, world_h, world_w)[y0:y1, x0:x1].any()


def _path_occluder(rng: np.random.Generator, target: Agent, camera: np.ndarray, t: int, on_water: bool,
                   reach: float, partial: bool = False) -> Occluder:
    """An occluder on the target's path at frame t: big enough to hide it fully, or covering part of it (always
    part of it when ``partial``)."""
    s = float(target.scale[t])
    length, width = target.length * s, target.width * s
    extent = max(length, width)
    heading = float(target.path.heading[t])
    along = np.array([np.cos(heading), np.sin(heading)])
    across = np.array([-along[1], along[0]])
    centre = np.array([target.path.x[t], target.path.y[t]]) + camera[t]
    full = rng.random() < FULL_OCCLUSION_PROB and not partial
    side = rng.choice([-1.0, 1.0])
    kinds = {"bridge": 0.7, "roof": 0.3} if on_water else {"tree": 0.45, "roof": 0.25, "bridge": 0.3}
    kind = _choose(rng, kinds)
    if kind == "tree":
        if full:  # the solid core (0.8 r) must contain the whole shape
            r = (0.55 * extent + 2) / 0.8 + rng.uniform(0, 4)
            c = centre + along * rng.uniform(-0.2, 0.2) * extent
        else:
            r = rng.uniform(0.5, 0.9) * extent / 2 + 2
            c = centre + across * side * (width / 2 + r * rng.uniform(0.3, 0.7))
        return make_tree(rng, c[0], c[1], r)
    if kind == "roof":
        angle = heading + rng.normal(0, 0.3)
        if full:
            return make_roof(rng, centre[0], centre[1], extent * rng.uniform(1.6, 2.4) + 6,
                             extent * rng.uniform(1.3, 1.8) + 6, angle)
        size = extent * rng.uniform(0.6, 1.0) + 2
        c = centre + across * side * (width / 2 + size * rng.uniform(0.2, 0.4))
        return make_roof(rng, c[0], c[1], size * 1.5, size, angle)
    deck = length * rng.uniform(1.3, 1.9) + 4 if full else length * rng.uniform(0.3, 0.6) + 2
    return make_bridge(rng, centre[0], centre[1], heading + np.pi / 2 + rng.normal(0, 0.2), deck, reach)


def _visible_in_frame1(target: Agent, camera: np.ndarray, occ: Occluder, world_h: int, world_w: int) -> float:
    """Fraction of the target's pixels in frame 1 that ``occ`` leaves uncovered."""
    pts = target.points(0)
    mask, x0, y0 = rasterize_mask(target.class_name, pts)
    x0, y0 = x0 + int(camera[0, 0]), y0 + int(camera[0, 1])
    cover = occluder_mask(occ, world_h, world_w)[y0:y0 + mask.shape[0], x0:x0 + mask.shape[1]]
    shape = mask.astype(bool)
    return float(np.count_nonzero(shape & ~cover)) / max(int(np.count_nonzero(shape)), 1)


def _start_occluder(rng: np.random.Generator, target: Agent, camera: np.ndarray, world_h: int, world_w: int,
                    on_water: bool) -> Occluder | None:
    """A partial occluder over the target in frame 1 that leaves START_VISIBLE of it seen (None if none fits)."""
    reach = float(np.hypot(world_w, world_h))
    for _ in range(MAX_ATTEMPTS):
        occ = _path_occluder(rng, target, camera, 0, on_water, reach, partial=True)
        if START_VISIBLE[0] <= _visible_in_frame1(target, camera, occ, world_h, world_w) <= START_VISIBLE[1]:
            return occ
    return None


def _place_occluders(rng: np.random.Generator, target: Agent, camera: np.ndarray,
                     world_h: int, world_w: int, on_water: bool) -> tuple[list[Occluder], bool]:
    """(occluders, whether one hides part of the target in frame 1): occluders on the target's path, scenery trees,
    and in a share of sequences one hiding part of the target in frame 1; the others leave frame 1's target clear."""
    n = len(camera)
    keep_clear = _frame1_box_world(target, camera)
    reach = float(np.hypot(world_w, world_h))
    start = None
    if rng.random() < START_OCCLUSION_PROB:
        start = _start_occluder(rng, target, camera, world_h, world_w, on_water)
    occluders: list[Occluder] = [start] if start is not None else []
    wanted = int(rng.choice(PATH_OCCLUDER_COUNTS[0], p=PATH_OCCLUDER_COUNTS[1]))
    for _ in range(wanted):
        for _attempt in range(10):
            t = int(rng.integers(max(10, int(0.12 * n)), n - 6))
            x, y, r = target.path.x[t], target.path.y[t], 0.5 * max(target.length, target.width)
            if not (r < x < FRAME_W - r and r < y < FRAME_H - r):
                continue  # only where the target is in view
            occ = _path_occluder(rng, target, camera, t, on_water, reach)
            if _clear_of_target(occ, keep_clear, world_h, world_w):
                occluders.append(occ)
                break
    if not on_water:  # scenery: trees anywhere, the target may or may not pass under them
        for _ in range(int(rng.integers(0, 6))):
            occ = make_tree(rng, rng.uniform(0, world_w), rng.uniform(0, world_h), rng.uniform(6, 16))
            if _clear_of_target(occ, keep_clear, world_h, world_w):
                occluders.append(occ)
    return occluders, start is not None


def _cloud_shade(rng: np.random.Generator, world_h: int, world_w: int) -> np.ndarray:
    """Soft cloud shadows: a smooth light factor in [1 - depth, 1] over the ground."""
    cell = int(rng.integers(60, 120))
    small = rng.uniform(-1, 1, (world_h // cell + 3, world_w // cell + 3)).astype(np.float32)
    field = cv2.resize(small, (world_w, world_h), interpolation=cv2.INTER_CUBIC)
    depth = rng.uniform(0.3, 0.5)
    cover = np.clip((field - rng.uniform(-0.2, 0.3)) * 3.0, 0, 1)
    return (1.0 - depth * cover).astype(np.float32)


def _attempt(rng: np.random.Generator, name: str, split: str, n: int) -> Scene:
    class_name = _choose(rng, TARGET_CLASS_WEIGHTS)
    spec = CLASSES[class_name]
    on_water = spec.on_water
    kind = "water" if on_water else ("rural" if rng.random() < 0.5 else "urban")
    colour = COLOUR_NAMES[rng.integers(len(COLOUR_NAMES))]
    size = rng.uniform(*spec.size_px)
    length, width = dimensions(spec, size)
    margin = 0.5 * float(np.hypot(length, width)) * (1 + MAX_SCALE_CHANGE) + 6
    start = _start_point(rng, margin)
    exit_plan = None
    if n >= 50 and rng.random() < EXIT_PROB[split]:
        exit_plan = motion.ExitPlan(start=int(rng.integers(int(0.1 * n), int(0.45 * n))),
                                    frames_out=int(rng.integers(4, 15)))
    target = _make_agent(rng, n, class_name, colour, size, start, rng.uniform(0, 2 * np.pi),
                         rng.uniform(*spec.speed_px), exit_plan=exit_plan)

    speed = 0.0 if rng.random() < STATIC_CAMERA_PROB else rng.uniform(*CAMERA_SPEED)
    cam = motion.camera_path(rng, n, speed)
    cam = cam - cam.min(0) + WORLD_MARGIN
    world_w = int(cam[:, 0].max()) + FRAME_W + WORLD_MARGIN
    world_h = int(cam[:, 1].max()) + FRAME_H + WORLD_MARGIN

    ground = render_ground(rng, world_w, world_h, kind)
    distractors = _place_distractors(rng, n, target, on_water)
    twin = _place_twin(rng, n, target, distractors) if rng.random() < TWIN_PROB else None
    if twin is not None:
        distractors.append(twin[0])
    occluders, start_hidden = _place_occluders(rng, target, cam, world_h, world_w, on_water)
    shade = _cloud_shade(rng, world_h, world_w) if rng.random() < CLOUD_SHADE_PROB else None
    return Scene(name=name, n_frames=n, frame_size=(FRAME_W, FRAME_H), ground=ground, camera=cam,
                 occluders=build_layer(occluders, world_h, world_w), shade=shade, target=target,
                 distractors=distractors, twin=twin[0] if twin else None, twin_crossing=twin[1] if twin else -1,
                 start_hidden=start_hidden)


def build_scene(seed: int, split: str, index: int, name: str | None = None) -> tuple[Scene, Annotation]:
    """The scene of sequence ``index`` of ``split`` and its annotation; retried until it is valid."""
    name = name or f"synth_{split}_{index:04d}"
    rng = sequence_rngs(seed, split, index)["scene"]
    lo, hi = SEQUENCE_LENGTHS[split]
    n = int(rng.integers(lo, hi + 1))
    for _ in range(MAX_ATTEMPTS):
        scene = _attempt(rng, name, split, n)
        ann = annotate(scene)
        x, y, w, h = ann.full_boxes[0]
        inside = x >= 0 and y >= 0 and x + w <= FRAME_W and y + h <= FRAME_H
        first_clean = (inside and ann.in_view[0] == 1.0 and not ann.absent[0]
                       and (ann.occluded[0] == 0.0 or scene.start_hidden))
        if first_clean and ann.absent.mean() <= MAX_ABSENT_FRACTION:
            return scene, ann
    raise RuntimeError(f"{name}: no valid scene in {MAX_ATTEMPTS} attempts (seed={seed})")

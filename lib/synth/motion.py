"""Smooth motion: object paths in image coordinates, scale curves and the camera drift.

Objects are steered, not splined: the heading turns by a small random, smoothed rate each frame, and near
the image border the object turns back towards a waypoint inside. A path with an exit plan instead heads for
a point beyond the border, stays out of view for a few frames and then re-enters (its heading may jump while
it is unseen).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WANDER_TURN_NOISE = 0.012  # rad/frame^2, random change of the turn rate
WANDER_MAX_TURN = 0.05  # rad/frame while wandering
STEER_MAX_TURN = 0.10  # rad/frame when steering back inside or towards an exit
LOOKAHEAD_FRAMES = 14  # border avoidance looks this far ahead
BORDER_MARGIN = 10  # px kept between an object's extent and the border while wandering
SCALE_PERIOD_FACTOR = (1.0, 2.5)  # scale curve periods, in sequence lengths (slow changes)


@dataclass
class Path:
    x: np.ndarray  # (n,) centre, image pixels
    y: np.ndarray
    heading: np.ndarray  # (n,) radians, image axes (x right, y down)


@dataclass
class ExitPlan:
    start: int  # frame at which the object starts heading out of view
    frames_out: int  # frames spent fully out of view before turning back


def _wrap(angle: float) -> float:
    return (angle + np.pi) % (2 * np.pi) - np.pi


def _turn_towards(heading: float, goal: float, max_turn: float) -> float:
    return heading + float(np.clip(_wrap(goal - heading), -max_turn, max_turn))


def _exit_goal(x: float, y: float, heading: float, radius: float, width: int, height: int):
    """A point just beyond the border that is near and roughly ahead (turning round to leave looks odd)."""
    beyond = radius + 25
    candidates = [(-beyond, y), (width + beyond, y), (x, -beyond), (x, height + beyond)]

    def cost(goal):
        dx, dy = goal[0] - x, goal[1] - y
        ahead = np.cos(_wrap(np.arctan2(dy, dx) - heading))
        return np.hypot(dx, dy) * (1.5 - 0.5 * ahead)

    return min(candidates, key=cost)


def simulate_path(rng: np.random.Generator, n: int, start: tuple[float, float], heading: float,
                  speed: float, radius: float, frame_size: tuple[int, int],
                  exit_plan: ExitPlan | None = None, follow: Path | None = None) -> Path:
    """A smooth path of n frames. ``radius`` is the object's half extent (border tests use it).

    ``follow``: another object's path to drive alongside (a convoy); its headings are tracked loosely.
    """
    width, height = frame_size
    xs, ys, hs = np.empty(n), np.empty(n), np.empty(n)
    x, y, h = float(start[0]), float(start[1]), float(heading)
    turn = 0.0
    mode = "wander"
    waypoint = None
    goal = None
    frames_out = 0
    speed_amp = rng.uniform(0.0, 0.25)
    speed_period = rng.uniform(40, 100)
    speed_phase = rng.uniform(0, 2 * np.pi)
    margin = radius + BORDER_MARGIN
    for t in range(n):
        xs[t], ys[t], hs[t] = x, y, h
        turn = float(np.clip(0.92 * turn + rng.normal(0, WANDER_TURN_NOISE), -WANDER_MAX_TURN, WANDER_MAX_TURN))
        if mode == "wander" and exit_plan is not None and t >= exit_plan.start:
            mode = "exit"
            goal = _exit_goal(x, y, h, radius, width, height)
        v = speed * (1.0 + speed_amp * np.sin(2 * np.pi * t / speed_period + speed_phase))
        if mode == "exit":
            outside = x < -radius or x > width + radius or y < -radius or y > height + radius
            if outside:
                frames_out += 1  # keep straight on: circling the goal could bring it back into view
            else:
                h = _turn_towards(h, np.arctan2(goal[1] - y, goal[0] - x), STEER_MAX_TURN)
            if frames_out >= exit_plan.frames_out:
                # unseen: turn around at once towards a point inside, near where it left
                waypoint = (np.clip(x, width * 0.2, width * 0.8) + rng.normal(0, 20),
                            np.clip(y, height * 0.2, height * 0.8) + rng.normal(0, 20))
                h = float(np.arctan2(waypoint[1] - y, waypoint[0] - x))
                mode = "return"
        elif mode == "return":
            h = _turn_towards(h, np.arctan2(waypoint[1] - y, waypoint[0] - x), STEER_MAX_TURN)
            if margin < x < width - margin and margin < y < height - margin:
                mode, waypoint = "done", None  # back in view, wander on, no second exit
        else:
            ahead_x = x + np.cos(h) * v * LOOKAHEAD_FRAMES
            ahead_y = y + np.sin(h) * v * LOOKAHEAD_FRAMES
            leaving = not (margin < ahead_x < width - margin and margin < ahead_y < height - margin)
            if leaving:
                if waypoint is None:
                    waypoint = (rng.uniform(0.25, 0.75) * width, rng.uniform(0.25, 0.75) * height)
                h = _turn_towards(h, np.arctan2(waypoint[1] - y, waypoint[0] - x), STEER_MAX_TURN)
            else:
                waypoint = None
                if follow is not None:
                    h = _turn_towards(h, follow.heading[min(t + 1, n - 1)], WANDER_MAX_TURN)
                else:
                    h += turn
        x += v * np.cos(h)
        y += v * np.sin(h)
    return Path(xs, ys, hs)


def scale_curve(rng: np.random.Generator, n: int, max_change: float, min_scale: float = 0.0,
                max_scale: float = np.inf) -> np.ndarray:
    """Smooth scale factors, 1 at frame 1, within [1 - max_change, 1 + max_change] and [min_scale, max_scale]."""
    t = np.arange(n, dtype=np.float64)
    curve = np.zeros(n)
    for _ in range(2):
        period = rng.uniform(*SCALE_PERIOD_FACTOR) * n
        curve += rng.uniform(0.5, 1.0) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    curve -= curve[0]
    peak = np.abs(curve).max()
    if peak > 1e-9:
        curve /= peak
    grow = max(0.0, min(max_change, max_scale - 1.0))
    shrink = max(0.0, min(max_change, 1.0 - min_scale))
    return 1.0 + np.where(curve > 0, grow, shrink) * curve


def camera_path(rng: np.random.Generator, n: int, speed: float) -> np.ndarray:
    """Integer (n, 2) top-left corner of the view window on the ground; starts at (0, 0)."""
    direction = rng.uniform(0, 2 * np.pi)
    turn = 0.0
    pos = np.zeros(2)
    out = np.zeros((n, 2))
    for t in range(n):
        out[t] = pos
        turn = float(np.clip(0.95 * turn + rng.normal(0, 0.004), -0.02, 0.02))
        direction += turn
        pos = pos + speed * np.array([np.cos(direction), np.sin(direction)])
    return np.round(out).astype(np.int64)

"""The textured ground seen from above, pre-rendered once per sequence larger than the frame (the camera
window slides over it). Three kinds: rural (fields with furrows, hedges, roads, farm buildings), urban (road
grid, blocks of buildings, parking lots, small parks) and water (a lake or river with a shore, for boats).

Everything is drawn in float32 RGB, then modulated by a low-frequency tone map and a fine grain so that
large flat areas are not perfectly uniform, and finally returned as uint8.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FIELD_TONES = [(88, 128, 52), (112, 146, 64), (150, 160, 82), (186, 170, 104), (132, 104, 70),
               (104, 86, 60), (70, 108, 50), (164, 150, 96)]
ROOF_TONES = [(168, 82, 62), (112, 112, 120), (84, 84, 90), (190, 180, 160), (202, 200, 194),
              (102, 122, 110), (140, 96, 80)]
ASPHALT = (84, 84, 88)
CONCRETE = (152, 150, 142)
SIDEWALK = (172, 170, 162)
GRASS = (86, 126, 58)
WATER = (36, 72, 92)
MARKING = (226, 226, 220)
SHADOW_STRENGTH = 0.45  # buildings darken the ground they shade by this fraction


@dataclass
class Ground:
    image: np.ndarray  # (H, W, 3) RGB uint8, world coordinates
    lamps: np.ndarray  # (k, 2) float32 world positions of street lamps (lit at night)
    kind: str
    sun: np.ndarray  # (2,) unit vector: direction in which shadows fall


class _Canvas:
    """A float RGB canvas plus a shadow layer; buildings cast shadows along one sun direction."""

    def __init__(self, height: int, width: int, base, sun: np.ndarray):
        self.rgb = np.empty((height, width, 3), np.float32)
        self.rgb[:] = np.asarray(base, np.float32)
        self.shadow = np.zeros((height, width), np.float32)
        self.sun = sun  # shadow offset per pixel of building height

    @classmethod
    def wrap(cls, rgb: np.ndarray, sun: np.ndarray) -> "_Canvas":
        """A canvas around an existing float RGB image (drawn on in place)."""
        canvas = cls.__new__(cls)
        canvas.rgb, canvas.sun = rgb, sun
        canvas.shadow = np.zeros(rgb.shape[:2], np.float32)
        return canvas

    def finish(self) -> np.ndarray:
        self.rgb *= (1.0 - SHADOW_STRENGTH * np.clip(self.shadow, 0, 1))[..., None]
        return self.rgb


def _poly(img: np.ndarray, pts, colour) -> None:
    cv2.fillConvexPoly(img, np.round(np.asarray(pts, np.float32) * 16).astype(np.int32), colour,
                       lineType=cv2.LINE_AA, shift=4)


def _rotated_rect(cx: float, cy: float, w: float, h: float, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], np.float32)
    return corners @ np.array([[c, s], [-s, c]], np.float32) + np.array([cx, cy], np.float32)


def _tone(rng: np.random.Generator, colour, amount: float = 0.08):
    """A random variation of a base colour (overall brightness and a little hue)."""
    gain = 1.0 + amount * float(rng.standard_normal())
    offsets = rng.standard_normal(3) * 6.0
    return tuple(min(255.0, max(0.0, c * gain + float(o))) for c, o in zip(colour, offsets))


def _dashed_line(img: np.ndarray, p0, p1, colour, dash: float, gap: float, thickness: int = 1) -> None:
    p0, p1 = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
    length = float(np.hypot(*(p1 - p0)))
    if length < 1:
        return
    step = (p1 - p0) / length
    starts = np.arange(0.0, length, dash + gap)
    ends = np.minimum(starts + dash, length)
    segments = np.stack([p0 + starts[:, None] * step, p0 + ends[:, None] * step], 1)
    cv2.polylines(img, list(np.round(segments).astype(np.int32)), False, colour, thickness)  # one call, all dashes


def _building(canvas: _Canvas, rng: np.random.Generator, cx: float, cy: float, w: float, h: float,
              angle: float) -> None:
    """A building with a gabled (two-tone with a ridge) or flat (parapet, roof units) roof and a shadow."""
    height = rng.uniform(2.0, 6.0)
    _poly(canvas.shadow, _rotated_rect(cx, cy, w, h, angle) + canvas.sun * height, 1.0)
    roof = _tone(rng, ROOF_TONES[rng.integers(len(ROOF_TONES))])
    c, s = np.cos(angle), np.sin(angle)
    if rng.random() < 0.5:  # gabled: ridge along the long side, one slope lit, the other in shade
        long_axis = np.array([c, s]) if w >= h else np.array([-s, c])
        across = np.array([-long_axis[1], long_axis[0]])
        half = min(w, h) / 2
        length = max(w, h)
        for sign, light in ((1, 1.12), (-1, 0.78)):
            centre = np.array([cx, cy]) + across * sign * half / 2
            a = float(np.arctan2(long_axis[1], long_axis[0]))
            _poly(canvas.rgb, _rotated_rect(centre[0], centre[1], length, half, a),
                  tuple(min(255.0, v * light) for v in roof))
        end = long_axis * length / 2
        cv2.line(canvas.rgb, tuple(int(v) for v in np.array([cx, cy]) - end),
                 tuple(int(v) for v in np.array([cx, cy]) + end), tuple(min(255.0, v * 1.25) for v in roof), 1)
    else:  # flat: parapet outline and a few roof units
        outline = _rotated_rect(cx, cy, w, h, angle)
        _poly(canvas.rgb, outline, roof)
        cv2.polylines(canvas.rgb, [np.round(outline).astype(np.int32)], True,
                      tuple(v * 0.75 for v in roof), 1)
        for _ in range(rng.integers(0, 3)):
            ux, uy = rng.uniform(-0.3, 0.3) * w, rng.uniform(-0.3, 0.3) * h
            ucx, ucy = cx + ux * c - uy * s, cy + ux * s + uy * c
            size = rng.uniform(2.0, 4.0)
            _poly(canvas.rgb, _rotated_rect(ucx, ucy, size, size, angle), (205.0, 207.0, 210.0))


def _split_rect(rng: np.random.Generator, rect, min_size: float, out: list) -> None:
    """Binary space partition of a rectangle into pieces no longer than ~2x min_size."""
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    if max(w, h) < rng.uniform(min_size, 2.2 * min_size):
        out.append(rect)
        return
    if w >= h:
        cut = x0 + w * rng.uniform(0.3, 0.7)
        _split_rect(rng, (x0, y0, cut, y1), min_size, out)
        _split_rect(rng, (cut, y0, x1, y1), min_size, out)
    else:
        cut = y0 + h * rng.uniform(0.3, 0.7)
        _split_rect(rng, (x0, y0, x1, cut), min_size, out)
        _split_rect(rng, (x0, cut, x1, y1), min_size, out)


def _fields(canvas: _Canvas, rng: np.random.Generator, size: int) -> None:
    """Patchwork of fields, some ploughed (furrow stripes), with darker hedges between them."""
    rects: list = []
    _split_rect(rng, (0.0, 0.0, float(size), float(size)), rng.uniform(50, 110), rects)
    img = canvas.rgb
    for x0, y0, x1, y1 in rects:
        colour = _tone(rng, FIELD_TONES[rng.integers(len(FIELD_TONES))])
        p0, p1 = (int(x0), int(y0)), (int(x1), int(y1))
        cv2.rectangle(img, p0, p1, colour, -1)
        if rng.random() < 0.55:
            spacing = int(rng.integers(3, 7))
            furrow = tuple(v * rng.uniform(0.78, 0.9) for v in colour)
            if x1 - x0 > y1 - y0:
                for yy in range(int(y0) + 1, int(y1), spacing):
                    cv2.line(img, (int(x0), yy), (int(x1), yy), furrow, 1)
            else:
                for xx in range(int(x0) + 1, int(x1), spacing):
                    cv2.line(img, (xx, int(y0)), (xx, int(y1)), furrow, 1)
        if rng.random() < 0.6:
            hedge = (58.0, 82.0, 40.0) if rng.random() < 0.6 else (150.0, 140.0, 112.0)
            cv2.rectangle(img, p0, p1, hedge, int(rng.integers(1, 3)))


def _road(canvas: _Canvas, rng: np.random.Generator, points: np.ndarray, width: int,
          lamps: list) -> None:
    """A road along a polyline: dusty shoulders, asphalt, dashed centre line, lamps along one side."""
    pts = np.round(points).astype(np.int32)
    cv2.polylines(canvas.rgb, [pts], False, _tone(rng, SIDEWALK, 0.04), width + 4, cv2.LINE_AA)
    cv2.polylines(canvas.rgb, [pts], False, _tone(rng, ASPHALT, 0.05), width, cv2.LINE_AA)
    marking = MARKING if rng.random() < 0.7 else (220.0, 190.0, 60.0)
    spacing = rng.uniform(34, 56)
    side = 1 if rng.random() < 0.5 else -1
    carried = 0.0
    for a, b in zip(points[:-1], points[1:]):
        _dashed_line(canvas.rgb, a, b, marking, 5, 5)
        seg = b - a
        length = float(np.hypot(*seg))
        if length < 1:
            continue
        normal = np.array([-seg[1], seg[0]]) / length
        pos = spacing - carried
        while pos < length:
            lamps.append(a + seg * (pos / length) + normal * side * (width / 2 + 3))
            pos += spacing
        carried = (carried + length) % spacing


def _line_through(rng: np.random.Generator, width: int, height: int, reach: float) -> np.ndarray:
    """A straight or gently curved polyline crossing the whole area."""
    centre = np.array([rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height])
    angle = rng.uniform(0, np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    bend = rng.normal(0, 0.12) if rng.random() < 0.5 else 0.0
    t = np.linspace(-reach, reach, 24)
    return centre + t[:, None] * direction + (bend * t ** 2 / reach)[:, None] * normal


def _window_transform(size: int, width: int, height: int, angle_deg: float) -> np.ndarray:
    """Affine map from a square canvas to a width x height window cut from its rotated centre."""
    m = cv2.getRotationMatrix2D((size / 2, size / 2), angle_deg, 1.0)
    m[:, 2] += (width / 2 - size / 2, height / 2 - size / 2)
    return m


def _rotate_into(canvas_rgb: np.ndarray, m: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.warpAffine(canvas_rgb, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _rural(rng: np.random.Generator, width: int, height: int, sun: np.ndarray):
    size = int(np.ceil(np.hypot(width, height))) + 8
    canvas = _Canvas(size, size, FIELD_TONES[0], sun)
    _fields(canvas, rng, size)
    image = _rotate_into(canvas.finish(), _window_transform(size, width, height, rng.uniform(0, 90)), width, height)
    canvas = _Canvas.wrap(image, sun)
    lamps: list = []
    roads = [_line_through(rng, width, height, 1.5 * max(width, height)) for _ in range(rng.integers(1, 4))]
    for road in roads:
        _road(canvas, rng, road, int(rng.integers(9, 17)), lamps)
    for _ in range(rng.integers(2, 9)):  # farm buildings beside a road
        road = roads[rng.integers(len(roads))]
        i = int(rng.integers(1, len(road) - 1))
        seg = road[i + 1] - road[i]
        normal = np.array([-seg[1], seg[0]]) / max(1e-6, float(np.hypot(*seg)))
        centre = road[i] + seg * rng.random() + normal * rng.choice([-1, 1]) * rng.uniform(18, 45)
        _building(canvas, rng, centre[0], centre[1], rng.uniform(12, 34), rng.uniform(10, 22),
                  float(np.arctan2(seg[1], seg[0])))
    return canvas.finish(), np.array(lamps, np.float32).reshape(-1, 2)


def _urban(rng: np.random.Generator, width: int, height: int, sun: np.ndarray):
    size = int(np.ceil(np.hypot(width, height))) + 8
    canvas = _Canvas(size, size, _tone(rng, CONCRETE, 0.05), sun)
    img = canvas.rgb
    road_w = int(rng.integers(11, 18))
    block_w, block_h = rng.uniform(80, 130), rng.uniform(70, 120)
    xs = np.arange(rng.uniform(0, block_w), size, block_w)
    ys = np.arange(rng.uniform(0, block_h), size, block_h)
    lamps: list = []
    for x in xs:  # roads first, blocks are drawn between them
        _road(canvas, rng, np.array([[x, 0.0], [x, size]]), road_w, lamps)
    for y in ys:
        _road(canvas, rng, np.array([[0.0, y], [size, y]]), road_w, lamps)
    edges_x = np.concatenate([[-block_w], xs, [size + block_w]])
    edges_y = np.concatenate([[-block_h], ys, [size + block_h]])
    inset = road_w / 2 + 4
    m = _window_transform(size, width, height, rng.uniform(0, 90))

    def seen(x: float, y: float) -> bool:  # lots outside the final window are not drawn (speed)
        px, py = m[:, :2] @ (x, y) + m[:, 2]
        return -30 < px < width + 30 and -30 < py < height + 30

    for bx0, bx1 in zip(edges_x[:-1], edges_x[1:]):
        for by0, by1 in zip(edges_y[:-1], edges_y[1:]):
            lots: list = []
            _split_rect(rng, (bx0 + inset, by0 + inset, bx1 - inset, by1 - inset), 28, lots)
            for x0, y0, x1, y1 in lots:
                w, h = x1 - x0, y1 - y0
                if w < 6 or h < 6 or not seen((x0 + x1) / 2, (y0 + y1) / 2):
                    continue
                use = rng.random()
                if use < 0.62:
                    pad = rng.uniform(1.5, 4.0)
                    _building(canvas, rng, (x0 + x1) / 2, (y0 + y1) / 2, w - 2 * pad, h - 2 * pad, 0.0)
                elif use < 0.8:  # parking lot with stall lines
                    cv2.rectangle(img, (int(x0 + 1), int(y0 + 1)), (int(x1 - 1), int(y1 - 1)),
                                  _tone(rng, ASPHALT, 0.05), -1)
                    for xx in np.arange(x0 + 3, x1 - 2, 5.0):
                        cv2.line(img, (int(xx), int(y0 + 2)), (int(xx), int(y0 + min(9, h / 2))), MARKING, 1)
                else:  # small park: grass and ground-level tree crowns
                    cv2.rectangle(img, (int(x0 + 1), int(y0 + 1)), (int(x1 - 1), int(y1 - 1)),
                                  _tone(rng, GRASS), -1)
                    for _ in range(rng.integers(1, 5)):
                        r = rng.uniform(3, 7)
                        centre = (rng.uniform(x0 + r, max(x0 + r + 1, x1 - r)),
                                  rng.uniform(y0 + r, max(y0 + r + 1, y1 - r)))
                        cv2.circle(canvas.shadow, tuple(int(v) for v in np.array(centre) + sun * 3), int(r), 1.0, -1)
                        cv2.circle(img, tuple(int(v) for v in centre), int(r), _tone(rng, (52, 88, 40)), -1)
    image = _rotate_into(canvas.finish(), m, width, height)
    lamps_arr = np.array(lamps, np.float32).reshape(-1, 2)
    if len(lamps_arr):
        lamps_arr = lamps_arr @ m[:, :2].T.astype(np.float32) + m[:, 2].astype(np.float32)
    return image, lamps_arr


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """Smooth random field in about [-1, 1] varying over ``cell`` pixels."""
    small = rng.uniform(-1, 1, (height // cell + 3, width // cell + 3)).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def _water(rng: np.random.Generator, width: int, height: int, sun: np.ndarray):
    """Open water with ripples; a shore of fields along one side with piers and lamps."""
    land, _ = _rural(rng, width, height, sun)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    side = int(rng.integers(4))
    coord = [xx, width - xx, yy, height - yy][side]  # distance from the shore side
    extent = [width, width, height, height][side]
    along = yy if side < 2 else xx
    wobble = 8 * np.sin(along / rng.uniform(25, 60) + rng.uniform(0, 6.3))
    shore = rng.uniform(0.06, 0.2) * extent
    water = coord > shore + wobble
    angle = rng.uniform(0, np.pi)
    warp = _smooth_noise(rng, height, width, 40) * 6.0  # bends the wave crests
    patches = _smooth_noise(rng, height, width, 30) > -0.1  # crests come and go in patches
    wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) / rng.uniform(2.0, 3.5) + warp)
    ripples = ((wave > 0.8) & patches).astype(np.float32) * rng.uniform(12, 22)
    sea = np.empty_like(land)
    sea[:] = np.asarray(_tone(rng, WATER, 0.1), np.float32)
    sea += ripples[..., None] * np.array([0.8, 1.0, 1.1], np.float32)
    image = np.where(water[..., None], sea, land)
    lamps = []
    for _ in range(rng.integers(1, 4)):  # piers from the shore into the water
        t = rng.uniform(0.1, 0.9) * (height if side < 2 else width)
        length, w = rng.uniform(25, 60), rng.uniform(4, 7)
        base = shore + 4
        if side < 2:
            x0 = base if side == 0 else width - base - length
            rect = (x0, t - w / 2, x0 + length, t + w / 2)
        else:
            y0 = base if side == 2 else height - base - length
            rect = (t - w / 2, y0, t + w / 2, y0 + length)
        cv2.rectangle(image, (int(rect[0]), int(rect[1])), (int(rect[2]), int(rect[3])), (150.0, 128.0, 100.0), -1)
        lamps.append(((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2))
    return image, np.array(lamps, np.float32).reshape(-1, 2)


def render_ground(rng: np.random.Generator, width: int, height: int, kind: str) -> Ground:
    """A ``kind`` ground ('rural', 'urban' or 'water') of width x height pixels."""
    sun_angle = rng.uniform(0, 2 * np.pi)
    sun = np.array([np.cos(sun_angle), np.sin(sun_angle)], np.float32)
    if kind == "rural":
        image, lamps = _rural(rng, width, height, sun)
    elif kind == "urban":
        image, lamps = _urban(rng, width, height, sun)
    elif kind == "water":
        image, lamps = _water(rng, width, height, sun)
    else:
        raise ValueError(f"unknown ground kind {kind!r}; use 'rural', 'urban' or 'water'")
    # low-frequency tone variation and a fine grain: no large area is flat
    light = 1.0 + 0.07 * _smooth_noise(rng, height, width, 24)
    grain = rng.standard_normal((height, width), dtype=np.float32)
    grain *= 4.0
    image = np.asarray(image, np.float32)
    image *= light[..., None]
    image += grain[..., None]
    image = np.clip(image, 0, 255, out=image).astype(np.uint8)
    return Ground(image=image, lamps=lamps, kind=kind, sun=sun)
